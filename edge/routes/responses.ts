import type { Context } from "hono";
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { bearerToken } from "../../shared/auth/index.ts";
import { requireApiKey } from "../auth/index.ts";
import { type CompletionInput, completeWhole, type LogprobEntry, runCompletion } from "../chat/index.ts";
import { sha256Hex } from "../digest.ts";
import type { EdgeEnv } from "../env.ts";
import { toApiError } from "../errors.ts";
import {
  conversationOf,
  LOGPROBS_INCLUDE,
  messageItem,
  outputItemId,
  outputText,
  type ResponseIdentity,
  ResponseStore,
  readResponsesRequest,
  responseObject,
} from "../responses/index.ts";
import { readBody } from "./body.ts";

/**
 * POST /v1/responses: OpenAI's Responses API on the chat-completions pipeline — one message in, one `message`
 * item out, JSON or the documented event stream; responses are stored (unless `store: false`) for
 * `previous_response_id` and `item_reference`.
 */
export function responsesRoutes() {
  return new Hono<EdgeEnv>().use("/responses", requireApiKey).post("/responses", async (c) => {
    const { body, attachments } = await readBody(c);
    const request = readResponsesRequest(body);
    const { config, isolate } = c.var;
    isolate.responses ??= new ResponseStore({ maxBytes: config.responsesStoreBytes, ttlSeconds: config.responsesStoreTtlSeconds });
    const store = isolate.responses;
    const tenant = await tenantOf(c);
    const { messages, history } = await conversationOf(request, (id) => store.load(tenant, id));
    const input: CompletionInput = {
      model: request.model,
      messages,
      maxTokens: request.max_output_tokens ?? undefined,
      sampling: request,
      logprobs: request.include?.includes(LOGPROBS_INCLUDE) ? (request.top_logprobs ?? 0) : undefined,
      stop: [],
      attachments,
      signal: c.req.raw.signal,
    };
    const context = { ...c.var, assets: c.env.ASSETS };
    const id = `resp_${c.var.requestId.replaceAll("-", "")}`;
    const identity = (model: string): ResponseIdentity => ({
      id,
      itemId: outputItemId(id),
      createdAt: Math.floor(Date.now() / 1000),
      model,
      request,
    });
    const keep = async (text: string) => {
      if (request.store !== false) await store.save(tenant, { id, messages: history, output: { role: "assistant", content: text } });
    };

    if (!request.stream) {
      const { manifest, text, finish, logprobs } = await completeWhole(input, context);
      await keep(text);
      return c.json(responseObject(identity(manifest.name), { text, finish, logprobs }));
    }

    const completion = await runCompletion(input, context);
    const response = identity(completion.manifest.name);
    return streamSSE(c, async (stream) => {
      stream.onAbort(completion.cancel);
      let sequence = 0;
      const send = (type: string, payload: object) =>
        stream.writeSSE({ event: type, data: JSON.stringify({ type, sequence_number: sequence++, ...payload }) });
      const part = { item_id: response.itemId, output_index: 0, content_index: 0 };
      let text = "";
      const logprobs: LogprobEntry[] = [];
      try {
        await send("response.created", { response: responseObject(response) });
        await send("response.in_progress", { response: responseObject(response) });
        await send("response.output_item.added", { output_index: 0, item: messageItem(response, "in_progress") });
        await send("response.content_part.added", { ...part, part: outputText("") });
        for await (const event of completion.events) {
          if (event.type === "text") {
            text += event.text;
            logprobs.push(...event.logprobs);
            await send("response.output_text.delta", { ...part, delta: event.text, logprobs: event.logprobs });
            continue;
          }
          const finished = responseObject(response, { text, finish: event, logprobs });
          await send("response.output_text.done", { ...part, text, logprobs });
          await send("response.content_part.done", { ...part, part: outputText(text, logprobs) });
          await send("response.output_item.done", { output_index: 0, item: finished.output[0] });
          await keep(text);
          await send(finished.status === "incomplete" ? "response.incomplete" : "response.completed", { response: finished });
        }
      } catch (error) {
        // After the 200 an error can only be told inside the stream, as OpenAI's `error` event.
        const failure = toApiError(error, c);
        if (!stream.aborted) await send("error", { code: failure.code, message: failure.message, param: failure.options.param ?? null });
      } finally {
        completion.cancel();
      }
    });
  });
}

/** Whose stored responses a request may read: a digest of its API key and the salt (the key itself is never kept). */
function tenantOf(c: Context<EdgeEnv>): Promise<string> {
  const key = bearerToken(c.req.header("authorization")) ?? "";
  return sha256Hex(`responses\n${c.var.config.cacheKeySalt}\n${key}`);
}
