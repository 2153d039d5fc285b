// The service binding TEST_MODELS of the edge tests (vitest.config.ts): runs in Node, outside workerd.
//   GET  /<kind>/<file>           a file of the tiny converted model set (hybrid | siglip), as a Worker
//                                 would read it from static assets or R2
//   POST /<kind>/siglip-features  body uint8 pixels [N,3,S,S] -> fp16 bits [N,tokens,featureDim]: the
//                                 `gpu` SigLIP placement's computation (onnxruntime-node CPU on the same
//                                 siglip_encoder.onnx, fp32 -> fp16 with the shared codec)
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { InferenceSession } from "onnxruntime-node";
import { GRAPH_IO } from "../../shared/manifest/index.ts";
import { float32ToFloat16 } from "../../shared/tensor/index.ts";
import { tinyModel } from "./models.ts";

const KINDS = new Set(["hybrid", "siglip"]);
const FILE_NAME = /^[\w-]+(\.[\w-]+)*$/;

const sessions = new Map<string, Promise<InferenceSession>>();

async function siglipSession(dir: string): Promise<InferenceSession> {
  let session = sessions.get(dir);
  if (session === undefined) {
    // Loaded on first use only: vitest reads this config for every project.
    const ort = await import("onnxruntime-node");
    session = ort.InferenceSession.create(join(dir, "siglip_encoder.onnx"));
    sessions.set(dir, session);
  }
  return session;
}

async function gpuSiglipFeatures(kind: "hybrid" | "siglip", pixels: Uint8Array): Promise<Uint16Array> {
  const { dir, manifest } = await tinyModel(kind);
  const size = manifest.vision.imageSize;
  const count = pixels.length / (3 * size * size);
  if (!Number.isInteger(count) || count === 0) throw new Error(`expected uint8 [N,3,${size},${size}], got ${pixels.length} bytes`);
  const { Tensor } = await import("onnxruntime-node");
  const { inputs, outputs } = GRAPH_IO.siglip_encoder;
  const results = await (await siglipSession(dir)).run({ [inputs.pixels]: new Tensor("uint8", pixels, [count, 3, size, size]) });
  return float32ToFloat16(results[outputs.features]!.data as Float32Array);
}

export async function edgeTestModels(request: Request): Promise<Response> {
  const [kind, name, ...rest] = new URL(request.url).pathname.split("/").slice(1);
  if (kind === undefined || !KINDS.has(kind) || name === undefined || !FILE_NAME.test(name) || rest.length > 0) {
    return new Response("not found", { status: 404 });
  }
  const model = kind as "hybrid" | "siglip";
  if (request.method === "POST" && name === "siglip-features") {
    const bits = await gpuSiglipFeatures(model, new Uint8Array(await request.arrayBuffer()));
    return new Response(new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength));
  }
  if (request.method !== "GET") return new Response("method not allowed", { status: 405 });
  const { dir } = await tinyModel(model);
  const file = await readFile(join(dir, name)).catch(() => undefined);
  return file === undefined ? new Response("not found", { status: 404 }) : new Response(file);
}
