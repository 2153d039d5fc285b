import * as ort from "onnxruntime-web/wasm";

import { GRAPH_IO, type Manifest } from "../../shared/manifest/index.ts";
import { float32ToFloat16 } from "../../shared/tensor/index.ts";
import { SiglipEncoderError } from "./errors.ts";
import { createOrtSession } from "./ort-runtime.ts";

/**
 * Largest SigLIP graph the edge accepts by default. A Worker isolate has 128 MB for everything. Measured with
 * this onnxruntime-web: loading a graph of G MiB grows its wasm heap to ≈ 16 + 2.3·G MiB (the bytes copied
 * in plus the parsed weights; wasm memory never shrinks) while the caller's G MiB of graph bytes are still
 * alive, and activations come on top. 24 MiB keeps that near 95 MiB. The official SigLIP-L (316 M params,
 * ≈ 1.2 GB fp32) is far over: it runs on the GPU service.
 */
export const DEFAULT_MAX_MODEL_BYTES = 24 * 1024 * 1024;

export type SiglipEncoderOptions = {
  /**
   * onnxruntime-web's `ort-wasm-simd-threaded.wasm`, compiled: `workerdOrtWasm` in the Worker; in Node,
   * `new WebAssembly.Module(bytes of onnxruntime-web/dist/ort-wasm-simd-threaded.wasm)`.
   */
  wasm: WebAssembly.Module;
  /** Refuse graphs larger than this many bytes (default DEFAULT_MAX_MODEL_BYTES). */
  maxModelBytes?: number;
};

/** SigLIP features computed inside the isolate, as the `gpu` placement would return them. */
export type SiglipEncoder = {
  /** Side S of the square uint8 [3,S,S] image the graph takes (manifest `vision.imageSize`). */
  readonly imageSize: number;
  readonly imageTokens: number;
  readonly featureDim: number;
  /** fp16 bits [imageTokens, featureDim] of one image. */
  encode(pixels: Uint8Array): Promise<Uint16Array>;
  /** One graph run over all images; features in the order of `images`. */
  encodeBatch(images: readonly Uint8Array[]): Promise<Uint16Array[]>;
};

const {
  inputs: { pixels: INPUT },
  outputs: { features: OUTPUT },
} = GRAPH_IO.siglip_encoder;

const mebibytes = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/**
 * An encoder for a `siglip_encoder.onnx` (fp32 set) of the model set `manifest` describes. Refuses a graph
 * over the memory budget at once; the onnxruntime-web session is created on first use (concurrent first
 * calls share it) and kept, and the graph bytes are released once it exists. Keep one encoder per isolate.
 */
export function createSiglipEncoder(graph: ArrayBuffer | Uint8Array, manifest: Manifest, options: SiglipEncoderOptions): SiglipEncoder {
  const { wasm, maxModelBytes = DEFAULT_MAX_MODEL_BYTES } = options;
  if (!Number.isSafeInteger(maxModelBytes) || maxModelBytes <= 0) {
    throw new SiglipEncoderError("invalid_option", `maxModelBytes must be a positive integer, got ${maxModelBytes}`);
  }
  if (graph.byteLength > maxModelBytes) {
    throw new SiglipEncoderError(
      "model_too_large",
      `the SigLIP encoder of ${manifest.name} is ${mebibytes(graph.byteLength)}, over the edge budget of ` +
        `${mebibytes(maxModelBytes)} (maxModelBytes): a Worker isolate has 128 MB; use the gpu SigLIP placement`,
    );
  }
  const { imageSize, imageTokens, featureDim } = manifest.vision;
  const imageBytes = 3 * imageSize * imageSize;
  const featureCount = imageTokens * featureDim;

  let pendingGraph: Uint8Array | undefined = graph instanceof Uint8Array ? graph : new Uint8Array(graph);
  let session: Promise<ort.InferenceSession> | undefined;
  const sessionOnce = (): Promise<ort.InferenceSession> => {
    if (session === undefined) {
      const created = createOrtSession(pendingGraph!, wasm);
      session = created;
      created.then(
        () => (pendingGraph = undefined),
        () => (session = undefined), // the next call tries again and reports its own error
      );
    }
    return session;
  };

  async function encodeBatch(images: readonly Uint8Array[]): Promise<Uint16Array[]> {
    images.forEach((pixels, i) => {
      if (!(pixels instanceof Uint8Array) || pixels.length !== imageBytes) {
        throw new SiglipEncoderError(
          "invalid_pixels",
          `image ${i}: expected uint8 [3,${imageSize},${imageSize}] (${imageBytes} bytes), got ${pixels?.length ?? typeof pixels}`,
        );
      }
    });
    if (images.length === 0) return [];
    const batch = new Uint8Array(images.length * imageBytes);
    for (const [i, pixels] of images.entries()) batch.set(pixels, i * imageBytes);
    const input = new ort.Tensor("uint8", batch, [images.length, 3, imageSize, imageSize]);

    const running = await sessionOnce();
    let output: ort.Tensor | undefined;
    try {
      output = (await running.run({ [INPUT]: input }))[OUTPUT];
    } catch (error) {
      throw new SiglipEncoderError("runtime_failed", `the SigLIP encoder failed: ${String(error)}`, { cause: error });
    }
    const expected = [images.length, imageTokens, featureDim];
    if (output?.type !== "float32" || output.dims.join() !== expected.join()) {
      throw new SiglipEncoderError(
        "unexpected_output",
        `${OUTPUT} should be float32 [${expected.join(",")}], got ${output ? `${output.type} [${output.dims.join(",")}]` : "nothing"}`,
      );
    }
    const bits = float32ToFloat16(output.data as Float32Array);
    // Each image's features get their own buffer, so a cache entry never pins the whole batch.
    return images.length === 1 ? [bits] : images.map((_, i) => bits.slice(i * featureCount, (i + 1) * featureCount));
  }

  return {
    imageSize,
    imageTokens,
    featureDim,
    encodeBatch,
    encode: async (pixels) => (await encodeBatch([pixels]))[0]!,
  };
}
