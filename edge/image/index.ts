export { ImageError, type ImageErrorCode } from "./errors.ts";
export { padColour, type Rgb } from "./pad-colour.ts";
export { preprocess, type PreprocessedImage, type PreprocessOptions } from "./preprocess.ts";
export { resizeBicubic } from "./resize-bicubic.ts";
export { assertRgbImage, type RgbImage } from "./rgb-image.ts";
export { expandToSquare, toPlanar } from "./square.ts";
export { targetSize, type Size } from "./target-size.ts";
export {
  assertPixelCount,
  type CodecInstances,
  type CodecWasm,
  createCodecInstances,
  DEFAULT_MAX_PIXELS,
  decodeImage,
  type DecodeOptions,
  detectFormat,
  type ImageFormat,
  type ImageHeader,
  type Orientation,
  readImageHeader,
} from "./decode/index.ts";
