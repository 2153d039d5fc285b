import { ImageError } from "../errors.ts";
import type { Orientation } from "../orientation.ts";
import { ascii, startsWith } from "./bytes.ts";
import { exifOrientationValue, toOrientation } from "./exif.ts";
import { type JpegFrame, readJpegFrame } from "./jpeg-structure.ts";
import { PNG_SIGNATURE, type PngStructure, readPngStructure } from "./png-structure.ts";
import { readWebpStructure } from "./webp-structure.ts";

export type ImageFormat = "jpeg" | "png" | "webp";

export interface ImageHeader {
  readonly format: ImageFormat;
  /** Stored size, before the EXIF orientation is applied (5..8 swap the sides). */
  readonly width: number;
  readonly height: number;
  /** The EXIF orientation Pillow's `ImageOps.exif_transpose` applies, when the file declares one. */
  readonly orientation?: Orientation;
}

/** The format from the magic bytes (never from a declared content type), or undefined. */
export function detectFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "jpeg";
  if (startsWith(bytes, PNG_SIGNATURE)) return "png";
  if (startsWith(bytes, ascii("RIFF")) && startsWith(bytes, ascii("WEBP"), 8)) return "webp";
  return undefined;
}

/** The header, with what decoding needs from the container walk. */
export type Container =
  | { readonly header: ImageHeader; readonly format: "jpeg"; readonly jpeg: JpegFrame }
  | { readonly header: ImageHeader; readonly format: "png"; readonly png: PngStructure }
  | { readonly header: ImageHeader; readonly format: "webp" };

/** ISO-BMFF brands (the `ftyp` box's major and compatible brands) of the formats phones write instead of JPEG. */
const HEIF_BRANDS = new Set(["heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1"]);
const AVIF_BRANDS = new Set(["avif", "avis"]);

/**
 * What to tell an app whose image is none of the three: HEIC/HEIF (an iPhone's default) and AVIF are named, with
 * how to send a JPEG instead.
 */
function unsupportedFormatMessage(bytes: Uint8Array): string {
  if (bytes.length >= 16 && startsWith(bytes, ascii("ftyp"), 4)) {
    const boxEnd = Math.min(bytes.length, new DataView(bytes.buffer, bytes.byteOffset).getUint32(0));
    const brands: string[] = [];
    for (let at = 8; at + 4 <= boxEnd; at += at === 8 ? 8 : 4) brands.push(String.fromCharCode(...bytes.subarray(at, at + 4)));
    const send = "send it as a JPEG (on iOS: UIImage.jpegData(compressionQuality:), or a PHPicker item's JPEG representation)";
    if (brands.some((brand) => AVIF_BRANDS.has(brand))) return `AVIF images are not supported: ${send}`;
    if (brands.some((brand) => HEIF_BRANDS.has(brand))) return `HEIC/HEIF images are not supported: ${send}`;
  }
  return "not a JPEG, PNG or WebP image";
}

export function readContainer(bytes: Uint8Array): Container {
  const format = detectFormat(bytes);
  switch (format) {
    case "jpeg": {
      const jpeg = readJpegFrame(bytes);
      const orientation = jpeg.exif && toOrientation(exifOrientationValue(jpeg.exif));
      const { width, height } = jpeg;
      return { format, jpeg, header: { format, width, height, ...(orientation && { orientation }) } };
    }
    case "png": {
      const png = readPngStructure(bytes);
      const { width, height, orientation } = png;
      return { format, png, header: { format, width, height, ...(orientation && { orientation }) } };
    }
    case "webp":
      return { format, header: { format, ...readWebpStructure(bytes) } };
    default:
      throw new ImageError("unsupported_format", unsupportedFormatMessage(bytes));
  }
}

/**
 * Format, size and orientation read from the container's metadata by hand, without decoding
 * pixels: JPEG frame header (SOFn) and APP1 Exif, PNG IHDR and eXIf/text chunks, WebP
 * VP8X/VP8/VP8L and EXIF chunks. Throws `ImageError` ("unsupported_format" or "corrupt_image").
 */
export function readImageHeader(bytes: Uint8Array): ImageHeader {
  return readContainer(bytes).header;
}

/** Refuses an image whose header declares more than `maxPixels` pixels. */
export function assertPixelCount(header: ImageHeader, maxPixels: number): void {
  const pixels = header.width * header.height;
  if (pixels > maxPixels) {
    throw new ImageError("too_many_pixels", `image is ${header.width}x${header.height} = ${pixels} pixels, over the limit of ${maxPixels}`);
  }
}
