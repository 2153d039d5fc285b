import { ImageError } from "../errors.ts";
import { ascii, startsWith } from "./bytes.ts";

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const APP1 = 0xe1;
const EXIF = ascii("Exif\0");

/** Frame types libjpeg-turbo 2.1.5 decodes (as Pillow's does): baseline, extended and progressive DCT, Huffman or arithmetic. */
const DECODED_FRAMES: Readonly<Record<number, string>> = {
  192: "baseline",
  193: "extended",
  194: "progressive",
  201: "arithmetic-coded extended",
  202: "arithmetic-coded progressive",
};
const OTHER_FRAMES: Readonly<Record<number, string>> = {
  195: "lossless",
  197: "hierarchical",
  198: "hierarchical",
  199: "hierarchical",
  203: "lossless arithmetic-coded",
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
  /** Progressive (SOF2, SOF10): libjpeg then holds every coefficient of the frame until the last scan. */
  readonly progressive: boolean;
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
  for (const { marker, payload } of segments(bytes)) {
    if (marker === APP1 && exif === undefined && startsWith(payload, EXIF)) exif = payload;
    if (marker in OTHER_FRAMES) {
      throw new ImageError("unsupported_format", `${OTHER_FRAMES[marker]} JPEG is not supported`);
    }
    if (marker in DECODED_FRAMES) frame = { ...frameHeader(payload), progressive: marker === 194 || marker === 202 };
    if (marker !== SOS) continue;
    if (frame === undefined) throw new ImageError("corrupt_image", "JPEG scan before any frame header");
    return { ...frame, ...(exif && { exif }) };
  }
  throw new ImageError("corrupt_image", "JPEG ends before its first scan");
}

/** A frame header (SOFn payload), checked for what Pillow and the decoders accept. */
function frameHeader(payload: Uint8Array): Omit<JpegFrame, "exif" | "progressive"> {
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

interface Segment {
  readonly marker: number;
  /** The segment's bytes after its length field; empty for markers without one. */
  readonly payload: Uint8Array;
}

/** The marker segments from just after SOI up to the first SOS (or EOI). Stops silently where the data ends. */
function* segments(bytes: Uint8Array): Generator<Segment> {
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
    yield { marker, payload };
    if (marker === SOS) return;
  }
}

function hex(value: number): string {
  return value.toString(16).toUpperCase().padStart(2, "0");
}

/**
 * Bytes of libjpeg's coefficient buffer for a progressive frame: 64 16-bit coefficients per 8x8 block of every
 * component, its blocks counted in whole MCUs as libjpeg allocates them (jdcoefct.c).
 */
export function coefficientBytes({ width, height, components }: JpegFrame): number {
  const hMax = Math.max(...components.map((c) => c.h));
  const vMax = Math.max(...components.map((c) => c.v));
  const mcusAcross = Math.ceil(width / (8 * hMax));
  const mcusDown = Math.ceil(height / (8 * vMax));
  return components.reduce((sum, c) => sum + mcusAcross * c.h * mcusDown * c.v * 128, 0);
}
