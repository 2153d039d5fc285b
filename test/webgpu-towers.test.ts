// The full-size vision towers (SAM-B, SigLIP-L) and the aligner on onnxruntime's WebGPU provider (here the
// software Vulkan device, lavapipe) against its CPU provider, on one image. WebGPU computes a tensor past
// the device's storage-buffer binding range (128 MiB) silently wrong, so this fails for a tower graph that
// builds one (converter/README.md "Tensor size on accelerators"): SAM-B with all 12 heads' global-attention
// logits in one tensor (768 MiB) gave cosine 0.904, max-abs 2.44 at scale 4.8.
//
// Tolerances; in brackets the worst values measured here (lavapipe, fp32, seed-0 fixture):
// - cosine similarity ≥ 0.99999                               [1 − cos ≤ 1.7e-12]
// - max |webgpu − cpu| ≤ 1e-3 · max(1, max |cpu|)             [sam 1.4e-5 at scale 4.8, siglip 4.7e-6 at
//                                                             scale 4.5, aligner 1.5e-6 at scale 2.6]
// Both sides compute in float32; what remains is their different accumulation orders. lavapipe is slow:
// SAM-B takes 5 to 9 minutes on it with two cores.

import { createHash } from "node:crypto";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { BENCH_CACHE, benchModel } from "../bench/models.ts";
import { ROOT } from "../processes/index.ts";
import { GRAPH_IO } from "../shared/manifest/index.ts";
import { cosineSimilarity, maxAbs, maxAbsDifference } from "./reference/index.ts";

const COSINE_MIN = 0.99999;
const MAX_ABS_RELATIVE = 1e-3;
const SIDE = 1024;
const { siglip_encoder: SIGLIP, sam_encoder: SAM, aligner: ALIGNER } = GRAPH_IO;

/** SHA-256 of the converter's sources (tests aside): the cached model set is converted again when they change. */
async function converterSources(): Promise<string> {
  const root = join(ROOT, "converter");
  const files = (await readdir(root, { recursive: true })).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts")).sort();
  const hash = createHash("sha256");
  for (const file of files) hash.update(`${file}\0`).update(await readFile(join(root, file)));
  return hash.digest("hex");
}

/** The converter benchmark's full-size-vision hybrid model set (bench/converter.ts), fp32, kept current. */
async function visionModel(): Promise<string> {
  const dir = join(BENCH_CACHE, "hybrid-vision");
  const stamp = `${dir}.converter-sha256`;
  const sources = await converterSources();
  if ((await readFile(stamp, "utf8").catch(() => "")) !== sources) {
    await rm(dir, { recursive: true, force: true });
    await benchModel(dir, { kind: "hybrid", size: "vision" });
    await writeFile(stamp, sources);
  }
  return dir;
}

/** A smooth per-channel gradient with a 64-pixel checkerboard and ripples on it, [1,3,S,S]. */
function testImage(): ort.Tensor {
  const data = new Uint8Array(3 * SIDE * SIDE);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < SIDE; y++) {
      for (let x = 0; x < SIDE; x++) {
        const gradient = (200 * ((c + 1) * x + (3 - c) * y)) / (4 * (SIDE - 1));
        const checker = ((x >> 6) + (y >> 6)) % 2 === 0 ? 30 : 0;
        const ripple = 20 * Math.sin(((c + 1) * x) / 23 + y / 37);
        data[(c * SIDE + y) * SIDE + x] = Math.min(255, Math.max(0, Math.round(10 + gradient + checker + ripple)));
      }
    }
  }
  return new ort.Tensor("uint8", data, [1, 3, SIDE, SIDE]);
}

/** One run of `graph` on each provider (one session at a time): [cpu, webgpu] outputs. */
async function onBoth(dir: string, graph: string, feeds: Record<string, ort.Tensor>, output: string): Promise<[ort.Tensor, ort.Tensor]> {
  const results: ort.Tensor[] = [];
  for (const provider of ["cpu", "webgpu"]) {
    const session = await ort.InferenceSession.create(join(dir, `${graph}.onnx`), { executionProviders: [provider] });
    try {
      results.push((await session.run(feeds))[output]!);
    } finally {
      await session.release();
    }
  }
  return results as [ort.Tensor, ort.Tensor];
}

function expectMatch(name: string, cpu: ort.Tensor, webgpu: ort.Tensor): void {
  expect(webgpu.dims).toEqual(cpu.dims);
  const expected = cpu.data as Float32Array;
  const actual = webgpu.data as Float32Array;
  const cosine = cosineSimilarity(actual, expected);
  const difference = maxAbsDifference(actual, expected);
  const scale = maxAbs(expected);
  const bound = MAX_ABS_RELATIVE * Math.max(1, scale);
  console.log(`${name}: 1 − cosine ${(1 - cosine).toExponential(2)}, max-abs ${difference.toExponential(2)} at scale ${scale.toFixed(3)}`);
  expect(cosine, `${name}: cosine ${cosine}`).toBeGreaterThanOrEqual(COSINE_MIN);
  expect(difference, `${name}: max-abs ${difference} > ${bound}`).toBeLessThanOrEqual(bound);
}

describe("full-size vision graphs: WebGPU provider vs CPU provider", () => {
  let dir: string;
  const pixels = testImage();
  const features: { high?: ort.Tensor; low?: ort.Tensor } = {};

  beforeAll(async () => {
    dir = await visionModel();
  }, 1_800_000);

  it("sam_encoder (SAM-B, 4096-token global attention): uint8 [1,3,1024,1024] → [1,576,1024]", async () => {
    const [cpu, webgpu] = await onBoth(dir, "sam_encoder", { [SAM.inputs.pixels]: pixels }, SAM.outputs.features);
    features.high = cpu;
    expectMatch("sam_encoder", cpu, webgpu);
  }, 1_800_000);

  it("siglip_encoder (SigLIP-L behind the 1024 → 384 resize): uint8 [1,3,1024,1024] → [1,576,1024]", async () => {
    const [cpu, webgpu] = await onBoth(dir, "siglip_encoder", { [SIGLIP.inputs.pixels]: pixels }, SIGLIP.outputs.features);
    features.low = cpu;
    expectMatch("siglip_encoder", cpu, webgpu);
  }, 900_000);

  it("aligner: the CPU's tower features → image embeddings", async () => {
    const feeds = { [ALIGNER.inputs.highRes]: features.high!, [ALIGNER.inputs.lowRes]: features.low! };
    const [cpu, webgpu] = await onBoth(dir, "aligner", feeds, ALIGNER.outputs.embeds);
    expectMatch("aligner", cpu, webgpu);
  }, 600_000);
});
