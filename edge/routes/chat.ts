import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { requireApiKey } from "../auth/index.ts";
import {
  type CompletionInput,
  chatAnswerIdentity,
  chatChunk,
  chatCompletion,
  completeWhole,
  readChatRequest,
  runCompletion,
  usageChunk,
} from "../chat/index.ts";
import type { EdgeEnv } from "../env.ts";
import { errorBody, toApiError } from "../errors.ts";
import { readBody } from "./body.ts";

/** POST /v1/chat/completions (JSON, or multipart: a `request` JSON part plus image file parts). */
export function chatRoutes() {
  return new Hono<EdgeEnv>().use("/chat/*", requireApiKey).post("/chat/completions", async (c) => {
    const { body, attachments } = await readBody(c);
    const request = readChatRequest(body);
    const input: CompletionInput = {
      model: request.model,
      messages: request.messages,
      maxTokens: request.max_completion_tokens ?? request.max_tokens ?? undefined,
      sampling: request,
      logprobs: request.logprobs ? (request.top_logprobs ?? 0) : undefined,
      stop: request.stop === undefined || request.stop === null ? [] : [request.stop].flat(),
      attachments,
      signal: c.req.raw.signal,
    };
    const context = { ...c.var, assets: c.env.ASSETS };
    if (!request.stream) {
      const { manifest, text, finish, logprobs } = await completeWhole(input, context);
      const identity = chatAnswerIdentity(c.var.requestId, manifest);
      return c.json(chatCompletion(identity, text, finish, request.logprobs ? logprobs : undefined));
    }
    const completion = await runCompletion(input, context);
    const identity = chatAnswerIdentity(c.var.requestId, completion.manifest);

    const includeUsage = request.stream_options?.include_usage === true;
    return streamSSE(c, async (stream) => {
      stream.onAbort(completion.cancel);
      const send = (payload: object) => stream.writeSSE({ data: JSON.stringify(payload) });
      try {
        await send(chatChunk(identity, { role: "assistant", content: "" }, null));
        for await (const event of completion.events) {
          if (event.type === "text") {
            await send(chatChunk(identity, { content: event.text }, null, request.logprobs ? event.logprobs : undefined));
            continue;
          }
          await send(chatChunk(identity, {}, event.reason));
          if (includeUsage) await send(usageChunk(identity, event));
        }
        await stream.writeSSE({ data: "[DONE]" });
      } catch (error) {
        // After the 200 an error can only be told inside the stream.
        if (!stream.aborted) await stream.writeSSE({ data: JSON.stringify(errorBody(toApiError(error, c))) });
      } finally {
        completion.cancel();
      }
    });
  });
}
