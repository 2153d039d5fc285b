// ONNX graphs (onnxruntime-node, CPU, fp32) against the plain-TypeScript reference, on tiny random fixtures
// written and converted by the converter (hybrid = 7B layout, siglip = 1.3B layout; real image sizes, window
// and token counts, tiny widths and depths, the real 102400-row vocabulary).
//
// Tolerances, for every compared tensor; in brackets the worst value seen on the seed-0 fixtures:
// - cosine similarity ≥ 0.99999                               [1 − cos ≤ 2.1e-12]
// - max |onnx − reference| ≤ 1e-4 · max(1, max |reference|)   [1.05e-5 at scale 3.9: SigLIP behind the
//                                                             1024 → 384 resize; SAM 1.9e-6; aligner 5.8e-7;
//                                                             logits ≤ 7.7e-6 after the 576 image tokens]
// - embed_tokens: exact; greedy decoding: identical tokens (the top-2 logit margins here are ≥ 0.03, far
//   above the errors).
// Both sides use torch's float32 resize weights; what remains is onnxruntime's fp32 accumulation against the
// reference's float64.

import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertCheckpoint } from "../../converter/convert.ts";
import { writeFixture } from "../../converter/fixture/index.ts";
import { GRAPH_IO, KV_SIDES, pastName, presentName } from "../../shared/manifest/index.ts";
import {
  argmax,
  cosineSimilarity,
  embedTokens,
  greedyGenerate,
  hybridImagePath,
  type ImagePath,
  type LlamaConfig,
  llamaConfigFromLanguageConfig,
  llamaLogits,
  loadCheckpoint,
  maxAbs,
  maxAbsDifference,
  mergeImageEmbeddings,
  type PixelBatch,
  siglipImagePath,
  type Tensor64,
  type WeightLookup,
} from "./index.ts";

const COSINE_MIN = 0.99999;
const MAX_ABS_RELATIVE = 1e-4;

const BOS = 100000;
const IMAGE = 100015;
const IMAGE_TOKENS = 576;
const GREEDY_STEPS = 4;

function expectClose(name: string, onnx: ArrayLike<number>, reference: ArrayLike<number>): void {
  const cosine = cosineSimilarity(onnx, reference);
  const difference = maxAbsDifference(onnx, reference);
  const bound = MAX_ABS_RELATIVE * Math.max(1, maxAbs(reference));
  expect(cosine, `${name}: cosine ${cosine}`).toBeGreaterThanOrEqual(COSINE_MIN);
  expect(difference, `${name}: max-abs ${difference} > ${bound}`).toBeLessThanOrEqual(bound);
}

/** Two different pseudo-random uint8 images, [2,3,S,S]. */
function pixelBatch(side: number): PixelBatch {
  const data = Uint8Array.from({ length: 2 * 3 * side * side }, (_, i) => ((Math.imul(i, 2654435761) >>> 24) ^ (i >>> 9)) & 0xff);
  return { shape: [2, 3, side, side], data };
}

const f32 = (x: Tensor64) => new ort.Tensor("float32", Float32Array.from(x.data), x.shape);
const ids64 = (ids: readonly number[]) => BigInt64Array.from(ids.map(BigInt));

/** One converted fixture: ONNX sessions, the reference weights and the reference's reading of config.json. */
interface Model {
  dir: string;
  weights: WeightLookup;
  config: Record<string, any>;
  llm: LlamaConfig;
  session(graph: string): Promise<ort.InferenceSession>;
}

async function prepare(root: string, kind: "hybrid" | "siglip"): Promise<Model> {
  const checkpoint = join(root, `${kind}-checkpoint`);
  const dir = join(root, `${kind}-onnx`);
  await writeFixture(checkpoint, { kind, size: "tiny" });
  await convertCheckpoint(checkpoint, dir, { dtypes: ["fp32"], decoder: { logits: "all" } });
  const config = JSON.parse(await readFile(join(checkpoint, "config.json"), "utf8")) as Record<string, any>;
  const sessions = new Map<string, Promise<ort.InferenceSession>>();
  return {
    dir,
    weights: await loadCheckpoint(checkpoint),
    config,
    llm: llamaConfigFromLanguageConfig(config.language_config),
    session: (graph) => {
      if (!sessions.has(graph)) sessions.set(graph, ort.InferenceSession.create(join(dir, `${graph}.onnx`)));
      return sessions.get(graph)!;
    },
  };
}

const { siglip_encoder: SIGLIP, sam_encoder: SAM, aligner: ALIGNER, embed_tokens: EMBED, decoder_model_merged: DECODER } = GRAPH_IO;
const logitsOf = (outputs: Record<string, ort.Tensor>) => outputs[DECODER.outputs.logits]!;

async function run(model: Model, graph: string, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  return (await model.session(graph)).run(feeds);
}

function emptyPast(llm: LlamaConfig, batch: number): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (let l = 0; l < llm.numLayers; l++) {
    for (const kv of KV_SIDES) {
      feeds[pastName(l, kv)] = new ort.Tensor("float32", new Float32Array(0), [batch, llm.numKeyValueHeads, 0, llm.headDim]);
    }
  }
  return feeds;
}

function presentsAsPast(llm: LlamaConfig, outputs: Record<string, ort.Tensor>): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (let l = 0; l < llm.numLayers; l++) {
    for (const kv of KV_SIDES) feeds[pastName(l, kv)] = outputs[presentName(l, kv)]!;
  }
  return feeds;
}

/** Row `row` of logits [B, T, V] at position `t`. */
function logitsAt(logits: ort.Tensor, row: number, t: number): Float32Array {
  const [, steps, vocab] = logits.dims as [number, number, number];
  const data = logits.data as Float32Array;
  return data.subarray((row * steps + t) * vocab, (row * steps + t + 1) * vocab);
}

/**
 * Greedy decoding through the graphs with the KV cache: embed_tokens, the image merge, one prefill, then one
 * token per step (positions continue, the mask grows, past = present).
 */
async function onnxGreedy(
  model: Model,
  ids: readonly number[],
  imageEmbeds: Tensor64 | undefined,
  steps: number,
): Promise<{ tokens: number[]; logits: Float32Array[] }> {
  const hidden = model.llm.hiddenSize;
  const embedded = (await run(model, "embed_tokens", { [EMBED.inputs.ids]: new ort.Tensor("int64", ids64(ids), [1, ids.length]) }))[
    EMBED.outputs.embeds
  ]!;
  let embeds: Float64Array = Float64Array.from(embedded.data as Float32Array);
  if (imageEmbeds !== undefined) embeds = mergeImageEmbeddings(embeds, ids, IMAGE, imageEmbeds);
  let feeds: Record<string, ort.Tensor> = {
    [DECODER.inputs.embeds]: new ort.Tensor("float32", Float32Array.from(embeds), [1, ids.length, hidden]),
    [DECODER.inputs.attentionMask]: new ort.Tensor("int64", new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
    [DECODER.inputs.positions]: new ort.Tensor("int64", ids64(ids.map((_, i) => i)), [1, ids.length]),
    ...emptyPast(model.llm, 1),
  };
  const tokens: number[] = [];
  const logits: Float32Array[] = [];
  for (let step = 0; step < steps; step++) {
    const out = await run(model, "decoder_model_merged", feeds);
    const last = logitsAt(logitsOf(out), 0, logitsOf(out).dims[1]! - 1);
    const next = argmax(last);
    tokens.push(next);
    logits.push(Float32Array.from(last));
    const length = ids.length + tokens.length;
    const nextEmbeds = (await run(model, "embed_tokens", { [EMBED.inputs.ids]: new ort.Tensor("int64", ids64([next]), [1, 1]) }))[
      EMBED.outputs.embeds
    ]!;
    feeds = {
      [DECODER.inputs.embeds]: nextEmbeds,
      [DECODER.inputs.attentionMask]: new ort.Tensor("int64", new BigInt64Array(length).fill(1n), [1, length]),
      [DECODER.inputs.positions]: new ort.Tensor("int64", ids64([length - 1]), [1, 1]),
      ...presentsAsPast(model.llm, out),
    };
  }
  return { tokens, logits };
}

/** BOS, some text, the image's 576 placeholder tokens, more text (reference §8.2 layout). */
function promptWithImage(): number[] {
  return [BOS, 31, 4242, 17, ...new Array<number>(IMAGE_TOKENS).fill(IMAGE), 900, 12, 77];
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "reference-parity-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("hybrid (7B layout) graphs vs reference", () => {
  let model: Model;
  const pixels = pixelBatch(1024);
  let reference: ImagePath;

  beforeAll(async () => {
    model = await prepare(root, "hybrid");
    const high = model.config.vision_config.params.high_res_cfg;
    const low = model.config.vision_config.params.low_res_cfg;
    reference = hybridImagePath(model.weights, pixels, {
      sam: { globalAttnIndexes: high.encoder_global_attn_indexes ?? [2, 5, 8, 11] },
      siglip: { heads: low.heads ?? 16 },
    });
  });

  const pixelFeed = () => ({ [SIGLIP.inputs.pixels]: new ort.Tensor("uint8", pixels.data, pixels.shape) });

  it("sam_encoder: uint8 [2,3,1024,1024] → [2,576,F]", async () => {
    const out = (await run(model, "sam_encoder", pixelFeed()))[SAM.outputs.features]!;
    expect(out.dims).toEqual(reference.high!.shape);
    expectClose("sam_encoder", out.data as Float32Array, reference.high!.data);
  });

  it("siglip_encoder: uint8 [2,3,1024,1024] → antialiased resize to 384 → [2,576,F]", async () => {
    const out = (await run(model, "siglip_encoder", pixelFeed()))[SIGLIP.outputs.features]!;
    expect(out.dims).toEqual(reference.low.shape);
    expectClose("siglip_encoder", out.data as Float32Array, reference.low.data);
  });

  it("aligner: (high, low) features → image embeddings", async () => {
    const out = (
      await run(model, "aligner", { [ALIGNER.inputs.highRes]: f32(reference.high!), [ALIGNER.inputs.lowRes]: f32(reference.low) })
    )[ALIGNER.outputs.embeds]!;
    expect(out.dims).toEqual(reference.embeds.shape);
    expectClose("aligner", out.data as Float32Array, reference.embeds.data);
  });

  it("embed_tokens: ids → rows of the table", async () => {
    const ids = [BOS, 5, 100001, IMAGE, 102399];
    const out = (await run(model, "embed_tokens", { [EMBED.inputs.ids]: new ort.Tensor("int64", ids64(ids), [1, ids.length]) }))[
      EMBED.outputs.embeds
    ]!;
    expect(Array.from(out.data as Float32Array)).toEqual(Array.from(embedTokens(model.weights, model.llm, ids)));
  });

  it("decoder_model_merged: prefill logits, then cached steps, equal full recomputation", async () => {
    const ids = [BOS, 8, 1500, 42, 99999, 7, 3, 640, 11, 250];
    const embeds = embedTokens(model.weights, model.llm, ids);
    const reference = llamaLogits(model.weights, model.llm, embeds, { positions: ids.map((_, i) => i) });
    const vocab = model.llm.vocabSize;
    const hidden = model.llm.hiddenSize;
    // Prefill the first 7 tokens, then feed the last 3 one at a time through the cache.
    const prefill = 7;
    let out = await run(model, "decoder_model_merged", {
      [DECODER.inputs.embeds]: new ort.Tensor("float32", Float32Array.from(embeds.subarray(0, prefill * hidden)), [1, prefill, hidden]),
      [DECODER.inputs.attentionMask]: new ort.Tensor("int64", new BigInt64Array(prefill).fill(1n), [1, prefill]),
      [DECODER.inputs.positions]: new ort.Tensor("int64", ids64([0, 1, 2, 3, 4, 5, 6]), [1, prefill]),
      ...emptyPast(model.llm, 1),
    });
    expect(logitsOf(out).dims).toEqual([1, prefill, vocab]);
    expectClose("prefill logits", logitsOf(out).data as Float32Array, reference.subarray(0, prefill * vocab));
    for (let t = prefill; t < ids.length; t++) {
      out = await run(model, "decoder_model_merged", {
        [DECODER.inputs.embeds]: new ort.Tensor("float32", Float32Array.from(embeds.subarray(t * hidden, (t + 1) * hidden)), [
          1,
          1,
          hidden,
        ]),
        [DECODER.inputs.attentionMask]: new ort.Tensor("int64", new BigInt64Array(t + 1).fill(1n), [1, t + 1]),
        [DECODER.inputs.positions]: new ort.Tensor("int64", ids64([t]), [1, 1]),
        ...presentsAsPast(model.llm, out),
      });
      expect(out[presentName(0, "key")]!.dims).toEqual([1, model.llm.numKeyValueHeads, t + 1, model.llm.headDim]);
      expectClose(`cached step ${t}`, logitsAt(logitsOf(out), 0, 0), reference.subarray(t * vocab, (t + 1) * vocab));
    }
  });

  it("decoder_model_merged: a left-padded row (mask 0, positions from its first real token) equals its unpadded sequence", async () => {
    const full = [BOS, 8, 1500, 42, 99999, 7];
    const short = [BOS, 640, 11, 250];
    const pad = full.length - short.length;
    const hidden = model.llm.hiddenSize;
    const vocab = model.llm.vocabSize;
    const padded = [...new Array<number>(pad).fill(100001), ...short];
    const embeds = new Float32Array(2 * full.length * hidden);
    embeds.set(embedTokens(model.weights, model.llm, full));
    embeds.set(embedTokens(model.weights, model.llm, padded), full.length * hidden);
    const mask = [...full.map(() => 1n), ...padded.map((_, i) => (i < pad ? 0n : 1n))];
    const positions = [...full.map((_, i) => i), ...padded.map((_, i) => Math.max(i - pad, 0))];
    const out = await run(model, "decoder_model_merged", {
      [DECODER.inputs.embeds]: new ort.Tensor("float32", embeds, [2, full.length, hidden]),
      [DECODER.inputs.attentionMask]: new ort.Tensor("int64", BigInt64Array.from(mask), [2, full.length]),
      [DECODER.inputs.positions]: new ort.Tensor("int64", ids64(positions), [2, full.length]),
      ...emptyPast(model.llm, 2),
    });
    const reference = llamaLogits(model.weights, model.llm, embedTokens(model.weights, model.llm, short), {
      positions: short.map((_, i) => i),
    });
    for (let t = 0; t < short.length; t++) {
      expectClose(`padded row, token ${t}`, logitsAt(logitsOf(out), 1, pad + t), reference.subarray(t * vocab, (t + 1) * vocab));
    }
    const fullReference = llamaLogits(model.weights, model.llm, embedTokens(model.weights, model.llm, full), {
      positions: full.map((_, i) => i),
    });
    expectClose("unpadded row", (logitsOf(out).data as Float32Array).subarray(0, full.length * vocab), fullReference);
  });

  it("whole path: pixels → adaptor output, then ids + image → identical greedy tokens", async () => {
    const high = (await run(model, "sam_encoder", pixelFeed()))[SAM.outputs.features]!;
    const low = (await run(model, "siglip_encoder", pixelFeed()))[SIGLIP.outputs.features]!;
    const embeds = (await run(model, "aligner", { [ALIGNER.inputs.highRes]: high, [ALIGNER.inputs.lowRes]: low }))[ALIGNER.outputs.embeds]!;
    expectClose("adaptor output", embeds.data as Float32Array, reference.embeds.data);

    // The first image of the batch goes into the prompt.
    const first = (shape: readonly number[], data: ArrayLike<number>): Tensor64 => {
      const size = shape[1]! * shape[2]!;
      return { shape: [1, shape[1]!, shape[2]!], data: Float64Array.from({ length: size }, (_, i) => data[i]!) };
    };
    const ids = promptWithImage();
    const onnx = await onnxGreedy(model, ids, first(embeds.dims, embeds.data as Float32Array), GREEDY_STEPS);
    const expected = greedyGenerate(model.weights, model.llm, {
      inputIds: ids,
      imageEmbeds: first(reference.embeds.shape, reference.embeds.data),
      imageTokenId: IMAGE,
      maxNewTokens: GREEDY_STEPS,
    });
    expect(onnx.tokens).toEqual(expected.tokens);
    onnx.logits.forEach((logits, step) => expectClose(`greedy step ${step} logits`, logits, expected.stepLogits[step]!));
  });
});

describe("siglip (1.3B layout) graphs vs reference", () => {
  let model: Model;
  const pixels = pixelBatch(384);
  let reference: ImagePath;

  beforeAll(async () => {
    model = await prepare(root, "siglip");
    reference = siglipImagePath(model.weights, pixels, { heads: model.config.vision_config.params.heads ?? 16 });
  });

  it("siglip_encoder: uint8 [2,3,384,384] → [2,576,F]", async () => {
    const out = (await run(model, "siglip_encoder", { [SIGLIP.inputs.pixels]: new ort.Tensor("uint8", pixels.data, pixels.shape) }))[
      SIGLIP.outputs.features
    ]!;
    expect(out.dims).toEqual(reference.low.shape);
    expectClose("siglip_encoder", out.data as Float32Array, reference.low.data);
  });

  it("aligner (mlp_gelu): features → image embeddings", async () => {
    const out = (await run(model, "aligner", { [ALIGNER.inputs.lowRes]: f32(reference.low) }))[ALIGNER.outputs.embeds]!;
    expect(out.dims).toEqual(reference.embeds.shape);
    expectClose("aligner", out.data as Float32Array, reference.embeds.data);
  });

  it("whole path: pixels → adaptor output → identical greedy tokens", async () => {
    const low = (
      await run(model, "siglip_encoder", {
        [SIGLIP.inputs.pixels]: new ort.Tensor("uint8", pixels.data.subarray(0, 3 * 384 * 384), [1, 3, 384, 384]),
      })
    )[SIGLIP.outputs.features]!;
    const embeds = (await run(model, "aligner", { [ALIGNER.inputs.lowRes]: low }))[ALIGNER.outputs.embeds]!;
    const firstReference: Tensor64 = {
      shape: [1, ...reference.embeds.shape.slice(1)],
      data: reference.embeds.data.subarray(0, embeds.data.length),
    };
    expectClose("adaptor output", embeds.data as Float32Array, firstReference.data);
    const ids = promptWithImage();
    const onnx = await onnxGreedy(
      model,
      ids,
      { shape: embeds.dims as number[], data: Float64Array.from(embeds.data as Float32Array) },
      GREEDY_STEPS,
    );
    const expected = greedyGenerate(model.weights, model.llm, {
      inputIds: ids,
      imageEmbeds: firstReference,
      imageTokenId: IMAGE,
      maxNewTokens: GREEDY_STEPS,
    });
    expect(onnx.tokens).toEqual(expected.tokens);
    onnx.logits.forEach((logits, step) => expectClose(`greedy step ${step} logits`, logits, expected.stepLogits[step]!));
  });
});
