import ortWasm from "onnxruntime-web/ort-wasm-simd-threaded.wasm";

/**
 * onnxruntime-web's WebAssembly (the plain SIMD build behind `onnxruntime-web/wasm`, not JSEP/WebGPU/JSPI) as
 * the Worker bundles it: a static `.wasm` import, compiled by wrangler at deploy time (and by the Workers
 * vitest pool). Import this file from Worker code only: Node cannot import `.wasm`; there, compile
 * `onnxruntime-web/dist/ort-wasm-simd-threaded.wasm` with `new WebAssembly.Module(bytes)`.
 */
export const workerdOrtWasm: WebAssembly.Module = ortWasm;
