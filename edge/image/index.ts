export {
  type CodecInstances,
  type CodecWasm,
  createCodecInstances,
  DEFAULT_MAX_JPEG_PIXELS,
  DEFAULT_MAX_PIXELS,
  type DecodeOptions,
  decodeImage,
  readImageHeader,
} from "./decode/index.ts";
export { ImageError, type ImageErrorCode } from "./errors.ts";
export { padColour } from "./pad-colour.ts";
export { preprocess, preprocessImage } from "./preprocess.ts";
export { resizeBicubic } from "./resize-bicubic.ts";
export type { RgbImage } from "./rgb-image.ts";
export { fromPlanar } from "./square.ts";
export { targetSize } from "./target-size.ts";
