import { Code, ConnectError } from "@connectrpc/connect";
import { FinishReason, type GenerateResponse } from "../../shared/gen/deepseek_vl/v1/inference_pb.js";
import { type ChatTokenizer, IncrementalDetokenizer } from "../prompt/index.ts";

/** How a completion ended, and its token counts (the last event of every completion). */
export type CompletionFinish = {
  type: "finish";
  reason: "stop" | "length";
  promptTokens: number;
  completionTokens: number;
  /** Leading prompt tokens the GPU service took from its prefix cache (0 when a stop string ended the answer first). */
  cachedTokens: number;
};

/** OpenAI's log-probability of one token: its text, its UTF-8 bytes, and (for a generated token) the alternatives. */
export type TokenLogprob = { token: string; logprob: number; bytes: number[] };
export type LogprobEntry = TokenLogprob & { top_logprobs: TokenLogprob[] };

/** A text delta, with the log-probabilities of the tokens it completes when the request asked for them. */
export type CompletionEvent = { type: "text"; text: string; logprobs: LogprobEntry[] } | CompletionFinish;

export type CompletionEventsOptions = {
  stop: string[];
  promptTokens: number;
  /** Whether text events carry their tokens' log-probabilities. */
  logprobs: boolean;
  onStopString: () => void;
};

/**
 * Turns the GPU service's token stream into text deltas: incremental detokenization (never a broken
 * UTF-8 sequence, special tokens hidden) and stop strings, which end the stream early with "stop". A token
 * that completes no text yet (part of a UTF-8 sequence) has its log-probability sent with the next text.
 */
export async function* completionEvents(
  tokens: AsyncIterable<GenerateResponse>,
  tokenizer: ChatTokenizer,
  options: CompletionEventsOptions,
): AsyncGenerator<CompletionEvent> {
  const { stop, promptTokens, onStopString } = options;
  const detokenizer = new IncrementalDetokenizer(tokenizer, { stop });
  const decoder = new TextDecoder();
  const describe = (id: number, logprob: number): TokenLogprob | undefined => {
    const bytes = tokenizer.bytesOf(id);
    return bytes && { token: decoder.decode(bytes), logprob, bytes: Array.from(bytes) };
  };
  let pending: LogprobEntry[] = [];
  const take = () => {
    const taken = pending;
    pending = [];
    return taken;
  };
  let completionTokens = 0;
  for await (const message of tokens) {
    if (message.event.case === "token") {
      completionTokens++;
      const { tokenId, logprob, topLogprobs } = message.event.value;
      const entry = options.logprobs ? describe(tokenId, logprob) : undefined;
      if (entry) {
        const top = topLogprobs.flatMap((candidate) => describe(candidate.tokenId, candidate.logprob) ?? []);
        pending.push({ ...entry, top_logprobs: top });
      }
      const delta = detokenizer.push(tokenId);
      if (delta.text) yield { type: "text", text: delta.text, logprobs: take() };
      if (delta.stopped) {
        onStopString();
        yield { type: "finish", reason: "stop", promptTokens, completionTokens, cachedTokens: 0 };
        return;
      }
    } else if (message.event.case === "finished") {
      const rest = detokenizer.finish();
      if (rest.text || pending.length > 0) yield { type: "text", text: rest.text, logprobs: take() };
      const { reason, usage } = message.event.value;
      yield {
        type: "finish",
        reason: reason === FinishReason.LENGTH ? "length" : "stop",
        promptTokens: usage?.promptTokens ?? promptTokens,
        completionTokens: usage?.completionTokens ?? completionTokens,
        cachedTokens: usage?.cachedPromptTokens ?? 0,
      };
      return;
    }
  }
  // The GPU service broke its protocol: an upstream failure like any other.
  throw new ConnectError("the GPU service ended the stream without a final message", Code.Unknown);
}

/** A whole completion, for an answer that is not streamed: its text, its tokens' log-probabilities, and how it ended. */
export async function collectCompletion(
  events: AsyncIterable<CompletionEvent>,
): Promise<{ text: string; logprobs: LogprobEntry[]; finish: CompletionFinish }> {
  let text = "";
  const logprobs: LogprobEntry[] = [];
  let finish: CompletionFinish | undefined;
  for await (const event of events) {
    if (event.type === "text") {
      text += event.text;
      logprobs.push(...event.logprobs);
    } else finish = event;
  }
  // completionEvents ends with a finish event or throws.
  return { text, logprobs, finish: finish! };
}
