import { env } from "cloudflare:test";
import { describe, expect, test } from "vitest";

import { parseManifest } from "../../shared/manifest/index.ts";
import { float16BitsToFloat32 } from "../../shared/tensor/index.ts";
import { createSiglipEncoder, DEFAULT_MAX_MODEL_BYTES, SiglipEncoderError, workerdOrtWasm } from "./index.ts";

// Runs inside workerd: onnxruntime-web's wasm arrives as a module import. TEST_MODELS (vitest.config.ts,
// test/support/edge-models.ts) serves the tiny converted model sets and computes the `gpu` placement's
// features with onnxruntime-node in Node, so the edge features are compared with an independent runtime.

const models = (env as unknown as { TEST_MODELS: Fetcher }).TEST_MODELS;

async function modelFile(kind: string, name: string): Promise<Response> {
  const response = await models.fetch(`http://models/${kind}/${name}`);
  expect(response.status).toBe(200);
  return response;
}

async function tinyEncoderInputs(kind: "hybrid" | "siglip") {
  const manifest = parseManifest(await (await modelFile(kind, "manifest.json")).text());
  const graph = await (await modelFile(kind, "siglip_encoder.onnx")).arrayBuffer();
  return { manifest, graph };
}

async function gpuFeatures(kind: string, pixels: Uint8Array): Promise<Uint16Array> {
  const response = await models.fetch(`http://models/${kind}/siglip-features`, { method: "POST", body: pixels });
  expect(response.status).toBe(200);
  return new Uint16Array(await response.arrayBuffer());
}

/** Deterministic noise: every pixel value occurs, and neighbouring pixels are unrelated. */
function noiseImage(size: number, seed: number): Uint8Array {
  const pixels = new Uint8Array(3 * size * size);
  let state = seed >>> 0;
  for (let i = 0; i < pixels.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    pixels[i] = state >>> 24;
  }
  return pixels;
}

/** Spacing of fp16 values around |value| (2^-24 below the smallest normal). */
function float16Step(value: number): number {
  const magnitude = Math.abs(value);
  return magnitude < 2 ** -14 ? 2 ** -24 : 2 ** (Math.floor(Math.log2(magnitude)) - 10);
}

/**
 * Two fp32 runtimes (wasm SIMD kernels vs native ones) sum in different orders, so their fp32 features
 * differ by a few fp32 ulps (≪ 1e-5 at the features' magnitude, ≤ 4). After rounding to fp16 most values
 * are bit-identical; a value that sits near a rounding boundary lands one fp16 step away.
 */
function expectSameFeatures(edge: Uint16Array, gpu: Uint16Array) {
  expect(edge.length).toBe(gpu.length);
  let identical = 0;
  let worst = 0;
  for (let i = 0; i < gpu.length; i++) {
    if (edge[i] === gpu[i]) {
      identical++;
      continue;
    }
    const expected = float16BitsToFloat32(gpu[i]!);
    const excess = Math.abs(float16BitsToFloat32(edge[i]!) - expected) - float16Step(expected) - 1e-5;
    worst = Math.max(worst, excess);
  }
  expect(worst).toBeLessThanOrEqual(0);
  expect(identical / gpu.length).toBeGreaterThan(0.99);
}

// Starting onnxruntime-web and the 1024-pixel hybrid graph take seconds on a busy machine.
describe("createSiglipEncoder in workerd", { timeout: 60_000 }, () => {
  test.each(["siglip", "hybrid"] as const)("the %s model's features equal the gpu placement's (onnxruntime-node)", async (kind) => {
    const { manifest, graph } = await tinyEncoderInputs(kind);
    const size = manifest.vision.imageSize;
    expect(size).toBe(kind === "hybrid" ? 1024 : 384);
    const instantiate = WebAssembly.instantiate;
    const encoder = createSiglipEncoder(graph, manifest, { wasm: workerdOrtWasm });
    const first = noiseImage(size, 1);
    const second = noiseImage(size, 2);

    // Concurrent first calls share one session.
    const [one, two] = await Promise.all([encoder.encode(first), encoder.encode(second)]);
    expect(WebAssembly.instantiate).toBe(instantiate);
    expect(one.length).toBe(manifest.vision.imageTokens * manifest.vision.featureDim);
    expectSameFeatures(one, await gpuFeatures(kind, first));
    expectSameFeatures(two, await gpuFeatures(kind, second));
    expect(one).not.toEqual(two);

    const batch = await encoder.encodeBatch([second, first]);
    const gpuBatch = await gpuFeatures(kind, new Uint8Array([...second, ...first]));
    expectSameFeatures(batch[0]!, gpuBatch.subarray(0, one.length));
    expectSameFeatures(batch[1]!, gpuBatch.subarray(one.length));
  });

  test("refuses a graph over the memory budget before loading anything", async () => {
    const { manifest } = await tinyEncoderInputs("siglip");
    const tooLarge = () => createSiglipEncoder(new ArrayBuffer(DEFAULT_MAX_MODEL_BYTES + 1), manifest, { wasm: workerdOrtWasm });
    expect(tooLarge).toThrow(SiglipEncoderError);
    expect(tooLarge).toThrow(/over the edge budget of 24\.0 MiB.*use the gpu SigLIP placement/);
    const configured = () => createSiglipEncoder(new Uint8Array(1001), manifest, { wasm: workerdOrtWasm, maxModelBytes: 1000 });
    expect(configured).toThrow(expect.objectContaining({ code: "model_too_large" }));
    expect(() => createSiglipEncoder(new Uint8Array(1), manifest, { wasm: workerdOrtWasm, maxModelBytes: 0 })).toThrow(
      expect.objectContaining({ code: "invalid_option" }),
    );
  });

  test("rejects pixels of the wrong size and graphs onnxruntime cannot load", async () => {
    const { manifest, graph } = await tinyEncoderInputs("siglip");
    const encoder = createSiglipEncoder(graph, manifest, { wasm: workerdOrtWasm });
    await expect(encoder.encode(new Uint8Array(3 * 224 * 224))).rejects.toMatchObject({
      code: "invalid_pixels",
      message: expect.stringContaining("[3,384,384]"),
    });
    const broken = createSiglipEncoder(new Uint8Array([1, 2, 3, 4]), manifest, { wasm: workerdOrtWasm });
    await expect(broken.encode(noiseImage(384, 3))).rejects.toMatchObject({ code: "runtime_failed" });
  });
});
