import * as ort from "onnxruntime-web/wasm";

import { SiglipEncoderError } from "./errors.ts";

// onnxruntime-web's WebAssembly backend, started from a precompiled module. workerd forbids compiling
// WebAssembly from bytes at run time, while ORT's Emscripten loader only knows how to fetch or receive
// the bytes and then call `WebAssembly.instantiate(bytes, imports)`. So ORT gets a placeholder buffer
// as `wasmBinary` (which also keeps it from fetching a URL or importing its .mjs), and for as long as
// the backend starts, `WebAssembly.instantiate` given exactly that placeholder instantiates the
// precompiled module instead. Single-threaded and without the proxy worker: a Worker has neither
// threads nor Web Workers.

const WASM_PLACEHOLDER = new ArrayBuffer(0);

ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;
ort.env.wasm.simd = true;
ort.env.wasm.wasmBinary = WASM_PLACEHOLDER;

const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = { executionProviders: ["wasm"] };

/** Runs `start` with `WebAssembly.instantiate(placeholder, imports)` routed to `wasm`, then restores it. */
async function withPrecompiledWasm<T>(wasm: WebAssembly.Module, start: () => Promise<T>): Promise<T> {
  const instantiate = WebAssembly.instantiate;
  const routed = async (source: unknown, imports?: WebAssembly.Imports) => {
    if (ArrayBuffer.isView(source) && source.buffer === WASM_PLACEHOLDER) {
      return { module: wasm, instance: await instantiate(wasm, imports) };
    }
    return instantiate(source as BufferSource, imports);
  };
  WebAssembly.instantiate = routed as typeof WebAssembly.instantiate;
  try {
    return await start();
  } finally {
    WebAssembly.instantiate = instantiate;
  }
}

// ORT's backend starts once per isolate, inside the first session's creation; later creations wait
// for that one so that the routing above is in place for exactly one start.
let firstCreation: Promise<unknown> | undefined;

/**
 * An onnxruntime-web session (wasm backend) for an ONNX graph. The first call in an isolate starts the
 * backend from `wasm` (onnxruntime-web's `ort-wasm-simd-threaded.wasm`, compiled); later calls reuse it.
 */
export async function createOrtSession(graph: Uint8Array, wasm: WebAssembly.Module): Promise<ort.InferenceSession> {
  try {
    if (firstCreation === undefined) {
      const created = withPrecompiledWasm(wasm, () => ort.InferenceSession.create(graph, SESSION_OPTIONS));
      firstCreation = created.catch(() => undefined);
      return await created;
    }
    await firstCreation;
    return await ort.InferenceSession.create(graph, SESSION_OPTIONS);
  } catch (error) {
    throw new SiglipEncoderError("runtime_failed", `onnxruntime-web could not load the graph: ${String(error)}`, { cause: error });
  }
}
