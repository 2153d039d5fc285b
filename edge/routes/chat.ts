import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
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
import { ApiError, errorBody, toApiError } from "../errors.ts";

/** POST /v1/chat/completions (JSON, or multipart: a `request` JSON part plus image file parts) and GET /v1/models. */
export function chatRoutes() {
  return new Hono<EdgeEnv>()
    .use("/models", requireApiKey)
    .use("/chat/*", requireApiKey)
    .get("/models", async (c) => {
      const { manifest } = await c.var.isolate.model.load(c.env.ASSETS, c.var.config.modelAssetsPath);
      return c.json({ object: "list", data: [{ id: manifest.name, object: "model", created: 0, owned_by: "deepseek-ai" }] });
    })
    .post(
      "/chat/completions",
      (c, next) =>
        bodyLimit({
          maxSize: c.var.config.maxBodyBytes,
          onError: () => {
            throw new ApiError(413, "body_too_large", `The request body is over ${c.var.config.maxBodyBytes} bytes`);
          },
        })(c, next),
      async (c) => {
        const { body, attachments } = await readBody(c);
        const request = readChatRequest(body);
        const input: CompletionInput = {
          model: request.model,
          messages: request.messages,
          maxTokens: request.max_completion_tokens ?? request.max_tokens ?? undefined,
          sampling: {
            temperature: request.temperature,
            topP: request.top_p,
            topK: request.top_k,
            repetitionPenalty: request.repetition_penalty,
            seed: request.seed,
          },
          stop: request.stop === undefined || request.stop === null ? [] : [request.stop].flat(),
          attachments,
          signal: c.req.raw.signal,
        };
        const context = { ...c.var, assets: c.env.ASSETS };
        if (!request.stream) {
          const { manifest, text, finish } = await completeWhole(input, context);
          return c.json(chatCompletion(chatAnswerIdentity(c.var.requestId, manifest), text, finish));
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
                await send(chatChunk(identity, { content: event.text }, null));
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
      },
    );
}

/** JSON, or multipart/form-data with the request as a `request` part and images as file parts. */
async function readBody(c: Context<EdgeEnv>): Promise<{ body: unknown; attachments: Map<string, Uint8Array> }> {
  const type = c.req.header("content-type") ?? "";
  const attachments = new Map<string, Uint8Array>();
  if (type.startsWith("multipart/form-data")) {
    let form: FormData;
    try {
      form = await c.req.raw.formData();
    } catch {
      throw new ApiError(400, "invalid_multipart", "The multipart body could not be parsed");
    }
    const json = form.get("request");
    if (typeof json !== "string")
      throw new ApiError(400, "invalid_multipart", "A multipart request needs a `request` part holding the JSON body");
    for (const [name, value] of form.entries()) {
      if (typeof value !== "string") attachments.set(name, new Uint8Array(await value.arrayBuffer()));
    }
    return { body: parseJson(json), attachments };
  }
  if (!type.startsWith("application/json")) {
    throw new ApiError(415, "unsupported_media_type", "Send the request as application/json or multipart/form-data");
  }
  return { body: parseJson(await c.req.text()), attachments };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, "invalid_json", "The request body is not valid JSON");
  }
}
