import type { Manifest } from "../../shared/manifest/index.ts";
import type { CompletionFinish, LogprobEntry } from "./completion.ts";

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

/** A choice's `logprobs`: null unless the request asked for them. */
const logprobsOf = (logprobs: LogprobEntry[] | undefined) => (logprobs ? { content: logprobs, refusal: null } : null);

/** A `chat.completion`: the answer of a request that is not streamed (`logprobs` when it asked for them). */
export function chatCompletion(
  { id, ...identity }: ChatAnswerIdentity,
  text: string,
  finish: CompletionFinish,
  logprobs: LogprobEntry[] | undefined,
) {
  const message = { role: "assistant", content: text, refusal: null };
  return {
    id,
    object: "chat.completion",
    ...identity,
    choices: [{ index: 0, message, logprobs: logprobsOf(logprobs), finish_reason: finish.reason }],
    usage: usageOf(finish),
  };
}

/** A `chat.completion.chunk` of a streamed answer carrying `delta`, and on the last one how the answer ended. */
export function chatChunk(
  { id, ...identity }: ChatAnswerIdentity,
  delta: { role?: "assistant"; content?: string },
  finishReason: CompletionFinish["reason"] | null,
  logprobs?: LogprobEntry[],
) {
  const choice = { index: 0, delta, logprobs: logprobsOf(logprobs), finish_reason: finishReason };
  return { id, object: "chat.completion.chunk", ...identity, choices: [choice] };
}

/** The chunk after the last one when the client asked for `stream_options.include_usage`: no choices, the usage. */
export function usageChunk({ id, ...identity }: ChatAnswerIdentity, finish: CompletionFinish) {
  return { id, object: "chat.completion.chunk", ...identity, choices: [], usage: usageOf(finish) };
}
