import { ImageError } from "../errors.ts";
import type { Orientation } from "../orientation.ts";
import { ascii, dataView, startsWith } from "./bytes.ts";
import { exifOrientationValue, toOrientation } from "./exif.ts";

const RIFF = ascii("RIFF");
const WEBP = ascii("WEBP");
const VP8_START_CODE = [0x9d, 0x01, 0x2a];
const VP8L_SIGNATURE = 0x2f;
const VP8X_ANIMATION = 0x02;

export interface WebpStructure {
  readonly width: number;
  readonly height: number;
  readonly orientation?: Orientation;
}

/**
 * The canvas size of a WebP (from VP8X, else the VP8 or VP8L bitstream header) and its EXIF
 * orientation: Pillow reads the first EXIF chunk (libwebp's demuxer) and ignores XMP for
 * orientation. Animated WebP is refused: the codec decodes still images only.
 */
export function readWebpStructure(bytes: Uint8Array): WebpStructure {
  if (!startsWith(bytes, RIFF) || !startsWith(bytes, WEBP, 8)) {
    throw new ImageError("corrupt_image", "not a WebP (no RIFF/WEBP header)");
  }
  const view = dataView(bytes);
  // The RIFF size bounds the chunks; bytes after it are ignored, and fewer bytes is a truncated
  // file, as libwebp (behind Pillow and the codec) has it.
  const end = 8 + view.getUint32(4, true);
  if (end > bytes.length) {
    const sizes = `its RIFF header declares ${end} bytes, the file has ${bytes.length}`;
    throw new ImageError("corrupt_image", `WebP is truncated: ${sizes}`);
  }
  const chunks: { type: string; data: Uint8Array }[] = [];
  for (let at = 12; at + 8 <= end; ) {
    const length = view.getUint32(at + 4, true);
    const type = String.fromCharCode(...bytes.subarray(at, at + 4));
    chunks.push({ type, data: bytes.subarray(at + 8, Math.min(at + 8 + length, end)) });
    // A simple (lossy or lossless) file is one chunk; an extended (VP8X) one may carry EXIF after the image.
    if (chunks[0]!.type !== "VP8X") break;
    at += 8 + length + (length & 1);
  }
  const [first] = chunks;
  if (first === undefined) throw new ImageError("corrupt_image", "WebP has no image chunk");
  const exif = chunks.find((c) => c.type === "EXIF");
  const orientation = exif && toOrientation(exifOrientationValue(exif.data));
  return { ...firstChunkSize(first.type, first.data), ...(orientation && { orientation }) };
}

function firstChunkSize(type: string, data: Uint8Array): { width: number; height: number } {
  const view = dataView(data);
  if (type === "VP8X") {
    if (data.length < 10) throw new ImageError("corrupt_image", "WebP VP8X chunk is truncated");
    if (data[0]! & VP8X_ANIMATION) throw new ImageError("unsupported_format", "animated WebP is not supported");
    return { width: 1 + uint24(data, 4), height: 1 + uint24(data, 7) };
  }
  if (type === "VP8 ") {
    if (data.length < 10 || !startsWith(data, VP8_START_CODE, 3)) {
      throw new ImageError("corrupt_image", "WebP VP8 frame header is missing or truncated");
    }
    // 14 bits of size; the top 2 bits are an upscaling hint that decoders ignore.
    return { width: view.getUint16(6, true) & 0x3fff, height: view.getUint16(8, true) & 0x3fff };
  }
  if (type === "VP8L") {
    if (data.length < 5 || data[0] !== VP8L_SIGNATURE) {
      throw new ImageError("corrupt_image", "WebP VP8L header is missing or truncated");
    }
    const bits = view.getUint32(1, true);
    return { width: 1 + (bits & 0x3fff), height: 1 + ((bits >>> 14) & 0x3fff) };
  }
  throw new ImageError("corrupt_image", `WebP starts with an unknown chunk ${JSON.stringify(type)}`);
}

function uint24(data: Uint8Array, at: number): number {
  return data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16);
}
