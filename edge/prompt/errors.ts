import { CodedError } from "../coded-error.ts";

export type PromptErrorCode =
  // The conversation (client errors: the edge answers 400).
  | "invalid_message"
  | "unknown_role"
  | "empty_conversation"
  | "first_not_user"
  | "consecutive_roles"
  | "last_not_user"
  | "empty_message"
  | "image_not_allowed"
  | "reserved_text"
  | "image_count_mismatch"
  | "context_length_exceeded"
  | "invalid_max_tokens"
  | "invalid_stop"
  // The model's tokenizer.json does not fit the manifest (a deployment error: 500).
  | "invalid_tokenizer";

/** The prompt, its tokens or the detokenizer options are unusable; `code` says which rule was broken. */
export class PromptError extends CodedError<PromptErrorCode> {
  override name = "PromptError";
}
