// npm run bench:gpu -- --provider cuda|webgpu|cpu --kind hybrid|siglip --size real|tiny
//                      [--dtype fp16|fp32] [--bandwidth GBps] [--runs N] [--decode-tokens N]
// For a GPU host (Node >= 22): generates a random-weight model set once (`real`: every official shape, fp16 graphs;
// `tiny`: fp32 and fp16 graphs) under .cache/bench/gpu-host/, loads it through the service's runtime with exactly
// the chosen execution provider (no fallback), and prints SAM-B / SigLIP-L encode, prefill and decode figures with
// decode's ratio to the memory-bandwidth bound. Elapsed time is printed per phase (budget: 8 minutes).
import { randomBytes } from "node:crypto";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../gpu-service/config.ts";
import { createLogger } from "../gpu-service/log.ts";
import { openModelDirectory } from "../gpu-service/model/index.ts";
import { EXECUTION_PROVIDERS, type ExecutionProvider, type Runtime, startRuntime } from "../gpu-service/runtime/index.ts";
import { SequenceRng } from "../gpu-service/sampling/index.ts";
import { graphFileName, type Manifest, MODEL_DTYPES, type ModelDtype } from "../shared/manifest/index.ts";
import { noiseImage } from "./images.ts";
import { median } from "./median.ts";
import { BENCH_CACHE, benchModel } from "./models.ts";
import { type BenchmarkResult, formatResult } from "./report.ts";

const USAGE =
  "usage: npm run bench:gpu -- --provider cuda|webgpu|cpu --kind hybrid|siglip --size real|tiny [--dtype fp16|fp32] [--bandwidth GBps] [--runs N] [--decode-tokens N]";
const BUDGET_MS = 8 * 60_000;
/** Text tokens after the image in the prefill prompt. */
const PROMPT_TEXT_TOKENS = 32;

class UsageError extends Error {
  override name = "UsageError";
}

type Options = {
  provider: ExecutionProvider;
  kind: "hybrid" | "siglip";
  size: "real" | "tiny";
  dtype: ModelDtype | "auto";
  bandwidthGBps: number | undefined;
  runs: number;
  decodeTokens: number;
};

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T {
  if (value === undefined || !(allowed as readonly string[]).includes(value))
    throw new UsageError(`--${name} must be one of ${allowed.join(", ")}`);
  return value as T;
}

function positive(name: string, value: string | undefined, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!(number > 0) || (integer && !Number.isInteger(number)))
    throw new UsageError(`--${name} must be a positive ${integer ? "integer" : "number"}, got "${value}"`);
  return number;
}

function parseOptions(args: string[]): Options {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        provider: { type: "string" },
        kind: { type: "string" },
        size: { type: "string" },
        dtype: { type: "string", default: "auto" },
        bandwidth: { type: "string" },
        runs: { type: "string", default: "5" },
        "decode-tokens": { type: "string", default: "64" },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return {
    provider: oneOf("provider", values.provider, EXECUTION_PROVIDERS),
    kind: oneOf("kind", values.kind, ["hybrid", "siglip"] as const),
    size: oneOf("size", values.size, ["real", "tiny"] as const),
    dtype: oneOf("dtype", values.dtype, ["auto", ...MODEL_DTYPES]),
    bandwidthGBps: positive("bandwidth", values.bandwidth, false),
    runs: positive("runs", values.runs, true)!,
    decodeTokens: Math.max(2, positive("decode-tokens", values["decode-tokens"], true)!),
  };
}

const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s`;
/** A progress line with the total elapsed time, so a slow phase shows against the 8-minute budget. */
const phase = (text: string) => console.log(`[${elapsed()}] ${text}`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const bytes = (count: number) => (count >= 1e9 ? `${(count / 1e9).toFixed(2)} GB` : `${(count / 1e6).toFixed(2)} MB`);
const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 1)} ms`;

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const start = performance.now();
  const result = await work();
  return { result, ms: performance.now() - start };
}

/** Median wall time of `runs` calls (the runtime's readiness check has already run every graph once). */
async function medianMs(runs: number, work: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push((await timed(work)).ms);
  return median(times);
}

/**
 * Bytes a B=1 decode step must read at least: every decoder weight (attention and MLP projections, both
 * RMSNorms per layer, the final norm), the lm_head and one embedding row, at the graph set's width.
 */
function decodeWeightBytes(llm: Manifest["llm"], dtype: ModelDtype): number {
  const { hiddenSize: h, numLayers, numHeads, numKeyValueHeads, headDim, intermediateSize, vocabSize } = llm;
  const attention = h * numHeads * headDim * 2 + h * numKeyValueHeads * headDim * 2;
  const perLayer = attention + 3 * h * intermediateSize + 2 * h;
  const elements = numLayers * perLayer + h + vocabSize * h + h;
  return elements * (dtype === "fp16" ? 2 : 4);
}

/** Bytes of the KV cache a step reads at `context` positions (B=1). */
const kvCacheBytes = (llm: Manifest["llm"], dtype: ModelDtype, context: number) =>
  2 * llm.numLayers * llm.numKeyValueHeads * llm.headDim * context * (dtype === "fp16" ? 2 : 4);

/**
 * Size on disk of the serving decoder and its external data: what the weights take as stored. Its weights lie
 * in decoder_model_merged's data file when external (converter/README.md).
 */
async function decoderFileBytes(dir: string, dtype: ModelDtype): Promise<number> {
  const serving = graphFileName("decoder_serving", dtype);
  const wanted = [serving, `${serving}_data`, `${graphFileName("decoder_model_merged", dtype)}_data`];
  const files = (await readdir(dir)).filter((file) => wanted.includes(file));
  const sizes = await Promise.all(files.map(async (file) => (await stat(join(dir, file))).size));
  return sizes.reduce((a, b) => a + b, 0);
}

async function loadRuntime(options: Options, dir: string): Promise<Runtime> {
  const config = loadConfig({
    GPU_SERVICE_SECRET: randomBytes(16).toString("hex"),
    GPU_SERVICE_EXECUTION_PROVIDERS: options.provider,
    GPU_SERVICE_MODEL_DTYPE: options.dtype,
  });
  // The runtime's structured log goes to stdout too, in order with the progress lines.
  const log = createLogger((line) => process.stdout.write(`  ${line}`));
  try {
    return await startRuntime(await openModelDirectory(dir), config, log, {});
  } catch (error) {
    throw new Error(`loading the model set on ${options.provider} failed: ${(error as Error).message}`);
  }
}

async function run(options: Options): Promise<BenchmarkResult> {
  const { provider, kind, size, runs } = options;
  const dir = join(BENCH_CACHE, "gpu-host", `${kind}-${size}`);
  phase(`model set ${dir} (reused when present; the first real-size run writes and converts ~4 GB siglip / ~15 GB hybrid)`);
  const { manifest } = await benchModel(dir, {
    kind,
    size,
    dtypes: size === "real" ? ["fp16"] : ["fp32", "fp16"],
    onPhase: (name, took) => phase(`${name === "fixture" ? "random checkpoint written" : "converted"} (${seconds(took)})`),
  });
  phase(`model set ready: ${manifest.name}, ${manifest.dtypes.join(" + ")}`);

  const loaded = await timed(() => loadRuntime(options, dir));
  const { model, engine } = loaded.result;
  const { dtype } = model;
  for (const [graph, used] of Object.entries(model.providers)) {
    if (used !== provider) throw new Error(`${graph} runs on ${used}, not ${provider}`);
  }
  phase(`loaded on ${provider} (${dtype}), readiness check included (${seconds(loaded.ms)})`);

  const { imageSize, imageTokens } = manifest.vision;
  const image = noiseImage(imageSize, 1);
  const rows: BenchmarkResult["rows"] = [
    ["model set", `${manifest.name} (${kind}, ${size}), ${dtype} graphs, ${dir}`],
    ["provider", `${provider} for every graph (onnxruntime-node)`],
    ["LLM", `hidden ${manifest.llm.hiddenSize}, ${manifest.llm.numLayers} layers, vocab ${manifest.llm.vocabSize}`],
    ["load + readiness check", seconds(loaded.ms)],
  ];

  // Tiny sets have the real image sizes and token counts but tiny towers.
  const [sam, siglip] = size === "real" ? ["SAM-B", "SigLIP-L"] : ["SAM (tiny tower)", "SigLIP (tiny tower)"];
  if (kind === "hybrid") {
    const samMs = await medianMs(runs, () => model.samFeatures([image]));
    rows.push([`${sam} encode, 1 image ${imageSize}px (median of ${runs})`, ms(samMs)]);
    phase(`${sam} encode ${ms(samMs)}`);
  }
  const siglipMs = await medianMs(runs, () => model.siglipFeatures([image]));
  rows.push([`${siglip} encode, 1 image (median of ${runs})`, ms(siglipMs)]);
  phase(`${siglip} encode ${ms(siglipMs)}`);
  const features = await model.siglipFeatures([image]);
  const high = kind === "hybrid" ? await model.samFeatures([image]) : undefined;
  const alignMs = await medianMs(runs, () => model.align(features, high));
  rows.push([`aligner, 1 image (median of ${runs})`, ms(alignMs)]);

  // Prefill and decode through the generation engine, as the service runs them; the image is cached first,
  // so the engine's timings separate prefill and decode from the encoders.
  const key = "gpu-host-image";
  const inputIds = [manifest.tokens.bos, ...new Array<number>(imageTokens).fill(manifest.tokens.image)];
  for (let i = 0; i < PROMPT_TEXT_TOKENS; i++) inputIds.push(300 + i);
  let generations = 0;
  const generate = (maxNewTokens: number, pixels?: Uint8Array) =>
    engine.generate({
      id: "gpu-host",
      // Each run its own namespace: these figures are of cold prefills, never a reused prefix.
      cacheNamespace: `gpu-host-${generations++}`,
      topLogprobs: 0,
      inputIds,
      images: [{ key, pixels }],
      imageStarts: [1],
      sampling: { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1 },
      rng: new SequenceRng(0n),
      maxNewTokens,
      stopTokenIds: new Set(),
      signal: new AbortController().signal,
      onToken() {},
    });
  await generate(1, image);
  const prefills: number[] = [];
  for (let i = 0; i < runs; i++) prefills.push((await generate(1)).timings.prefillMs);
  const prefillMs = median(prefills);
  rows.push([`prefill, ${inputIds.length} tokens (1 image + ${PROMPT_TEXT_TOKENS} text), B=1 (median of ${runs})`, ms(prefillMs)]);
  phase(`prefill ${ms(prefillMs)}`);

  const rates: number[] = [];
  for (let i = 0; i < runs; i++) {
    const result = await generate(options.decodeTokens);
    rates.push((result.completionTokens - 1) / (result.timings.decodeMs / 1000));
  }
  const tokensPerSecond = median(rates);
  rows.push([
    `decode, B=1, ${options.decodeTokens} tokens after the prefill (median of ${runs})`,
    `${tokensPerSecond.toFixed(1)} tokens/s  (${ms(1000 / tokensPerSecond)} per token)`,
  ]);
  phase(`decode ${tokensPerSecond.toFixed(1)} tokens/s`);

  const weights = decodeWeightBytes(manifest.llm, dtype);
  const context = inputIds.length + options.decodeTokens / 2;
  rows.push([
    "bytes read per decode step (weights + lm_head + embedding row)",
    `${bytes(weights)} (decoder graph on disk: ${bytes(await decoderFileBytes(dir, dtype))})`,
  ]);
  rows.push([`KV cache per step at ~${context} positions (not in the bound)`, bytes(kvCacheBytes(manifest.llm, dtype, context))]);
  if (options.bandwidthGBps === undefined) {
    rows.push(["memory-bandwidth bound", "pass --bandwidth GBps (the device's memory bandwidth) for the bound and the ratio"]);
  } else {
    const bound = (options.bandwidthGBps * 1e9) / weights;
    rows.push([`memory-bandwidth bound at ${options.bandwidthGBps} GB/s`, `${bound.toFixed(1)} tokens/s`]);
    rows.push(["decode / bound", `${(tokensPerSecond / bound).toFixed(3)}`]);
  }
  const total = performance.now() - started;
  rows.push(["total elapsed (budget 8 min)", `${seconds(total)}${total > BUDGET_MS ? "  OVER BUDGET" : ""}`]);
  return { name: `GPU host: ${kind} ${size} on ${provider}`, rows };
}

try {
  const options = parseOptions(process.argv.slice(2));
  const result = await run(options);
  console.log();
  console.log(formatResult(result));
} catch (error) {
  if (error instanceof UsageError) {
    console.error(`bench:gpu: ${error.message}\n${USAGE}`);
    process.exit(2);
  }
  console.error(`bench:gpu: ${(error as Error).message}`);
  process.exit(1);
}
