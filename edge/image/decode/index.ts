export { type CodecInstances, type CodecWasm, createCodecInstances } from "./codecs.ts";
export { DEFAULT_MAX_PIXELS, type DecodeOptions, decodeImage } from "./decode-image.ts";
export { readImageHeader } from "./header.ts";
