export { type CodecInstances, type CodecWasm, createCodecInstances } from "./codecs.ts";
export { DEFAULT_MAX_PIXELS, type DecodeOptions, decodeImage } from "./decode-image.ts";
export type { Orientation } from "./exif.ts";
export { assertPixelCount, detectFormat, type ImageFormat, type ImageHeader, readImageHeader } from "./header.ts";
