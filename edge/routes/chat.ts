import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { streamSSE } from "hono/streaming";
import type { EdgeEnv } from "../app.ts";
import {
  FeatureCache,
  HeldKeys,
  completionEvents,
  edgeFeatureSource,
  generate,
  gpuFeatureSource,
  imageBytes,
  prepareImage,
  readChatRequest,
  type ChatRequest,
  type CompletionEvent,
} from "../chat/index.ts";
import { ApiError, errorBody, fromUpstream } from "../errors.ts";
import { workerdCodecWasm } from "../image/decode/workerd-wasm.ts";
import { loadEdgeModel, readModelAsset, type EdgeModel } from "../model/index.ts";
import { followSignal } from "../signals.ts";
import { SiglipEncoderError } from "../siglip/index.ts";
import { PromptError, checkTokenLimit, fromOpenAiMessages, renderPrompt, tokenize } from "../prompt/index.ts";
import { requireApiKey } from "./auth.ts";

/** Per isolate: what the GPU service is believed to hold, and the SigLIP features already computed. */
let featureCache: FeatureCache | undefined;
const heldKeys = new HeldKeys();

/** The reference's sampling default: transformers' GenerationConfig top_k 50 applies whenever sampling. */
const DEFAULT_TOP_K = 50;

/** POST /v1/chat/completions (JSON, or multipart: a `request` JSON part plus image file parts) and GET /v1/models. */
export function chatRoutes() {
  return new Hono<EdgeEnv>()
    .use("/models", requireApiKey)
    .use("/chat/*", requireApiKey)
    .get("/models", async (c) => {
      const { manifest } = await model(c);
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
        const config = c.var.config;
        const { body, attachments } = await readBody(c);
        const request = readChatRequest(body);
        const { manifest, tokenizer } = await model(c);
        if (request.model !== manifest.name) {
          throw new ApiError(404, "model_not_found", `The model '${request.model}' does not exist; this service serves '${manifest.name}'`, { param: "model" });
        }

        const { prompt, imageUrls } = promptOf(request);
        if (imageUrls.length > config.maxImages) {
          throw new ApiError(400, "too_many_images", `At most ${config.maxImages} images per request, got ${imageUrls.length}`, { param: "messages" });
        }
        const maxTokens = request.max_completion_tokens ?? request.max_tokens ?? config.defaultCompletionTokens;
        if (maxTokens > config.maxCompletionTokens) {
          throw new ApiError(400, "invalid_request", `max_tokens must be at most ${config.maxCompletionTokens}`, { param: "max_tokens" });
        }
        const { ids } = prompted(() => tokenize(prompt, tokenizer, { images: imageUrls.length }));
        prompted(() => checkTokenLimit({ promptTokens: ids.length, maxTokens, contextLength: manifest.llm.contextLength }));

        // Follows the client's signal; unlinked when the response is done (see ../signals.ts).
        const abort = followSignal(c.req.raw.signal);
        const limits = { maxPixels: config.maxImagePixels, fetchMaxBytes: config.imageFetchMaxBytes, fetchTimeoutMs: config.imageFetchTimeoutMs };
        const images = [];
        for (const [index, url] of imageUrls.entries()) {
          const bytes = await imageBytes(url, index, attachments, limits, abort.signal);
          images.push(await prepareImage(bytes, index, manifest, workerdCodecWasm, config.maxImagePixels, config.cacheKeySalt));
        }
        featureCache ??= new FeatureCache(config.featureCacheBytes);
        const source =
          config.siglipPlacement === "edge"
            ? edgeFeatureSource(manifest, () => readModelAsset(c.env.ASSETS, config.modelAssetsPath, "siglip_encoder.onnx"))
            : gpuFeatureSource(c.var.gpu, manifest, config.gpuTimeoutMs);
        const features =
          images.length === 0
            ? []
            : await featureCache.features(images, source, manifest).catch((error: unknown) => {
                if (error instanceof SiglipEncoderError) throw new ApiError(500, "edge_misconfigured", error.message);
                throw error instanceof ApiError ? error : fromUpstream(error, config.retryAfterSeconds);
              });

        const sampling = samplingOf(request, maxTokens);
        const stop = request.stop === undefined || request.stop === null ? [] : [request.stop].flat();
        const upstream = generate(c.var.gpu, heldKeys, {
          requestId: c.var.requestId,
          inputIds: ids,
          images: images.map((image, i) => ({ ...image, features: features[i] })),
          sampling,
          manifest,
          timeoutMs: config.gpuTimeoutMs,
          signal: abort.signal,
        });
        const events = completionEvents(upstream, tokenizer, stop, ids.length, () => abort.abort());
        const id = `chatcmpl-${c.var.requestId}`;
        const created = Math.floor(Date.now() / 1000);
        const base = { id, object: "chat.completion.chunk", created, model: manifest.name, system_fingerprint: manifest.revision.slice(0, 16) };

        if (!request.stream) {
          let text = "";
          let finish: Extract<CompletionEvent, { type: "finish" }> | undefined;
          try {
            for await (const event of events) {
              if (event.type === "text") text += event.text;
              else finish = event;
            }
          } catch (error) {
            throw fromUpstream(error, config.retryAfterSeconds);
          } finally {
            abort.unlink();
          }
          return c.json({
            ...base,
            object: "chat.completion",
            choices: [{ index: 0, message: { role: "assistant", content: text, refusal: null }, logprobs: null, finish_reason: finish!.reason }],
            usage: usageOf(finish!),
          });
        }

        // The first event (the first token, or the end) comes before the 200: a GPU service that is busy,
        // stalled or down answers with its own status (429, 504, 503), not an error inside a 200 stream.
        const iterator = events[Symbol.asyncIterator]();
        let first: IteratorResult<CompletionEvent>;
        try {
          first = await iterator.next();
        } catch (error) {
          abort.abort();
          throw error instanceof ApiError ? error : fromUpstream(error, config.retryAfterSeconds);
        }
        const includeUsage = request.stream_options?.include_usage === true;
        return streamSSE(c, async (stream) => {
          stream.onAbort(() => abort.abort());
          const send = (payload: object) => stream.writeSSE({ data: JSON.stringify(payload) });
          try {
            await send({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }] });
            for (let next = first; !next.done; next = await iterator.next()) {
              const event = next.value;
              if (event.type === "text") {
                await send({ ...base, choices: [{ index: 0, delta: { content: event.text }, logprobs: null, finish_reason: null }] });
                continue;
              }
              await send({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: event.reason }] });
              if (includeUsage) await send({ ...base, choices: [], usage: usageOf(event) });
            }
            await stream.writeSSE({ data: "[DONE]" });
          } catch (error) {
            if (!stream.aborted) {
              const failure = error instanceof ApiError ? error : fromUpstream(error, config.retryAfterSeconds);
              await stream.writeSSE({ data: JSON.stringify(errorBody(failure)) });
            }
          } finally {
            abort.abort();
          }
        });
      },
    );
}

function model(c: Context<EdgeEnv>): Promise<EdgeModel> {
  return loadEdgeModel(c.env.ASSETS, c.var.config.modelAssetsPath);
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
    if (typeof json !== "string") throw new ApiError(400, "invalid_multipart", "A multipart request needs a `request` part holding the JSON body");
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

/** The rendered prompt and the images in order of appearance, or a 400 naming the broken rule. */
function promptOf(request: ChatRequest): { prompt: string; imageUrls: string[] } {
  return prompted(() => {
    const { messages, imageUrls } = fromOpenAiMessages(request.messages);
    return { prompt: renderPrompt(messages), imageUrls };
  });
}

function prompted<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (!(error instanceof PromptError)) throw error;
    if (error.code === "invalid_tokenizer") throw new ApiError(500, "edge_misconfigured", error.message);
    throw new ApiError(400, error.code, error.message, { param: "messages" });
  }
}

/** OpenAI's knobs as the reference's sampler takes them (temperature 0 or absent: greedy, like the official inference). */
function samplingOf(request: ChatRequest, maxNewTokens: number) {
  const temperature = request.temperature ?? 0;
  return {
    temperature,
    topK: request.top_k ?? (temperature > 0 ? DEFAULT_TOP_K : 0),
    topP: request.top_p ?? 1,
    repetitionPenalty: request.repetition_penalty ?? 1,
    maxNewTokens,
    stopTokenIds: [],
    ...(request.seed === undefined || request.seed === null ? {} : { seed: BigInt(request.seed) }),
  };
}

function usageOf(finish: Extract<CompletionEvent, { type: "finish" }>) {
  return { prompt_tokens: finish.promptTokens, completion_tokens: finish.completionTokens, total_tokens: finish.promptTokens + finish.completionTokens };
}
