import type { ModelDtype } from "../../shared/manifest/index.ts";
import type { GpuServiceConfig } from "../config.ts";
import type { Logger } from "../log.ts";
import type { ModelDirectory } from "../model/index.ts";
import { SequenceRng } from "../sampling/index.ts";
import { GenerationEngine, type EngineEvents } from "./engine.ts";
import { VisionLanguageModel } from "./model.ts";
import { VisionEncoder } from "./vision.ts";

/** A loaded, warmed-up model set with its encoder cache and generation engine. */
export type Runtime = {
  directory: ModelDirectory;
  model: VisionLanguageModel;
  vision: VisionEncoder;
  engine: GenerationEngine;
};

/** fp16 on an accelerator when the model set has it; fp32 on the CPU (or when asked). */
function chooseDtype(directory: ModelDirectory, config: GpuServiceConfig): ModelDtype {
  if (config.modelDtype !== "auto") return config.modelDtype;
  const accelerated = config.executionProviders[0] !== "cpu";
  return accelerated && directory.manifest.dtypes.includes("fp16") ? "fp16" : directory.manifest.dtypes.includes("fp32") ? "fp32" : "fp16";
}

/**
 * Loads the model set and proves it works: a real request with one image runs through every graph
 * (SigLIP, SAM, aligner, embeddings, prefill, a batched decode step) before the service says it is ready.
 */
export async function startRuntime(directory: ModelDirectory, config: GpuServiceConfig, log: Logger, events: EngineEvents): Promise<Runtime> {
  const dtype = chooseDtype(directory, config);
  const model = await VisionLanguageModel.load(directory, dtype, { providers: config.executionProviders, cpuThreads: config.cpuThreads }, log);
  const vision = new VisionEncoder(model, config.encoderCacheBytes);
  const { manifest } = directory;
  const engine = new GenerationEngine(
    model,
    vision,
    { maxBatch: config.maxBatch, maxQueue: config.maxQueue, retryAfterMs: config.retryAfterMs, contextLength: manifest.llm.contextLength },
    log,
    events,
  );

  const started = performance.now();
  const size = manifest.vision.imageSize;
  const key = `warm-up:${manifest.revision}`;
  const ids = [manifest.tokens.bos, ...new Array<number>(manifest.vision.imageTokens).fill(manifest.tokens.image), manifest.tokens.eos];
  await engine.generate({
    id: "warm-up",
    inputIds: ids,
    images: [{ key, pixels: new Uint8Array(3 * size * size).fill(127) }],
    imageStarts: [1],
    sampling: { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1 },
    rng: new SequenceRng(0n),
    maxNewTokens: 2,
    stopTokenIds: new Set(),
    signal: new AbortController().signal,
    onToken() {},
  });
  vision.cache.delete(key);
  log.info("model loaded", { name: manifest.name, dtype, providers: model.providers, warmUpMs: Math.round(performance.now() - started) });
  return { directory, model, vision, engine };
}
