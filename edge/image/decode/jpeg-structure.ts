import { ImageError } from "../errors.ts";
import { ascii, startsWith } from "./bytes.ts";

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const APP1 = 0xe1;
const EXIF = ascii("Exif\0");

/** Frame types decoded: Huffman-coded baseline, extended and progressive DCT. */
export const DECODED_FRAMES: Readonly<Record<number, string>> = {
  192: "baseline",
  193: "extended",
  194: "progressive",
};
const OTHER_FRAMES: Readonly<Record<number, string>> = {
  195: "lossless",
  197: "hierarchical",
  198: "hierarchical",
  199: "hierarchical",
  201: "arithmetic-coded",
  202: "arithmetic-coded",
  203: "arithmetic-coded",
  205: "hierarchical",
  206: "hierarchical",
  207: "hierarchical",
};

export interface FrameComponent {
  readonly id: number;
  /** Horizontal and vertical sampling factors, 1..4. */
  readonly h: number;
  readonly v: number;
  /** Quantization table number, 0..3. */
  readonly tableId: number;
}

export interface JpegFrame {
  readonly width: number;
  readonly height: number;
  /** 1 grey, 3 YCbCr or RGB, 4 CMYK or YCCK. */
  readonly components: readonly FrameComponent[];
  /** The first APP1 segment that starts "Exif\0", where Pillow reads the orientation. */
  readonly exif?: Uint8Array;
}

/**
 * Reads a JPEG's markers up to the first scan, as Pillow's JPEG plugin does: stray bytes and fill
 * bytes between segments are skipped, the last frame header before the scan gives the size.
 * Throws for data that Pillow or the decoders cannot decode.
 */
export function readJpegFrame(bytes: Uint8Array): JpegFrame {
  let frame: Omit<JpegFrame, "exif"> | undefined;
  let exif: Uint8Array | undefined;
  for (const { marker, payload } of segments(bytes, { throughScans: false })) {
    if (marker === APP1 && exif === undefined && startsWith(payload, EXIF)) exif = payload;
    if (marker in OTHER_FRAMES) {
      throw new ImageError("unsupported_format", `${OTHER_FRAMES[marker]} JPEG is not supported`);
    }
    if (marker in DECODED_FRAMES) frame = frameHeader(payload);
    if (marker !== SOS) continue;
    if (frame === undefined) throw new ImageError("corrupt_image", "JPEG scan before any frame header");
    return { ...frame, ...(exif && { exif }) };
  }
  throw new ImageError("corrupt_image", "JPEG ends before its first scan");
}

/**
 * Whether the data reaches an end-of-image marker after its scans. The codec reads its input from
 * memory and pads a short file with grey, where Pillow raises "image file is truncated": checking
 * the structure first keeps that refusal. Data after the marker (thumbnails, motion-photo video) is ignored.
 */
export function hasEndOfImage(bytes: Uint8Array): boolean {
  for (const { marker } of segments(bytes, { throughScans: true })) if (marker === EOI) return true;
  return false;
}

/** A frame header (SOFn payload), checked for what Pillow and the decoders accept. */
export function frameHeader(payload: Uint8Array): Omit<JpegFrame, "exif"> {
  if (payload.length < 6) throw new ImageError("corrupt_image", "JPEG frame header is truncated");
  const precision = payload[0]!;
  const height = (payload[1]! << 8) | payload[2]!;
  const width = (payload[3]! << 8) | payload[4]!;
  const count = payload[5]!;
  if (precision !== 8) throw new ImageError("unsupported_format", `${precision}-bit JPEG is not supported`);
  if (count !== 1 && count !== 3 && count !== 4) {
    throw new ImageError("unsupported_format", `JPEG with ${count} components is not supported`);
  }
  if (payload.length < 6 + 3 * count) throw new ImageError("corrupt_image", "JPEG frame header is truncated");
  if (width === 0 || height === 0) {
    throw new ImageError("unsupported_format", `JPEG frame declares ${width}x${height} (DNL is not supported)`);
  }
  const components = Array.from({ length: count }, (_, i) => {
    const at = 6 + 3 * i;
    return { id: payload[at]!, h: payload[at + 1]! >> 4, v: payload[at + 1]! & 15, tableId: payload[at + 2]! };
  });
  if (components.some((c) => c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 || c.tableId > 3)) {
    throw new ImageError("corrupt_image", "JPEG frame header has bad sampling factors or table numbers");
  }
  return { width, height, components };
}

export interface Segment {
  readonly marker: number;
  /** The segment's bytes after its length field; empty for markers without one. */
  readonly payload: Uint8Array;
  /** For SOS when walking through scans: the entropy-coded data that follows, restart markers included. */
  readonly entropy?: Uint8Array;
}

/**
 * The marker segments from just after SOI. With `throughScans`, the entropy-coded data after each
 * SOS is stepped over (a 0xFF there is followed by 0x00 or a restart marker) and the walk goes on
 * to EOI; without it, the walk stops after the first SOS. Stops silently where the data ends.
 */
export function* segments(bytes: Uint8Array, { throughScans }: { throughScans: boolean }): Generator<Segment> {
  if (!startsWith(bytes, [0xff, SOI, 0xff])) throw new ImageError("corrupt_image", "not a JPEG (no SOI marker)");
  let at = 2;
  while (at < bytes.length) {
    if (bytes[at] !== 0xff) {
      at++;
      continue;
    }
    while (bytes[at] === 0xff) at++;
    if (at >= bytes.length) return;
    const marker = bytes[at++]!;
    if (marker === 0 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) continue;
    if (marker === EOI) {
      yield { marker, payload: bytes.subarray(at, at) };
      return;
    }
    if (marker === SOI) throw new ImageError("corrupt_image", "JPEG has a second SOI marker before its end");
    if (at + 2 > bytes.length) return;
    const length = (bytes[at]! << 8) | bytes[at + 1]!;
    if (length < 2) throw new ImageError("corrupt_image", `JPEG marker 0xFF${hex(marker)} has a bad length ${length}`);
    const end = at + length;
    if (end > bytes.length) return;
    const payload = bytes.subarray(at + 2, end);
    at = end;
    if (marker !== SOS) {
      yield { marker, payload };
      continue;
    }
    if (!throughScans) {
      yield { marker, payload };
      return;
    }
    at = endOfEntropyData(bytes, end);
    yield { marker, payload, entropy: bytes.subarray(end, at) };
  }
}

/** The offset of the first marker after entropy-coded data (neither a stuffed 0xFF00 nor a restart marker). */
function endOfEntropyData(bytes: Uint8Array, at: number): number {
  for (let i = bytes.indexOf(0xff, at); i >= 0 && i + 1 < bytes.length; i = bytes.indexOf(0xff, i + 1)) {
    const next = bytes[i + 1]!;
    if (next !== 0 && next !== 0xff && !(next >= 0xd0 && next <= 0xd7)) return i;
  }
  return bytes.length;
}

function hex(value: number): string {
  return value.toString(16).toUpperCase().padStart(2, "0");
}
