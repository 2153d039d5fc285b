// The `deepseek` chat template of DeepSeek-VL (reference §8.1), byte for byte:
//
//   SYSTEM "\n\n" ( "User: " content "\n\n" | "Assistant: " content EOS )* "Assistant:"
//
// with every content Python-`.strip()`-ed, an empty content rendered as the bare role and colon, and the whole
// string stripped once more. The product's rules on top of the reference:
// - System messages replace the official system text. Several are joined with "\n\n" in order, wherever they
//   stand; if all are empty the prompt has no system block at all (as the template does for an empty system).
// - After the system messages, roles must alternate user/assistant, starting and ending with the user; two
//   consecutive messages of one role are rejected, not merged (the template picks separators by position).
// - Parts of a message are concatenated verbatim; an image part becomes `<image_placeholder>` right where it
//   stood, with no newline. Images are allowed in user messages only.
// - Message text must not contain the template's special strings (BOS, EOS, the image placeholder): the tokenizer
//   would turn them into control tokens.
import { PromptError } from "./errors.ts";
import { pythonStrip } from "./python-strip.ts";

export const BOS_TEXT = "<｜begin▁of▁sentence｜>";
export const EOS_TEXT = "<｜end▁of▁sentence｜>";
export const IMAGE_PLACEHOLDER = "<image_placeholder>";

/** The system text `VLChatProcessor` always sets (reference §8.1). */
export const DEFAULT_SYSTEM_PROMPT =
  "You are a helpful language and vision assistant. You are able to understand the visual content that the user provides, and assist the user with a variety of tasks using natural language.";

export type ChatRole = "system" | "user" | "assistant";
export type ChatPart = { type: "text"; text: string } | { type: "image" };
/** One message of a normalized conversation (what the OpenAI route makes of `messages`). */
export interface ChatMessage {
  role: ChatRole;
  parts: readonly ChatPart[];
}

const ROLE_NAMES: Record<Exclude<ChatRole, "system">, string> = { user: "User", assistant: "Assistant" };
const USER_SEPARATOR = "\n\n";
const RESERVED_TEXTS = [BOS_TEXT, EOS_TEXT, IMAGE_PLACEHOLDER];

/** The message's content as the template sees it (images as placeholders), validated part by part. */
function contentOf(message: ChatMessage, index: number): string {
  if (!Array.isArray(message.parts as unknown)) throw new PromptError("invalid_message", `messages[${index}]: parts must be an array`);
  let content = "";
  message.parts.forEach((part: ChatPart, p) => {
    if (part?.type === "image") {
      if (message.role !== "user") {
        throw new PromptError(
          "image_not_allowed",
          `messages[${index}].parts[${p}]: images are allowed in user messages only, not in a ${message.role} message`,
        );
      }
      content += IMAGE_PLACEHOLDER;
    } else if (part?.type === "text" && typeof part.text === "string") {
      const reserved = RESERVED_TEXTS.find((text) => part.text.includes(text));
      if (reserved)
        throw new PromptError("reserved_text", `messages[${index}].parts[${p}]: the text contains the reserved token ${reserved}`);
      content += part.text;
    } else {
      throw new PromptError("invalid_message", `messages[${index}].parts[${p}]: expected {type:"text",text} or {type:"image"}`);
    }
  });
  return pythonStrip(content);
}

/** Renders a conversation into the exact prompt string of the `deepseek` template, ending in "Assistant:". */
export function renderPrompt(messages: readonly ChatMessage[]): string {
  if (!Array.isArray(messages as unknown) || messages.length === 0)
    throw new PromptError("empty_conversation", "the conversation has no messages");
  const systemTexts: string[] = [];
  let hasSystem = false;
  let turns = "";
  let previous: "user" | "assistant" | undefined;
  messages.forEach((message, index) => {
    const role = message?.role;
    if (role !== "system" && role !== "user" && role !== "assistant") {
      throw new PromptError(
        "unknown_role",
        `messages[${index}]: unknown role ${JSON.stringify(role)} (expected system, user or assistant)`,
      );
    }
    const content = contentOf(message, index);
    if (role === "system") {
      hasSystem = true;
      if (content !== "") systemTexts.push(content);
      return;
    }
    if (previous === undefined && role !== "user")
      throw new PromptError("first_not_user", `messages[${index}]: the first non-system message must come from the user`);
    if (previous === role)
      throw new PromptError(
        "consecutive_roles",
        `messages[${index}]: two consecutive ${role} messages; roles must alternate user/assistant`,
      );
    if (role === "user" && content === "") throw new PromptError("empty_message", `messages[${index}]: the user message is empty`);
    const separator = role === "user" ? USER_SEPARATOR : EOS_TEXT;
    // Python's `if message:` — an empty assistant turn renders as the bare role, without a separator.
    turns += content === "" ? `${ROLE_NAMES[role]}:` : `${ROLE_NAMES[role]}: ${content}${separator}`;
    previous = role;
  });
  if (previous === undefined) throw new PromptError("empty_conversation", "the conversation has no user message");
  if (previous !== "user") throw new PromptError("last_not_user", "the last message must come from the user");
  const system = hasSystem ? systemTexts.join("\n\n") : DEFAULT_SYSTEM_PROMPT;
  const head = system === "" ? "" : `${system}${USER_SEPARATOR}`;
  return pythonStrip(`${head}${turns}${ROLE_NAMES.assistant}:`);
}
