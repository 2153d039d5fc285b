import { PromptError } from "./errors.ts";
import type { ChatMessage, ChatPart, ChatRole } from "./template.ts";

export interface OpenAiConversation {
  messages: ChatMessage[];
  /** The `image_url` URLs in order of appearance: image k of the prompt is `imageUrls[k]`. */
  imageUrls: string[];
}

// OpenAI's newer "developer" role is its system role under another name.
const ROLES: Record<string, ChatRole> = { system: "system", developer: "system", user: "user", assistant: "assistant" };

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

function partOf(value: unknown, where: string, imageUrls: string[]): ChatPart {
  if (isObject(value) && value.type === "text" && typeof value.text === "string") return { type: "text", text: value.text };
  if (isObject(value) && value.type === "image_url") {
    const image = value.image_url;
    const url = isObject(image) ? image.url : image;
    if (typeof url !== "string" || url === "")
      throw new PromptError("invalid_message", `${where}.image_url: expected {url} with a non-empty URL`);
    imageUrls.push(url);
    return { type: "image" };
  }
  const type = isObject(value) ? JSON.stringify(value.type) : "not an object";
  throw new PromptError("invalid_message", `${where}: unsupported content part (type ${type}); expected text or image_url`);
}

/** Normalizes OpenAI chat `messages` (string or content-part contents) into the template's conversation. */
export function fromOpenAiMessages(input: unknown): OpenAiConversation {
  if (!Array.isArray(input)) throw new PromptError("invalid_message", "messages must be an array");
  const imageUrls: string[] = [];
  const messages = input.map((message: unknown, index): ChatMessage => {
    const where = `messages[${index}]`;
    if (!isObject(message)) throw new PromptError("invalid_message", `${where}: expected an object`);
    const role = typeof message.role === "string" ? ROLES[message.role] : undefined;
    if (!role)
      throw new PromptError(
        "unknown_role",
        `${where}: unsupported role ${JSON.stringify(message.role)} (expected system, developer, user or assistant)`,
      );
    const { content } = message;
    if (content === null || content === undefined) return { role, parts: [] };
    if (typeof content === "string") return { role, parts: [{ type: "text", text: content }] };
    if (!Array.isArray(content))
      throw new PromptError("invalid_message", `${where}.content: expected a string or an array of content parts`);
    return { role, parts: content.map((part: unknown, p) => partOf(part, `${where}.content[${p}]`, imageUrls)) };
  });
  return { messages, imageUrls };
}
