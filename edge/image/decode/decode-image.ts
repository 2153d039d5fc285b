import { ImageError } from "../errors.ts";
import { uprightImage } from "../orientation.ts";
import { isPositiveInteger, type Pixels, type RgbImage } from "../rgb-image.ts";
import { type CodecInstances, type CodecWasm, createCodecInstances, decodeWebpWithWasmCodec } from "./codecs.ts";
import { assertPixelCount, readContainer } from "./header.ts";
import { decodeJpeg } from "./libjpeg.ts";
import { decodePng } from "./png-decode.ts";

/**
 * 6 Mi pixels (2896x2172 passes; a phone's screenshot is under 6 MP): the cap of a PNG or WebP, which are decoded
 * whole (the file, the inflated rows and the RGB frame for PNG; RGBA in the codec's memory and in JS for WebP).
 * Measured in workerd on photo-like files at the cap (`npm run bench -- preprocess`), peak growth of the first /
 * second request of a fresh isolate: PNG 108 / 43 MiB, WebP 85 / 65 MiB; at 8 Mi pixels PNG reached 137 MiB, over
 * a Worker's 128 MB.
 */
export const DEFAULT_MAX_PIXELS = 6 * 2 ** 20;

/**
 * 64 Mi pixels (a 48 MP photo passes): the cap of a JPEG streamed through `preprocessImage`, which never holds its
 * frame. Measured in workerd (`npm run bench -- preprocess`), a 12 MP EXIF-6 photo grows the process by 30-32 MiB on
 * an isolate's first request and 12-14 MiB on the next; a 48 MP one by 47-55 and 18-29 MiB.
 */
export const DEFAULT_MAX_JPEG_PIXELS = 1 << 26;

/**
 * What a progressive JPEG's coefficient buffer may take (libjpeg holds all of them until the last scan): beside the
 * rest of a request, what a 128 MB isolate can spare. A 4:2:0 frame needs 3 bytes per pixel: about 16 MP.
 */
export const MAX_PROGRESSIVE_COEFFICIENT_BYTES = 48 * 1024 * 1024;

export interface DecodeOptions {
  /** The codecs' compiled WebAssembly (see `CodecWasm`). */
  readonly wasm: CodecWasm;
  /** Largest `width * height` accepted, checked from the header before any decoding. */
  readonly maxPixels?: number;
  /** The same for a JPEG streamed by `preprocessImage` (default DEFAULT_MAX_JPEG_PIXELS). */
  readonly maxJpegPixels?: number;
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
      image = await decodeJpeg(bytes, wasm.jpeg, codecs);
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
