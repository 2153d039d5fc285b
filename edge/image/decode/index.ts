export { type CodecInstances, type CodecWasm, createCodecInstances } from "./codecs.ts";
export {
  DEFAULT_MAX_JPEG_PIXELS,
  DEFAULT_MAX_PIXELS,
  type DecodeOptions,
  decodeImage,
  MAX_PROGRESSIVE_COEFFICIENT_BYTES,
} from "./decode-image.ts";
export { assertPixelCount, readContainer, readImageHeader } from "./header.ts";
export { coefficientBytes } from "./jpeg-structure.ts";
export { resizeJpeg } from "./libjpeg.ts";
