import { PromptError } from "./errors.ts";

export interface TokenLimitInput {
  /** Length of the prompt ids (BOS and expanded images included). */
  promptTokens: number;
  /** The client's max_tokens, if it gave one. */
  maxTokens?: number | undefined;
  /** The model's context (manifest `llm.contextLength`). */
  contextLength: number;
}

/**
 * Checks the request against the context before anything goes to the GPU and returns the number of new tokens
 * to allow: `maxTokens`, or all the context the prompt leaves when the client gave none. Messages follow OpenAI's.
 */
export function checkTokenLimit({ promptTokens, maxTokens, contextLength }: TokenLimitInput): number {
  if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || maxTokens < 1)) {
    throw new PromptError("invalid_max_tokens", `max_tokens must be a positive integer, got ${maxTokens}`);
  }
  if (maxTokens === undefined) {
    if (promptTokens < contextLength) return contextLength - promptTokens;
    throw new PromptError(
      "context_length_exceeded",
      `This model's maximum context length is ${contextLength} tokens. However, your messages resulted in ${promptTokens} tokens, which leaves no room for the completion. Please reduce the length of the messages.`,
    );
  }
  if (promptTokens + maxTokens <= contextLength) return maxTokens;
  throw new PromptError(
    "context_length_exceeded",
    `This model's maximum context length is ${contextLength} tokens. However, you requested ${promptTokens + maxTokens} tokens (${promptTokens} in the messages, ${maxTokens} in the completion). Please reduce the length of the messages or completion.`,
  );
}
