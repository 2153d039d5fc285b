import { Code, ConnectError } from "@connectrpc/connect";
import type { Manifest } from "../../shared/manifest/index.ts";
import type { EdgeEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { workerdCodecWasm } from "../image/decode/workerd-wasm.ts";
import { readModelAsset } from "../model/index.ts";
import { checkTokenLimit, fromOpenAiMessages, IMAGE_PLACEHOLDER, renderPrompt, tokenize } from "../prompt/index.ts";
import { followSignal } from "../signals.ts";
import { type CompletionEvent, type CompletionFinish, collectCompletion, completionEvents, type LogprobEntry } from "./completion.ts";
import { edgeFeatureSource, FeatureCache, gpuFeatureSource } from "./features.ts";
import { cacheNamespace, openingKey, prepareImage } from "./image-keys.ts";
import { imageBytes } from "./image-source.ts";
import { generate } from "./upstream.ts";

/** The reference's sampling default: transformers' GenerationConfig top_k 50 applies whenever sampling. */
const DEFAULT_TOP_K = 50;

/** A completion as any of the OpenAI-style APIs asks for it (chat completions; the Responses API next). */
export type CompletionInput = {
  /** The model the client named: it must be the one served. */
  model: string;
  /** The conversation as OpenAI chat messages (text and `image_url` parts). */
  messages: unknown;
  /** Tokens to generate at most; undefined: DEFAULT_COMPLETION_TOKENS. */
  maxTokens: number | undefined;
  /**
   * Sampling knobs under the names both OpenAI APIs give them (the request bodies pass as they are); absent ones
   * take the reference's defaults (temperature 0 or absent: greedy, like the official inference).
   */
  sampling: {
    temperature?: number | null;
    top_p?: number | null;
    top_k?: number | null;
    repetition_penalty?: number | null;
    seed?: number | null;
  };
  /** Per-token log-probabilities with this many alternatives each (0 to 20); undefined: none. */
  logprobs: number | undefined;
  /** Strings that end the completion ("stop") where they appear; they are not part of the text. */
  stop: string[];
  /** Image files of a multipart request by part name, for `attachment:NAME` image URLs. */
  attachments: ReadonlyMap<string, Uint8Array>;
  /** The client's request signal: the GPU call ends when it aborts. */
  signal: AbortSignal;
};

/** What the pipeline needs of the request's context (`c.var`, and the ASSETS binding). */
export type CompletionContext = Pick<EdgeEnv["Variables"], "config" | "gpu" | "isolate" | "requestId"> & {
  assets: Fetcher | undefined;
};

/** A completion under way: a JSON answer collects its events, a streamed one frames each. */
export type Completion = {
  /** The served model, for the answer's `model` and fingerprint. */
  manifest: Manifest;
  /**
   * Text deltas, then one finish event. The first event has already arrived: a GPU service that is busy,
   * stalled or down makes `runCompletion` throw with its own status (429, 504, 503), not the stream.
   */
  events: AsyncIterable<CompletionEvent>;
  /** Ends the GPU call (a client that left, an answer that is done); calling it again does nothing. */
  cancel(): void;
};

/**
 * The whole pipeline: prompt and limits, images (fetched, preprocessed, keyed by content), SigLIP features,
 * the GPU service's Generate call, and its tokens as text. Errors go through (toApiError translates them).
 */
export async function runCompletion(input: CompletionInput, context: CompletionContext): Promise<Completion> {
  const { config, gpu, isolate } = context;
  const { manifest, tokenizer } = await isolate.model.load(context.assets, config.modelAssetsPath);
  if (input.model !== manifest.name) {
    const message = `The model '${input.model}' does not exist; this service serves '${manifest.name}'`;
    throw new ApiError(404, "model_not_found", message, { param: "model" });
  }

  const { messages, imageUrls } = fromOpenAiMessages(input.messages);
  const prompt = renderPrompt(messages);
  if (imageUrls.length > config.maxImages) {
    throw new ApiError(400, "too_many_images", `At most ${config.maxImages} images per request, got ${imageUrls.length}`, {
      param: "messages",
    });
  }
  const maxTokens = input.maxTokens ?? config.defaultCompletionTokens;
  if (maxTokens > config.maxCompletionTokens) {
    throw new ApiError(400, "invalid_request", `max_tokens must be at most ${config.maxCompletionTokens}`, { param: "max_tokens" });
  }
  const { ids } = tokenize(prompt, tokenizer, { images: imageUrls.length });
  checkTokenLimit({ promptTokens: ids.length, maxTokens, contextLength: manifest.llm.contextLength });

  // Follows the client's signal; unlinked when the completion is done (see ../signals.ts).
  const abort = followSignal(input.signal);
  const { maxImagePixels: maxPixels, maxJpegPixels, imageFetchMaxBytes: fetchMaxBytes, imageFetchTimeoutMs: fetchTimeoutMs } = config;
  const images = [];
  for (const [index, url] of imageUrls.entries()) {
    const bytes = await imageBytes(url, index, input.attachments, { fetchMaxBytes, fetchTimeoutMs }, abort.signal);
    const decoding = { wasm: workerdCodecWasm, maxPixels, maxJpegPixels, codecs: isolate.codecs };
    images.push(await prepareImage(isolate.fileKeys, bytes, index, manifest, decoding, config.cacheKeySalt));
  }
  isolate.features ??= new FeatureCache(config.featureCacheBytes);
  const readGraph = () => readModelAsset(context.assets, config.modelAssetsPath, "siglip_encoder.onnx");
  // Routing: every turn of a conversation goes to the replica that holds its image's encodings and its earlier
  // turns, so the key comes from the opening (system prompt and first user message), which every turn repeats:
  // its first image's content key (a repeat of the image in another conversation lands there too), else its text.
  const opening = renderPrompt(messages.slice(0, messages.findIndex((message) => message.role === "user") + 1));
  const affinityKey =
    images[0] && opening.includes(IMAGE_PLACEHOLDER) ? images[0].key : await openingKey(opening, manifest.revision, config.cacheKeySalt);
  const route = await gpu.route(affinityKey);
  const source =
    config.siglipPlacement === "edge"
      ? edgeFeatureSource(isolate.encoders, manifest, readGraph)
      : gpuFeatureSource(route, gpu.health, manifest, config.gpuTimeoutMs);
  const features = images.length === 0 ? [] : await isolate.features.features(images, source, manifest);

  const upstream = generate(route, gpu.health, isolate.heldKeys, {
    requestId: context.requestId,
    cacheNamespace: await cacheNamespace(manifest.revision, config.cacheKeySalt),
    inputIds: ids,
    images: images.map((image, i) => ({ ...image, features: features[i] })),
    sampling: { ...samplingOf(input.sampling, maxTokens), topLogprobs: input.logprobs ?? 0 },
    manifest,
    timeoutMs: config.gpuTimeoutMs,
    signal: abort.signal,
  });
  const stream = completionEvents(upstream, tokenizer, {
    stop: input.stop,
    promptTokens: ids.length,
    logprobs: input.logprobs !== undefined,
    onStopString: () => abort.abort(),
  });
  const iterator = stream[Symbol.asyncIterator]();
  let first: IteratorResult<CompletionEvent>;
  try {
    first = await iterator.next();
  } catch (error) {
    abort.abort();
    throw error;
  }
  async function* events(): AsyncGenerator<CompletionEvent> {
    try {
      for (let next = first; !next.done; next = await iterator.next()) yield next.value;
    } finally {
      abort.abort();
    }
  }
  return { manifest, events: events(), cancel: () => abort.abort() };
}

/**
 * A whole completion, for an answer that is not streamed. Nothing reaches the client before it is done, so a
 * replica that dies mid-answer (UNAVAILABLE) costs a rerun on the next replica, not the answer: the pipeline
 * runs again, routing now passing the dead replica over, at most once per other replica.
 */
export async function completeWhole(
  input: CompletionInput,
  context: CompletionContext,
): Promise<{ manifest: Manifest; text: string; logprobs: LogprobEntry[]; finish: CompletionFinish }> {
  for (let attempt = 1; ; attempt++) {
    const completion = await runCompletion(input, context);
    try {
      return { manifest: completion.manifest, ...(await collectCompletion(completion.events)) };
    } catch (error) {
      const replicaDied = ConnectError.from(error).code === Code.Unavailable;
      if (!replicaDied || attempt >= context.gpu.all.length || input.signal.aborted) throw error;
    }
  }
}

/** The knobs as the reference's sampler takes them. */
function samplingOf(sampling: CompletionInput["sampling"], maxNewTokens: number) {
  const temperature = sampling.temperature ?? 0;
  return {
    temperature,
    topK: sampling.top_k ?? (temperature > 0 ? DEFAULT_TOP_K : 0),
    topP: sampling.top_p ?? 1,
    repetitionPenalty: sampling.repetition_penalty ?? 1,
    maxNewTokens,
    stopTokenIds: [],
    ...(sampling.seed === undefined || sampling.seed === null ? {} : { seed: BigInt(sampling.seed) }),
  };
}
