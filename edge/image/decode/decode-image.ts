import { ImageError } from "../errors.ts";
import { uprightImage } from "../orientation.ts";
import { isPositiveInteger, type Pixels, type RgbImage } from "../rgb-image.ts";
import { type CodecInstances, type CodecWasm, createCodecInstances, decodeJpegWithWasmCodec, decodeWebpWithWasmCodec } from "./codecs.ts";
import { assertPixelCount, readContainer } from "./header.ts";
import { decodeJpegInTypeScript } from "./jpeg-color.ts";
import { hasEndOfImage, type JpegFrame } from "./jpeg-structure.ts";
import { decodePng } from "./png-decode.ts";

/**
 * 8 Mi pixels (3264x2448 passes). The cap bounds memory: a decode holds about 4 bytes per pixel in the
 * codec's memory (RGBA) and 4 more in JS (the codec's RGBA, which `preprocess` reads in place, through
 * the EXIF turn), and a progressive JPEG another 3 in coefficients. Measured in workerd, first / second
 * request of a fresh isolate: a 12 MP photo with orientation 6 grows the process by 140 / 118 MiB, over
 * a Worker's 128 MB; 8 MP by 104 / 83 MiB. Apps downscale larger photos.
 */
export const DEFAULT_MAX_PIXELS = 1 << 23;

/**
 * JPEGs the WebAssembly codec (MozJPEG 3.3, built on libjpeg-turbo 1.5) cannot decode as Pillow's
 * libjpeg-turbo 2.1 does: CMYK/YCCK (it cannot output CMYK), and components sampled 1:2
 * vertically only (4:4:0), which libjpeg-turbo 2.0 started upsampling with a triangle filter.
 */
function needsTypeScriptJpeg({ components }: JpegFrame): boolean {
  const hMax = Math.max(...components.map((c) => c.h));
  const vMax = Math.max(...components.map((c) => c.v));
  return components.length === 4 || components.some((c) => c.h === hMax && 2 * c.v === vMax);
}

export interface DecodeOptions {
  /** The codecs' compiled WebAssembly (see `CodecWasm`). */
  readonly wasm: CodecWasm;
  /** Largest `width * height` accepted, checked from the header before any decoding. */
  readonly maxPixels?: number;
  /** Codec instances to reuse (see `createCodecInstances`); without, the decode instantiates its codec for itself. */
  readonly codecs?: CodecInstances;
}

/**
 * A JPEG, PNG or WebP to the 8-bit RGB image Pillow gives for
 * `ImageOps.exif_transpose(Image.open(f)).convert("RGB")`: the format from the magic bytes, the
 * pixel count checked from the header first, EXIF orientation applied, alpha dropped. Both happen
 * when `data` is first read; `preprocess` and `resizeBicubic` read the decoded pixels in place instead.
 * Throws `ImageError`: "unsupported_format", "corrupt_image" or "too_many_pixels".
 */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions): Promise<RgbImage> {
  const { wasm, maxPixels = DEFAULT_MAX_PIXELS, codecs = createCodecInstances() } = options;
  if (!isPositiveInteger(maxPixels)) {
    throw new ImageError("invalid_option", `maxPixels must be a positive integer, got ${maxPixels}`);
  }
  const container = readContainer(bytes);
  const { header } = container;
  assertPixelCount(header, maxPixels);
  let image: Pixels;
  switch (container.format) {
    case "jpeg":
      if (needsTypeScriptJpeg(container.jpeg)) {
        image = { ...decodeJpegInTypeScript(bytes), channels: 3 };
        break;
      }
      if (!hasEndOfImage(bytes)) {
        throw new ImageError("corrupt_image", "JPEG is truncated (no end-of-image marker after its scans)");
      }
      image = await decodeJpegWithWasmCodec(bytes, wasm.jpeg, codecs);
      break;
    case "png":
      image = { ...(await decodePng(container.png)), channels: 3 };
      break;
    case "webp":
      image = await decodeWebpWithWasmCodec(bytes, wasm.webp, codecs);
      break;
  }
  if (image.width !== header.width || image.height !== header.height) {
    throw new ImageError(
      "corrupt_image",
      `decoded ${image.width}x${image.height} pixels where the header declares ${header.width}x${header.height}`,
    );
  }
  return uprightImage(image, header.orientation ?? 1);
}
