import type { ModelDtype } from "../../shared/manifest/index.ts";
import type { Logger } from "../log.ts";
import type { ModelDirectory } from "../model/index.ts";
import { SequenceRng } from "../sampling/index.ts";
import { type EngineEvents, type EngineOptions, GenerationEngine } from "./engine.ts";
import { VisionLanguageModel } from "./model.ts";
import type { ExecutionProvider } from "./sessions.ts";
import { VisionEncoder } from "./vision.ts";

/** A loaded, warmed-up model set with its encoder cache and generation engine. */
export type Runtime = {
  directory: ModelDirectory;
  model: VisionLanguageModel;
  vision: VisionEncoder;
  engine: GenerationEngine;
};

/** What the runtime needs to load and serve a model set. */
export type RuntimeOptions = {
  /** Tried in order per graph; the first that loads wins. */
  executionProviders: readonly ExecutionProvider[];
  /** `auto`: fp16 on an accelerator when the model set has it, fp32 otherwise. */
  modelDtype: ModelDtype | "auto";
  /** Intra-op threads of the CPU provider; 0 lets onnxruntime decide. */
  cpuThreads: number;
  /** Bytes of image embeddings the encoder cache may hold. */
  encoderCacheBytes: number;
  /** Bytes the decode batch's KV cache may hold; 0: a full batch at the full context. */
  kvCacheBytes: number;
  /** Bytes of prompts' KV kept for prefix reuse; undefined: half the KV budget; 0: off. */
  prefixCacheBytes?: number;
  /** The largest tensor a WebGPU graph may hold (its device's storage-buffer binding range). */
  deviceBufferLimitBytes: number;
} & Omit<EngineOptions, "contextLength" | "kvCacheBytes" | "prefixCacheBytes">;

/**
 * The prefill chunk, capped on WebGPU so that one chunk's attention scores [heads, chunk, context] (float32)
 * stay within the device's binding range: beyond it WebGPU computes silently wrong results.
 */
function prefillChunk(model: VisionLanguageModel, options: RuntimeOptions): number {
  if (model.providers.decoder_serving !== "webgpu") return options.prefillChunkTokens;
  const { numHeads, contextLength } = model.manifest.llm;
  const fitting = Math.floor(options.deviceBufferLimitBytes / (numHeads * contextLength * 4));
  if (fitting < 1)
    throw new Error(`one token's attention scores exceed the device buffer limit of ${options.deviceBufferLimitBytes} bytes`);
  return Math.min(options.prefillChunkTokens, fitting);
}

/** fp16 on an accelerator when the model set has it; fp32 on the CPU (or when asked). */
function chooseDtype(directory: ModelDirectory, options: RuntimeOptions): ModelDtype {
  if (options.modelDtype !== "auto") return options.modelDtype;
  const accelerated = options.executionProviders[0] !== "cpu";
  return accelerated && directory.manifest.dtypes.includes("fp16") ? "fp16" : directory.manifest.dtypes.includes("fp32") ? "fp32" : "fp16";
}

/**
 * Loads the model set and proves it works: a real request with one image runs through every graph
 * (SigLIP, SAM, aligner, embeddings, prefill, a batched decode step) before the service says it is ready.
 */
export async function startRuntime(
  directory: ModelDirectory,
  options: RuntimeOptions,
  log: Logger,
  events: EngineEvents,
): Promise<Runtime> {
  const dtype = chooseDtype(directory, options);
  const sessionOptions = { providers: options.executionProviders, cpuThreads: options.cpuThreads };
  const model = await VisionLanguageModel.load(directory, dtype, sessionOptions, log);
  const vision = new VisionEncoder(model, options.encoderCacheBytes);
  const { manifest } = directory;
  const { maxBatch, maxQueue, retryAfterMs } = options;
  const contextLength = manifest.llm.contextLength;
  const kvCacheBytes = options.kvCacheBytes || maxBatch * contextLength * model.kvBytesPerPosition;
  const prefillChunkTokens = prefillChunk(model, options);
  const prefixCacheBytes = options.prefixCacheBytes ?? Math.floor(kvCacheBytes / 2);
  const engineOptions = { maxBatch, maxQueue, retryAfterMs, contextLength, kvCacheBytes, prefillChunkTokens, prefixCacheBytes };
  const engine = new GenerationEngine(model, vision, engineOptions, log, events);

  const started = performance.now();
  const size = manifest.vision.imageSize;
  const key = `warm-up:${manifest.revision}`;
  const { bos, eos, image } = manifest.tokens;
  // Its own engine, with room for the two warm-up requests whatever the serving limits (a batch of 1 and no queue
  // are valid settings), and no events: warm-up tokens are not served tokens.
  const warmUpEngine = new GenerationEngine(
    model,
    vision,
    { ...engineOptions, maxBatch: 2, maxQueue: 1, kvCacheBytes: Infinity, prefixCacheBytes: 0 },
    log,
  );
  const warmUp = (inputIds: number[], withImage: boolean, repetitionPenalty: number, maxNewTokens: number) =>
    warmUpEngine.generate({
      id: "warm-up",
      cacheNamespace: "warm-up",
      topLogprobs: 0,
      inputIds,
      images: withImage ? [{ key, pixels: new Uint8Array(3 * size * size).fill(127) }] : [],
      imageStarts: withImage ? [1] : [],
      sampling: { temperature: 0, topK: 0, topP: 1, repetitionPenalty },
      rng: new SequenceRng(0n),
      maxNewTokens,
      stopTokenIds: new Set(),
      signal: new AbortController().signal,
      onToken() {},
    });
  // Two requests that meet in the batch, so every graph runs: the towers, the decoder, kv_join when the second
  // joins, kv_select when the first leaves, and logits_rows for the second's repetition penalty.
  await Promise.all([
    warmUp([bos, ...new Array<number>(manifest.vision.imageTokens).fill(image), eos], true, 1, 2),
    warmUp([bos, eos, eos], false, 1.1, 4),
  ]);
  vision.cache.delete(key);
  const onCpu = model.cpuPlacedNodes();
  if (Object.keys(onCpu).length > 0) log.info("nodes onnxruntime placed on the CPU (shape arithmetic)", { graphs: onCpu });
  log.info("model loaded", {
    name: manifest.name,
    dtype,
    providers: model.providers,
    kvCacheBytes,
    prefixCacheBytes,
    prefillChunkTokens,
    warmUpMs: Math.round(performance.now() - started),
  });
  return { directory, model, vision, engine };
}
