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

export type CompletionEvent = { type: "text"; text: string; logprob: number | undefined } | CompletionFinish;

/**
 * Turns the GPU service's token stream into text deltas: incremental detokenization (never a broken
 * UTF-8 sequence, special tokens hidden) and stop strings, which end the stream early with "stop".
 */
export async function* completionEvents(
  tokens: AsyncIterable<GenerateResponse>,
  tokenizer: ChatTokenizer,
  stop: string[],
  promptTokens: number,
  onStopString: () => void,
): AsyncGenerator<CompletionEvent> {
  const detokenizer = new IncrementalDetokenizer(tokenizer, { stop });
  let completionTokens = 0;
  for await (const message of tokens) {
    if (message.event.case === "token") {
      completionTokens++;
      const delta = detokenizer.push(message.event.value.tokenId);
      if (delta.text) yield { type: "text", text: delta.text, logprob: message.event.value.logprob };
      if (delta.stopped) {
        onStopString();
        yield { type: "finish", reason: "stop", promptTokens, completionTokens, cachedTokens: 0 };
        return;
      }
    } else if (message.event.case === "finished") {
      const rest = detokenizer.finish();
      if (rest.text) yield { type: "text", text: rest.text, logprob: undefined };
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

/** A whole completion, for an answer that is not streamed: its text, and how it ended. */
export async function collectCompletion(events: AsyncIterable<CompletionEvent>): Promise<{ text: string; finish: CompletionFinish }> {
  let text = "";
  let finish: CompletionFinish | undefined;
  for await (const event of events) {
    if (event.type === "text") text += event.text;
    else finish = event;
  }
  // completionEvents ends with a finish event or throws.
  return { text, finish: finish! };
}
