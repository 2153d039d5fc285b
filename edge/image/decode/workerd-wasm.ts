import webp from "@jsquash/webp/codec/dec/webp_dec.wasm";
import type { CodecWasm } from "./codecs.ts";
import jpeg from "./libjpeg/libjpeg.wasm";

/**
 * The codecs' WebAssembly as the Worker bundles it: static `.wasm` imports, which wrangler (and
 * the Workers vitest pool) compile at deploy time. Import this file from Worker code only: Node
 * cannot import `.wasm` (tests there compile the same files, see processes/node-codecs.ts).
 */
export const workerdCodecWasm: CodecWasm = { jpeg, webp };
