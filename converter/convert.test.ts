import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GRAPH_IO, KV_SIDES, parseManifest, pastName, presentName } from "../shared/manifest/index.ts";
import { readSafetensorsHeader } from "./checkpoint/index.ts";
import { convertCheckpoint } from "./convert.ts";
import { ensureDefaultModel } from "./default-model.ts";
import { writeFixture } from "./fixture/index.ts";
import { float32ToFloat16Bits } from "./onnx/index.ts";

// Tiny fixtures (reference layout, tiny towers, hidden 16, 2 layers, vocab 102400) converted once per file.
let root: string;
const ckpt = (name: string) => join(root, "ckpt", name);
const model = (name: string) => join(root, "models", name);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "convert-test-"));
  await writeFixture(ckpt("hybrid"), { kind: "hybrid", size: "tiny", seed: 1 });
  await writeFixture(ckpt("siglip"), { kind: "siglip", size: "tiny", seed: 2 });
  await convertCheckpoint(ckpt("hybrid"), model("hybrid"), { dtypes: ["fp32", "fp16"], name: "tiny-hybrid", decoder: { logits: "all" } });
  await convertCheckpoint(ckpt("siglip"), model("siglip"), { decoder: { logits: "all" } });
}, 120_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const sessions = new Map<string, Promise<ort.InferenceSession>>();
function session(path: string): Promise<ort.InferenceSession> {
  let s = sessions.get(path);
  if (!s) sessions.set(path, (s = ort.InferenceSession.create(path)));
  return s;
}

type Feeds = Record<string, ort.Tensor>;
const { siglip_encoder: SIGLIP, sam_encoder: SAM, aligner: ALIGNER, embed_tokens: EMBED, decoder_model_merged: DECODER } = GRAPH_IO;
const logitsOf = (outputs: Feeds) => outputs[DECODER.outputs.logits]!;
const f32 = (data: number[] | Float32Array, dims: number[]) => new ort.Tensor("float32", Float32Array.from(data), dims);
const i64 = (data: number[], dims: number[]) => new ort.Tensor("int64", BigInt64Array.from(data.map(BigInt)), dims);
const values = (t: ort.Tensor) => [...(t.data as Float32Array)];
const maxDiff = (a: number[], b: number[]) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
const pixels = (n: number, size: number, seed = 0) =>
  new ort.Tensor(
    "uint8",
    Uint8Array.from({ length: n * 3 * size * size }, (_, i) => (Math.imul(i + seed, 2654435761) >>> 24) & 0xff),
    [n, 3, size, size],
  );

const HIDDEN = 16;
const KV_HEADS = 2;
const HEAD_DIM = 8;
const LAYERS = 2;
const VOCAB = 102400;

/** Decoder feeds for embeddings [B,T,H] with an explicit past (length P). */
function decoderFeeds(
  embeds: number[],
  batch: number,
  mask: number[],
  positions: number[],
  past?: Record<string, ort.Tensor>,
  pastLength = 0,
): Feeds {
  const t = embeds.length / batch / HIDDEN;
  const feeds: Feeds = {
    [DECODER.inputs.embeds]: f32(embeds, [batch, t, HIDDEN]),
    [DECODER.inputs.attentionMask]: i64(mask, [batch, mask.length / batch]),
    [DECODER.inputs.positions]: i64(positions, [batch, t]),
  };
  for (let i = 0; i < LAYERS; i++) {
    for (const kind of KV_SIDES) {
      feeds[pastName(i, kind)] = past?.[presentName(i, kind)] ?? f32([], [batch, KV_HEADS, pastLength, HEAD_DIM]);
    }
  }
  return feeds;
}

const embedsFor = (tokens: number, seed: number) => Array.from({ length: tokens * HIDDEN }, (_, i) => Math.sin((i + 1) * (seed + 0.37)));
const rows = (t: ort.Tensor, from: number, to: number) => values(t).slice(from * VOCAB, to * VOCAB);

describe("converted model directory", () => {
  it("holds the graphs of its kind, tokenizer files and a valid manifest", async () => {
    const files = (await readdir(model("hybrid"))).sort();
    expect(files).toEqual(
      [
        "aligner.onnx",
        "aligner_fp16.onnx",
        "decoder_model_merged.onnx",
        "decoder_model_merged_fp16.onnx",
        "decoder_serving.onnx",
        "decoder_serving_fp16.onnx",
        "embed_tokens.onnx",
        "embed_tokens_fp16.onnx",
        "kv_join.onnx",
        "kv_join_fp16.onnx",
        "kv_select.onnx",
        "kv_select_fp16.onnx",
        "logits_rows.onnx",
        "logits_rows_fp16.onnx",
        "manifest.json",
        "sam_encoder.onnx",
        "sam_encoder_fp16.onnx",
        "siglip_encoder.onnx",
        "siglip_encoder_fp16.onnx",
        "special_tokens_map.json",
        "tokenizer.json",
        "tokenizer_config.json",
      ].sort(),
    );
    const manifest = parseManifest(await readFile(join(model("hybrid"), "manifest.json"), "utf8"));
    expect(manifest).toMatchObject({
      kind: "hybrid",
      name: "tiny-hybrid",
      dtypes: ["fp32", "fp16"],
      tokens: { bos: 100000, eos: 100001, pad: 100001, image: 100015 },
      template: "deepseek",
      tokenizer: "tokenizer.json",
      vision: { imageSize: 1024, minSize: 14, padColor: [122, 116, 104], imageTokens: 576, featureDim: 32 },
      llm: {
        hiddenSize: 16,
        numLayers: 2,
        numHeads: 2,
        numKeyValueHeads: 2,
        headDim: 8,
        vocabSize: 102400,
        ropeTheta: 10000,
        rmsNormEps: 1e-6,
        contextLength: 4096,
      },
    });
    const siglip = parseManifest(await readFile(join(model("siglip"), "manifest.json"), "utf8"));
    expect(siglip).toMatchObject({ kind: "siglip", name: "siglip", vision: { imageSize: 384, padColor: [127, 127, 127] } });
    expect(await readdir(model("siglip"))).not.toContain("sam_encoder.onnx");
    expect((await readdir(join(root, "models"))).filter((n) => n.startsWith("."))).toEqual([]);
  });

  it("has a revision that follows the content", async () => {
    const again = await convertCheckpoint(ckpt("siglip"), join(root, "models", "siglip-again"), { decoder: { logits: "all" } });
    const original = parseManifest(await readFile(join(model("siglip"), "manifest.json"), "utf8"));
    expect(again.revision).toBe(original.revision);
    await writeFixture(ckpt("siglip-seed3"), { kind: "siglip", size: "tiny", seed: 3 });
    const other = await convertCheckpoint(ckpt("siglip-seed3"), join(root, "models", "siglip-seed3"));
    expect(other.revision).not.toBe(original.revision);
  });
});

describe("vision graphs", () => {
  it("encode uint8 pixels into finite [N,576,F] features, per image", async () => {
    for (const [kind, size] of [
      ["hybrid", 1024],
      ["siglip", 384],
    ] as const) {
      const encoder = await session(join(model(kind), "siglip_encoder.onnx"));
      const both = (await encoder.run({ [SIGLIP.inputs.pixels]: pixels(2, size) }))[SIGLIP.outputs.features]!;
      expect(both.dims).toEqual([2, 576, 32]);
      expect(values(both).every(Number.isFinite)).toBe(true);
      // Batch items are independent: the first image alone gives the same features.
      const one = (
        await encoder.run({
          [SIGLIP.inputs.pixels]: new ort.Tensor("uint8", (pixels(2, size).data as Uint8Array).slice(0, 3 * size * size), [
            1,
            3,
            size,
            size,
          ]),
        })
      )[SIGLIP.outputs.features]!;
      expect(maxDiff(values(one), values(both).slice(0, 576 * 32))).toBeLessThan(1e-4);
    }
    const sam = await session(join(model("hybrid"), "sam_encoder.onnx"));
    const features = (await sam.run({ [SAM.inputs.pixels]: pixels(1, 1024, 5) }))[SAM.outputs.features]!;
    expect(features.dims).toEqual([1, 576, 32]);
    expect(values(features).every(Number.isFinite)).toBe(true);
  });

  it("aligns features into [N,576,H] embeddings", async () => {
    const features = f32(
      Array.from({ length: 576 * 32 }, (_, i) => Math.cos(i)),
      [1, 576, 32],
    );
    const hybrid = await session(join(model("hybrid"), "aligner.onnx"));
    const out = (await hybrid.run({ [ALIGNER.inputs.lowRes]: features, [ALIGNER.inputs.highRes]: features }))[ALIGNER.outputs.embeds]!;
    expect(out.dims).toEqual([1, 576, 16]);
    const siglip = await session(join(model("siglip"), "aligner.onnx"));
    expect((await siglip.run({ [ALIGNER.inputs.lowRes]: features }))[ALIGNER.outputs.embeds]!.dims).toEqual([1, 576, 16]);
  });

  it("fp16 graphs stay close to fp32", async () => {
    const fp32 = await session(join(model("hybrid"), "siglip_encoder.onnx"));
    const fp16 = await session(join(model("hybrid"), "siglip_encoder_fp16.onnx"));
    const input = pixels(1, 1024, 9);
    const a = values((await fp32.run({ [SIGLIP.inputs.pixels]: input }))[SIGLIP.outputs.features]!);
    const b = [...((await fp16.run({ [SIGLIP.inputs.pixels]: input }))[SIGLIP.outputs.features]!.data as Uint16Array)].map(halfToNumber);
    expect(maxDiff(a, b)).toBeLessThan(0.05);
  });

  it("the fp16 decoder takes fp16 embeddings and cache and stays close to fp32", async () => {
    const embeds = embedsFor(3, 11);
    const feeds32 = decoderFeeds(embeds, 1, [1, 1, 1], [0, 1, 2]);
    const half = (t: ort.Tensor) => new ort.Tensor("float16", Uint16Array.from(t.data as Float32Array, float32ToFloat16Bits), t.dims);
    const feeds16 = Object.fromEntries(Object.entries(feeds32).map(([k, t]) => [k, t.type === "float32" ? half(t) : t]));
    const a = await (await session(join(model("hybrid"), "decoder_model_merged.onnx"))).run(feeds32);
    const b = await (await session(join(model("hybrid"), "decoder_model_merged_fp16.onnx"))).run(feeds16);
    expect(logitsOf(b).type).toBe("float16");
    expect(b[presentName(1, "key")]!.dims).toEqual([1, KV_HEADS, 3, HEAD_DIM]);
    expect(maxDiff(values(logitsOf(a)), [...(logitsOf(b).data as Uint16Array)].map(halfToNumber))).toBeLessThan(0.05);
  });
});

/** Independent binary16 decoding (sign, exponent, mantissa). */
function halfToNumber(h: number): number {
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  const v = e === 0 ? m * 2 ** -24 : e === 31 ? (m ? NaN : Infinity) : (1 + m / 1024) * 2 ** (e - 15);
  return h & 0x8000 ? -v : v;
}

describe("embed_tokens", () => {
  it("returns the checkpoint's embedding rows", async () => {
    const embed = await session(join(model("siglip"), "embed_tokens.onnx"));
    const out = (await embed.run({ [EMBED.inputs.ids]: i64([100015, 7], [1, 2]) }))[EMBED.outputs.embeds]!;
    expect(out.dims).toEqual([1, 2, HIDDEN]);
    // Read the F16 row straight from the safetensors file.
    const { tensors } = await readSafetensorsHeader(join(ckpt("siglip"), "model.safetensors"));
    const entry = tensors.find((t) => t.name === "language_model.model.embed_tokens.weight")!;
    const bytes = await readFile(join(ckpt("siglip"), "model.safetensors"));
    const row = (id: number) =>
      Array.from({ length: HIDDEN }, (_, j) => halfToNumber(bytes.readUInt16LE(entry.begin + (id * HIDDEN + j) * 2)));
    expect(values(out)).toEqual([...row(100015), ...row(7)]);
  });
});

describe("decoder_model_merged", () => {
  const path = () => join(model("hybrid"), "decoder_model_merged.onnx");

  it("gives the same logits with a KV cache as without", async () => {
    const decoder = await session(path());
    const embeds = embedsFor(5, 1);
    const full = await decoder.run(decoderFeeds(embeds, 1, [1, 1, 1, 1, 1], [0, 1, 2, 3, 4]));
    expect(logitsOf(full).dims).toEqual([1, 5, VOCAB]);
    expect(full[presentName(1, "value")]!.dims).toEqual([1, KV_HEADS, 5, HEAD_DIM]);
    const prefix = await decoder.run(decoderFeeds(embeds.slice(0, 3 * HIDDEN), 1, [1, 1, 1], [0, 1, 2]));
    const rest = await decoder.run(decoderFeeds(embeds.slice(3 * HIDDEN), 1, [1, 1, 1, 1, 1], [3, 4], prefix, 3));
    expect(logitsOf(rest).dims).toEqual([1, 2, VOCAB]);
    expect(maxDiff(values(logitsOf(rest)), rows(logitsOf(full), 3, 5))).toBeLessThan(1e-4);
    expect(maxDiff(values(rest[presentName(0, "key")]!), values(full[presentName(0, "key")]!))).toBeLessThan(1e-5);
    expect(maxDiff(values(logitsOf(prefix)), rows(logitsOf(full), 0, 3))).toBeLessThan(1e-4);
  });

  it("is causal: later tokens do not change earlier logits", async () => {
    const decoder = await session(path());
    const a = embedsFor(4, 2);
    const b = [...a.slice(0, 3 * HIDDEN), ...embedsFor(1, 9)];
    const ra = await decoder.run(decoderFeeds(a, 1, [1, 1, 1, 1], [0, 1, 2, 3]));
    const rb = await decoder.run(decoderFeeds(b, 1, [1, 1, 1, 1], [0, 1, 2, 3]));
    expect(maxDiff(rows(logitsOf(ra), 0, 3), rows(logitsOf(rb), 0, 3))).toBe(0);
    expect(maxDiff(rows(logitsOf(ra), 3, 4), rows(logitsOf(rb), 3, 4))).toBeGreaterThan(1e-3);
  });

  it("hides keys where attention_mask is 0 (left padding in a batch)", async () => {
    const decoder = await session(path());
    const real = embedsFor(3, 3);
    const alone = await decoder.run(decoderFeeds(real, 1, [1, 1, 1], [0, 1, 2]));
    const padded = [...embedsFor(2, 7), ...real];
    const batch = await decoder.run(
      decoderFeeds([...embedsFor(5, 4), ...padded], 2, [1, 1, 1, 1, 1, 0, 0, 1, 1, 1], [0, 1, 2, 3, 4, 1, 1, 0, 1, 2]),
    );
    const second = values(logitsOf(batch)).slice(5 * VOCAB + 2 * VOCAB, 10 * VOCAB);
    expect(maxDiff(second, values(logitsOf(alone)))).toBeLessThan(1e-4);
    expect(values(logitsOf(batch)).every(Number.isFinite)).toBe(true);
  });

  it("decoder_serving: padding offsets hide what attention_mask zeros hide; it adds the top-k and log-sum-exp", async () => {
    const merged = await session(path());
    const serving = await session(join(model("hybrid"), "decoder_serving.onnx"));
    const SERVING = GRAPH_IO.decoder_serving;
    const embeds = [...embedsFor(5, 4), ...embedsFor(2, 7), ...embedsFor(3, 3)];
    const positions = [0, 1, 2, 3, 4, 1, 1, 0, 1, 2];
    const reference = await merged.run(decoderFeeds(embeds, 2, [1, 1, 1, 1, 1, 0, 0, 1, 1, 1], positions));
    const feeds = decoderFeeds(embeds, 2, [], positions);
    delete feeds[DECODER.inputs.attentionMask];
    const out = await serving.run({ ...feeds, [SERVING.inputs.padding]: i64([0, 2], [2]) });
    const lastRows = [...rows(logitsOf(reference), 4, 5), ...rows(logitsOf(reference), 9, 10)];
    expect(maxDiff(values(out[SERVING.outputs.logits]!), lastRows)).toBeLessThan(1e-5);
    for (const [b, row] of [lastRows.slice(0, VOCAB), lastRows.slice(VOCAB)].entries()) {
      const width = out[SERVING.outputs.topLogits]!.dims[1]!;
      const ids = [...(out[SERVING.outputs.topIds]!.data as BigInt64Array).slice(b * width, (b + 1) * width)].map(Number);
      const top = values(out[SERVING.outputs.topLogits]!).slice(b * width, (b + 1) * width);
      expect(top).toEqual([...row].sort((x, y) => y - x).slice(0, width));
      expect(ids.map((id) => row[id])).toEqual(top);
      const max = Math.max(...row);
      const logSumExp = max + Math.log(row.reduce((sum, v) => sum + Math.exp(v - max), 0));
      expect((out[SERVING.outputs.logSumExp]!.data as Float32Array)[b]).toBeCloseTo(logSumExp, 4);
    }
    for (const side of KV_SIDES) expect(values(out[presentName(1, side)]!)).toEqual(values(reference[presentName(1, side)]!));
  });

  it("depends on relative positions only (rotary embedding)", async () => {
    const decoder = await session(path());
    const embeds = embedsFor(4, 5);
    const base = await decoder.run(decoderFeeds(embeds, 1, [1, 1, 1, 1], [0, 1, 2, 3]));
    const shifted = await decoder.run(decoderFeeds(embeds, 1, [1, 1, 1, 1], [7, 8, 9, 10]));
    expect(maxDiff(values(logitsOf(base)), values(logitsOf(shifted)))).toBeLessThan(1e-3);
    const swapped = await decoder.run(decoderFeeds(embeds, 1, [1, 1, 1, 1], [0, 2, 1, 3]));
    expect(maxDiff(values(logitsOf(base)), values(logitsOf(swapped)))).toBeGreaterThan(1e-3);
  });

  it("emits logits for the last position only by default", async () => {
    const last = join(root, "models", "siglip-last");
    await convertCheckpoint(ckpt("siglip"), last);
    const embeds = embedsFor(3, 6);
    const full = await (await session(join(model("siglip"), "decoder_model_merged.onnx"))).run(
      decoderFeeds(embeds, 1, [1, 1, 1], [0, 1, 2]),
    );
    const only = await (await session(join(last, "decoder_model_merged.onnx"))).run(decoderFeeds(embeds, 1, [1, 1, 1], [0, 1, 2]));
    expect(logitsOf(only).dims).toEqual([1, 1, VOCAB]);
    expect(maxDiff(values(logitsOf(only)), rows(logitsOf(full), 2, 3))).toBeLessThan(1e-5);
  });
});

describe("external data", () => {
  it("stores large graphs' weights in <graph>.onnx_data and loads them unchanged", async () => {
    const dir = join(root, "models", "siglip-external");
    await convertCheckpoint(ckpt("siglip"), dir, { externalDataThreshold: 1 << 20, decoder: { logits: "all" } });
    const files = await readdir(dir);
    expect(files).toContain("decoder_model_merged.onnx_data");
    expect(files).toContain("embed_tokens.onnx_data");
    expect(files).not.toContain("aligner.onnx_data");
    expect((await stat(join(dir, "decoder_model_merged.onnx"))).size).toBeLessThan(1 << 20);
    const embeds = embedsFor(2, 8);
    const inline = await (await session(join(model("siglip"), "decoder_model_merged.onnx"))).run(decoderFeeds(embeds, 1, [1, 1], [0, 1]));
    const external = await (await session(join(dir, "decoder_model_merged.onnx"))).run(decoderFeeds(embeds, 1, [1, 1], [0, 1]));
    expect(values(logitsOf(external))).toEqual(values(logitsOf(inline)));
  });

  it("stores the LLM weights once: decoder_serving reads them from decoder_model_merged.onnx_data", async () => {
    const dir = join(root, "models", "siglip-shared");
    await convertCheckpoint(ckpt("siglip"), dir, { externalDataThreshold: 1 << 20 });
    const files = await readdir(dir);
    expect(files).toContain("decoder_model_merged.onnx_data");
    expect(files).toContain("decoder_serving.onnx");
    expect(files).not.toContain("decoder_serving.onnx_data");
    expect((await stat(join(dir, "decoder_serving.onnx"))).size).toBeLessThan(1 << 20);
    const SERVING = GRAPH_IO.decoder_serving;
    const feeds = decoderFeeds(embedsFor(2, 8), 1, [], [0, 1]);
    delete feeds[DECODER.inputs.attentionMask];
    feeds[SERVING.inputs.padding] = i64([0], [1]);
    const inline = await (await session(join(model("siglip"), "decoder_serving.onnx"))).run(feeds);
    const shared = await (await session(join(dir, "decoder_serving.onnx"))).run(feeds);
    expect(values(shared[SERVING.outputs.logits]!)).toEqual(values(inline[SERVING.outputs.logits]!));
  });
});

describe("checkpoint dtypes", () => {
  it.each(["BF16", "F32"] as const)("converts %s checkpoints", async (dtype) => {
    const source = ckpt(`siglip-${dtype}`);
    await writeFixture(source, { kind: "siglip", size: "tiny", seed: 2, dtype, shards: 2 });
    const dir = join(root, "models", `siglip-${dtype}`);
    await convertCheckpoint(source, dir);
    const embed = await session(join(dir, "embed_tokens.onnx"));
    const out = values((await embed.run({ [EMBED.inputs.ids]: i64([3], [1, 1]) }))[EMBED.outputs.embeds]!);
    const reference = values(
      (await (await session(join(model("siglip"), "embed_tokens.onnx"))).run({ [EMBED.inputs.ids]: i64([3], [1, 1]) }))[
        EMBED.outputs.embeds
      ]!,
    );
    // Same random values stored at another precision: bf16 keeps 8 mantissa bits, f16 10.
    expect(maxDiff(out, reference)).toBeLessThan(dtype === "BF16" ? 1e-2 : 1e-3);
  });
});

/** Rewrites a single-file checkpoint's tensors through `edit` (drop, add, reshape or retype entries). */
async function editedCheckpoint(
  name: string,
  edit: (tensors: { name: string; dtype: string; shape: number[]; data: Buffer }[]) => void,
): Promise<string> {
  const dir = ckpt(name);
  await cp(ckpt("siglip"), dir, { recursive: true });
  const file = join(dir, "model.safetensors");
  const bytes = await readFile(file);
  const { tensors } = await readSafetensorsHeader(file);
  const list = tensors.map((t) => ({
    name: t.name,
    dtype: t.dtype,
    shape: t.shape,
    data: bytes.subarray(t.begin, t.begin + t.byteLength),
  }));
  edit(list);
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const t of list) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  await writeFile(file, Buffer.concat([prefix, json, ...list.map((t) => t.data)]));
  return dir;
}

describe("conversion errors", () => {
  const expectNoOutput = async (target: string) => {
    await expect(stat(target)).rejects.toThrow();
    expect((await readdir(join(root, "models"))).filter((n) => n.includes(".partial"))).toEqual([]);
  };

  it.each([
    [
      "a missing tensor",
      (l: any[]) =>
        l.splice(
          l.findIndex((t) => t.name === "aligner.layers.2.bias"),
          1,
        ),
      /missing tensor aligner.layers.2.bias \(expected shape \[16\]\)/,
    ],
    [
      "an unexpected tensor",
      (l: any[]) => l.push({ name: "vision_model.extra.weight", dtype: "F16", shape: [2], data: Buffer.alloc(4) }),
      /unexpected tensor vision_model.extra.weight/,
    ],
    [
      "a mis-shaped tensor",
      (l: any[]) => (l.find((t) => t.name === "vision_model.vision_tower.pos_embed").shape = [576, 32]),
      /tensor vision_model.vision_tower.pos_embed has shape \[576,32\], expected \[1,576,32\]/,
    ],
    [
      "a non-float tensor",
      (l: any[]) => (l.find((t) => t.name === "language_model.model.norm.weight").dtype = "I16"),
      /tensor language_model.model.norm.weight has dtype I16; expected F16, BF16 or F32/,
    ],
  ])("names %s", async (label, edit, message) => {
    const dir = await editedCheckpoint(`edit-${label.replaceAll(" ", "-")}`, edit);
    const target = join(root, "models", `bad-${label.replaceAll(" ", "-")}`);
    await expect(convertCheckpoint(dir, target)).rejects.toThrow(message);
    await expectNoOutput(target);
  });

  it("reports a truncated safetensors file", async () => {
    const dir = ckpt("truncated");
    await cp(ckpt("siglip"), dir, { recursive: true });
    await truncate(join(dir, "model.safetensors"), 100);
    const target = join(root, "models", "bad-truncated");
    await expect(convertCheckpoint(dir, target)).rejects.toThrow(/model.safetensors: truncated or corrupt safetensors header/);
    await expectNoOutput(target);
  });

  it("reports unsupported model names and projector types from config.json", async () => {
    const dir = ckpt("bad-config");
    await cp(ckpt("siglip"), dir, { recursive: true });
    const config = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
    config.aligner_config.params.projector_type = "linear";
    await writeFile(join(dir, "config.json"), JSON.stringify(config));
    await expect(convertCheckpoint(dir, join(root, "models", "bad-config"))).rejects.toThrow(/projector_type "linear" is not supported/);
    config.aligner_config.params.projector_type = "mlp_gelu";
    config.vision_config.params.model_name = "siglip_so400m_patch14_384";
    await writeFile(join(dir, "config.json"), JSON.stringify(config));
    await expect(convertCheckpoint(dir, join(root, "models", "bad-config"))).rejects.toThrow(
      /model_name "siglip_so400m_patch14_384" is not supported/,
    );
  });

  it("leaves nothing behind when interrupted mid-way", async () => {
    const target = join(root, "models", "interrupted");
    let calls = 0;
    const failing = convertCheckpoint(ckpt("hybrid"), target, {
      onProgress: () => {
        if (++calls === 20) throw new Error("disk full");
      },
    });
    await expect(failing).rejects.toThrow("disk full");
    await expectNoOutput(target);
  });

  it("refuses to replace a non-empty directory unless asked, then replaces it whole", async () => {
    const target = join(root, "models", "occupied");
    await mkdir(target, { recursive: true });
    await writeFile(join(target, "stale.txt"), "x");
    await expect(convertCheckpoint(ckpt("siglip"), target)).rejects.toThrow(/already exists and is not empty/);
    await convertCheckpoint(ckpt("siglip"), target, { overwrite: true });
    expect(await readdir(target)).not.toContain("stale.txt");
    expect(await readdir(target)).toContain("manifest.json");
  });
});

describe("ensureDefaultModel", () => {
  it("generates and converts the tiny model once, then reuses it", async () => {
    const dir = join(root, "default");
    const first = await ensureDefaultModel(dir, { kind: "siglip" });
    expect(first).toMatchObject({ kind: "siglip", name: "deepseek-vl-tiny-siglip" });
    const { mtimeMs } = await stat(join(dir, "manifest.json"));
    const second = await ensureDefaultModel(dir, { kind: "siglip" });
    expect(second.revision).toBe(first.revision);
    expect((await stat(join(dir, "manifest.json"))).mtimeMs).toBe(mtimeMs);
  });
});
