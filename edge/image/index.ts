export {
  assertPixelCount,
  type CodecInstances,
  type CodecWasm,
  createCodecInstances,
  DEFAULT_MAX_PIXELS,
  type DecodeOptions,
  decodeImage,
  detectFormat,
  type ImageFormat,
  type ImageHeader,
  type Orientation,
  readImageHeader,
} from "./decode/index.ts";
export { ImageError, type ImageErrorCode } from "./errors.ts";
export { padColour, type Rgb } from "./pad-colour.ts";
export { type PreprocessedImage, type PreprocessOptions, preprocess } from "./preprocess.ts";
export { resizeBicubic } from "./resize-bicubic.ts";
export { assertRgbImage, type RgbImage } from "./rgb-image.ts";
export { expandToSquare, toPlanar } from "./square.ts";
export { type Size, targetSize } from "./target-size.ts";
