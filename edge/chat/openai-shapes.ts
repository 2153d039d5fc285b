import type { Manifest } from "../../shared/manifest/index.ts";
import type { CompletionFinish } from "./completion.ts";

/** What every chunk and the completion of one chat answer share. */
export type ChatAnswerIdentity = { id: string; created: number; model: string; system_fingerprint: string };

export function chatAnswerIdentity(requestId: string, manifest: Manifest): ChatAnswerIdentity {
  return {
    id: `chatcmpl-${requestId}`,
    created: Math.floor(Date.now() / 1000),
    model: manifest.name,
    system_fingerprint: manifest.revision.slice(0, 16),
  };
}

/** OpenAI's `usage` of a finished completion. */
export function usageOf(finish: CompletionFinish) {
  const { promptTokens, completionTokens, cachedTokens } = finish;
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: cachedTokens },
  };
}

/** A `chat.completion`: the answer of a request that is not streamed. */
export function chatCompletion({ id, ...identity }: ChatAnswerIdentity, text: string, finish: CompletionFinish) {
  return {
    id,
    object: "chat.completion",
    ...identity,
    choices: [{ index: 0, message: { role: "assistant", content: text, refusal: null }, logprobs: null, finish_reason: finish.reason }],
    usage: usageOf(finish),
  };
}

/** A `chat.completion.chunk` of a streamed answer carrying `delta`, and on the last one how the answer ended. */
export function chatChunk(
  { id, ...identity }: ChatAnswerIdentity,
  delta: { role?: "assistant"; content?: string },
  finishReason: CompletionFinish["reason"] | null,
) {
  return { id, object: "chat.completion.chunk", ...identity, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] };
}

/** The chunk after the last one when the client asked for `stream_options.include_usage`: no choices, the usage. */
export function usageChunk({ id, ...identity }: ChatAnswerIdentity, finish: CompletionFinish) {
  return { id, object: "chat.completion.chunk", ...identity, choices: [], usage: usageOf(finish) };
}
