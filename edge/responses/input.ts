import { ApiError } from "../errors.ts";
import type { ResponsesRequest } from "./request.ts";
import type { ChatMessageInput, StoredResponse } from "./store.ts";

type Part = Exclude<ChatMessageInput["content"], string>[number];

const ROLES = new Set(["system", "developer", "user", "assistant"]);

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** Finds a stored response (undefined when the store no longer holds it). */
export type ResponseLookup = (id: string) => Promise<StoredResponse | undefined>;

/** The id of the message item a response outputs: an `item_reference` to it resumes that response's answer. */
export const outputItemId = (responseId: string) => `msg_${responseId.replace(/^resp_/, "")}`;
const responseOfItem = (itemId: string) => (itemId.startsWith("msg_") ? `resp_${itemId.slice(4)}` : undefined);

/**
 * The conversation a Responses request stands for, as chat messages: `instructions` as the system text, then the
 * previous response's conversation and answer (`previous_response_id`), then the input items (an `item_reference`
 * stands for a stored response's answer). `history` is the same without the instructions: what the store keeps
 * for a later `previous_response_id` (instructions do not carry over, as OpenAI defines them).
 */
export async function conversationOf(
  request: ResponsesRequest,
  lookup: ResponseLookup,
): Promise<{ messages: ChatMessageInput[]; history: ChatMessageInput[] }> {
  const earlier: ChatMessageInput[] = [];
  if (request.previous_response_id) {
    const previous = await lookup(request.previous_response_id);
    if (!previous) throw notFound(request.previous_response_id, "previous_response_id");
    earlier.push(...previous.messages, previous.output);
  }
  const items = typeof request.input === "string" ? [{ role: "user", content: request.input }] : request.input;
  const input: ChatMessageInput[] = [];
  for (const [index, item] of items.entries()) input.push(await messageOf(item, `input[${index}]`, lookup));
  const instructions: ChatMessageInput[] = request.instructions ? [{ role: "system", content: request.instructions }] : [];
  return { messages: [...instructions, ...earlier, ...input], history: [...earlier, ...input] };
}

async function messageOf(item: unknown, where: string, lookup: ResponseLookup): Promise<ChatMessageInput> {
  if (!isObject(item)) throw invalid(where, "expected an input item (an object)");
  if (item.type === "item_reference") {
    const id = typeof item.id === "string" ? item.id : "";
    const responseId = responseOfItem(id);
    const stored = responseId === undefined ? undefined : await lookup(responseId);
    if (!stored) throw notFound(id, `${where}.id`);
    return stored.output;
  }
  if (item.type !== undefined && item.type !== "message") {
    throw new ApiError(
      400,
      "unsupported_input_item",
      `${where}: input items of type ${JSON.stringify(item.type)} are not supported; this model takes messages (and item references)`,
      { param: where },
    );
  }
  if (typeof item.role !== "string" || !ROLES.has(item.role)) {
    throw invalid(`${where}.role`, `expected system, developer, user or assistant, got ${JSON.stringify(item.role)}`);
  }
  const role = item.role as ChatMessageInput["role"];
  if (typeof item.content === "string") return { role, content: item.content };
  if (!Array.isArray(item.content)) throw invalid(`${where}.content`, "expected a string or an array of content parts");
  return { role, content: item.content.map((part, p) => partOf(part, `${where}.content[${p}]`)) };
}

function partOf(part: unknown, where: string): Part {
  if (!isObject(part)) throw invalid(where, "expected a content part (an object)");
  if ((part.type === "input_text" || part.type === "output_text") && typeof part.text === "string")
    return { type: "text", text: part.text };
  if (part.type === "refusal" && typeof part.refusal === "string") return { type: "text", text: part.refusal };
  if (part.type === "input_image") {
    if (part.file_id !== undefined && part.file_id !== null) {
      throw new ApiError(
        400,
        "unsupported_parameter",
        `${where}.file_id: files are not supported; send the image as image_url (data: or https:)`,
        {
          param: `${where}.file_id`,
        },
      );
    }
    if (typeof part.image_url !== "string" || part.image_url === "") {
      throw invalid(`${where}.image_url`, "an input_image needs an image_url (a data: or https: URL)");
    }
    return { type: "image_url", image_url: { url: part.image_url } };
  }
  throw new ApiError(
    400,
    "unsupported_content_part",
    `${where}: content parts of type ${JSON.stringify(part.type)} are not supported; use input_text or input_image`,
    { param: where },
  );
}

const invalid = (param: string, message: string) =>
  new ApiError(400, "invalid_request", `Invalid value for '${param}': ${message}`, { param });

const notFound = (id: string, param: string) =>
  new ApiError(
    400,
    "previous_response_not_found",
    `No stored response for '${id}': responses are kept for a limited time (RESPONSES_STORE_TTL_SECONDS), and only those created with store true`,
    { param },
  );
