import {
  assertPixelCount,
  coefficientBytes,
  createCodecInstances,
  DEFAULT_MAX_JPEG_PIXELS,
  type DecodeOptions,
  decodeImage,
  MAX_PROGRESSIVE_COEFFICIENT_BYTES,
  readContainer,
  resizeJpeg,
} from "./decode/index.ts";
import { ImageError } from "./errors.ts";
import { TURNS, uprightPixels } from "./orientation.ts";
import { padColour } from "./pad-colour.ts";
import { resizeView } from "./resize-bicubic.ts";
import type { RgbImage } from "./rgb-image.ts";
import { squareCanvas, squarePlacement, toPlanar } from "./square.ts";
import { targetSize } from "./target-size.ts";

export interface PreprocessOptions {
  /** The processor's `image_size`: 384 for 1.3B, 1024 for 7B. */
  readonly imageSize: number;
  /** The processor's `image_mean`; the pad colour derives from it. */
  readonly imageMean: readonly number[];
  /** The processor's `min_size`. */
  readonly minSize?: number;
}

export interface PreprocessedImage {
  /** Channel-planar RGB `[3, size, size]`, uint8. */
  readonly data: Uint8Array;
  readonly size: number;
}

/** The size an upright `width x height` image is resized to, and the padded square it is placed on. */
function squareTarget(width: number, height: number, options: PreprocessOptions) {
  const size = targetSize(width, height, options.imageSize, options.minSize);
  return { size, square: { ...squarePlacement(size.width, size.height), colour: padColour(options.imageMean) } };
}

/**
 * DeepSeek-VL's `VLMImageProcessor.resize` on a decoded RGB image: Pillow bicubic resize so the
 * long side is `imageSize`, then pad to a square with the mean colour. The uint8 result is what
 * the reference rescales by 1/255; normalization happens inside the vision towers. A decoded image is
 * read through its EXIF turn (never turned as a whole), and resized straight onto the padded square.
 */
export function preprocess(image: RgbImage, options: PreprocessOptions): PreprocessedImage {
  const view = uprightPixels(image);
  const { size, square } = squareTarget(view.width, view.height, options);
  const { side, left, top } = square;
  const data = squareCanvas(side, square.colour);
  resizeView(view, size.width, size.height, { data, offset: (top * side + left) * 3, rowBytes: side * 3 });
  return { data: toPlanar({ data, width: side, height: side }), size: side };
}

/**
 * An encoded image to what `preprocess(decodeImage(bytes))` gives, exactly, the way the edge and the Node tools both
 * take images: a JPEG streams from the decoder's rows through its EXIF turn and the resize onto the padded square's
 * planes, inside the decoder's module, so its full-resolution frame is never held, and its
 * cap is `maxJpegPixels` (a progressive one's also what its coefficients take); PNG and WebP are decoded whole under
 * `maxPixels`, then preprocessed.
 */
export async function preprocessImage(bytes: Uint8Array, options: DecodeOptions & PreprocessOptions): Promise<PreprocessedImage> {
  const container = readContainer(bytes);
  if (container.format !== "jpeg") return preprocess(await decodeImage(bytes, options), options);
  const { header, jpeg } = container;
  assertPixelCount(header, options.maxJpegPixels ?? DEFAULT_MAX_JPEG_PIXELS);
  const coefficients = jpeg.progressive ? coefficientBytes(jpeg) : 0;
  if (coefficients > MAX_PROGRESSIVE_COEFFICIENT_BYTES) {
    const mib = (bytes: number) => Math.ceil(bytes / 2 ** 20);
    throw new ImageError(
      "too_many_pixels",
      `progressive JPEG of ${header.width}x${header.height} needs ${mib(coefficients)} MiB for its coefficients, over the ${mib(MAX_PROGRESSIVE_COEFFICIENT_BYTES)} MiB the edge spares; send it as a baseline JPEG (phone cameras write baseline)`,
    );
  }
  const orientation = header.orientation ?? 1;
  const [width, height] = TURNS[orientation].swap ? [header.height, header.width] : [header.width, header.height];
  const { size, square } = squareTarget(width, height, options);
  const data = await resizeJpeg(bytes, options.wasm.jpeg, options.codecs ?? createCodecInstances(), {
    stored: header,
    turn: TURNS[orientation],
    width: size.width,
    height: size.height,
    square,
  });
  return { data, size: square.side };
}
