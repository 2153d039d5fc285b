import { uprightPixels } from "./orientation.ts";
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
  /** The same pixels interleaved (HWC), e.g. to write a PNG. */
  readonly padded: RgbImage;
}

/**
 * DeepSeek-VL's `VLMImageProcessor.resize` on a decoded RGB image: Pillow bicubic resize so the
 * long side is `imageSize`, then pad to a square with the mean colour. The uint8 result is what
 * the reference rescales by 1/255; normalization happens inside the vision towers. A decoded image is
 * read through its EXIF turn (never turned as a whole), and resized straight onto the padded square.
 */
export function preprocess(image: RgbImage, options: PreprocessOptions): PreprocessedImage {
  const view = uprightPixels(image);
  const colour = padColour(options.imageMean);
  const size = targetSize(image.width, image.height, options.imageSize, options.minSize);
  const { side, left, top } = squarePlacement(size.width, size.height);
  const data = squareCanvas(side, colour);
  resizeView(view, size.width, size.height, { data, offset: (top * side + left) * 3, rowBytes: side * 3 });
  const padded = { data, width: side, height: side };
  return { data: toPlanar(padded), size: side, padded };
}
