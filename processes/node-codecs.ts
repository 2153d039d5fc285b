import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { CodecWasm } from "../edge/image/index.ts";

const require = createRequire(import.meta.url);
const compile = (specifier: string) => new WebAssembly.Module(readFileSync(require.resolve(specifier)));

/** The image codecs' WebAssembly compiled in Node (the Worker gets the same files as `.wasm` module imports). */
export function nodeCodecWasm(): CodecWasm {
  return {
    jpeg: new WebAssembly.Module(readFileSync(new URL("../edge/image/decode/libjpeg/libjpeg.wasm", import.meta.url))),
    webp: compile("@jsquash/webp/codec/dec/webp_dec.wasm"),
  };
}
