import type { Client } from "@connectrpc/connect";
import type { GenerateRequest, GenerationFinished, InferenceService } from "../../shared/gen/deepseek_vl/v1/inference_pb.js";

type Inference = Client<typeof InferenceService>;

/** A Generate call run to its end: the streamed tokens with their logprobs, and the finish message. */
export async function collectGenerate(client: Inference, request: GenerateRequest) {
  const tokens: number[] = [];
  const logprobs: number[] = [];
  let finished: GenerationFinished | undefined;
  for await (const message of client.generate(request)) {
    if (message.event.case === "token") {
      tokens.push(message.event.value.tokenId);
      logprobs.push(message.event.value.logprob);
    } else if (message.event.case === "finished") finished = message.event.value;
  }
  return { tokens, logprobs, finished: finished! };
}

/** A Generate call left running: its tokens so far, a handle to cancel it, and how it ended ("ok" or the error). */
export function openGenerate(client: Inference, request: GenerateRequest) {
  const abort = new AbortController();
  const tokens: number[] = [];
  const done = (async () => {
    for await (const message of client.generate(request, { signal: abort.signal })) {
      if (message.event.case === "token") tokens.push(message.event.value.tokenId);
    }
  })();
  return {
    tokens,
    abort,
    done: done.then(
      () => "ok" as const,
      (error: unknown) => error,
    ),
  };
}
