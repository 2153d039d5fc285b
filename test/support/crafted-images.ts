// Image files built byte by byte for hostile-input tests: valid ones of any size, and ones with
// lying headers, bad checksums, cut-off data or bombs. Written from the format specifications
// (PNG: W3C PNG 2nd ed.; JPEG: ITU T.81 markers; WebP: RIFF container spec), independently of
// the edge's parsers; real compressed data comes from zlib and the MozJPEG and libwebp encoders.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { crc32, deflateSync } from "node:zlib";
import encodeJpeg, { init as initJpegEncoder } from "@jsquash/jpeg/encode.js";
import encodeWebp, { init as initWebpEncoder } from "@jsquash/webp/encode.js";
import { testImage } from "./images.ts";

const require = createRequire(import.meta.url);
const wasm = (specifier: string) => new WebAssembly.Module(readFileSync(require.resolve(specifier)));

export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const ascii = (text: string) => new Uint8Array(Buffer.from(text, "latin1"));

/** One PNG chunk: length, type, data, CRC-32 over type and data (`crc` overrides the checksum). */
export function pngChunk(type: string, data: Uint8Array, crc?: number): Uint8Array {
  const head = new DataView(new ArrayBuffer(8));
  head.setUint32(0, data.length);
  const body = concat(ascii(type), data);
  const tail = new DataView(new ArrayBuffer(4));
  tail.setUint32(0, crc ?? crc32(body));
  return concat(new Uint8Array(head.buffer, 0, 4), body, new Uint8Array(tail.buffer));
}

export type PngHeader = { width: number; height: number; bitDepth?: number; colorType?: number; interlace?: number };

/** The 13 bytes of IHDR; sizes are written as given, however large or zero. */
export function ihdr({ width, height, bitDepth = 8, colorType = 2, interlace = 0 }: PngHeader): Uint8Array {
  const data = new DataView(new ArrayBuffer(13));
  data.setUint32(0, width);
  data.setUint32(4, height);
  data.setUint8(8, bitDepth);
  data.setUint8(9, colorType);
  data.setUint8(12, interlace);
  return new Uint8Array(data.buffer);
}

/** Unfiltered 8-bit scanlines: each row a filter-type byte (0 unless given) and `width * channels` samples. */
export function scanlines(
  width: number,
  height: number,
  channels: number,
  sample: (x: number, y: number, c: number) => number,
  filterType = 0,
): Uint8Array {
  const stride = width * channels + 1;
  const rows = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    rows[y * stride] = filterType;
    for (let x = 0; x < width; x++) for (let c = 0; c < channels; c++) rows[y * stride + 1 + x * channels + c] = sample(x, y, c);
  }
  return rows;
}

/** A whole PNG: signature, IHDR, one IDAT holding `idat` (already zlib-compressed), IEND. */
export function pngFile(header: PngHeader, idat: Uint8Array): Uint8Array {
  return concat(PNG_SIGNATURE, pngChunk("IHDR", ihdr(header)), pngChunk("IDAT", idat), pngChunk("IEND", new Uint8Array(0)));
}

/** A valid 8-bit RGB PNG of a photo-like test pattern. */
export function pngPhoto(width: number, height: number, seed = 1): Uint8Array {
  const rgb = testImage(width, height, seed);
  return pngFile({ width, height }, deflateSync(scanlines(width, height, 3, (x, y, c) => rgb[(y * width + x) * 3 + c]!)));
}

let encoders: Promise<void> | undefined;

function rgbaImage(width: number, height: number, seed: number) {
  const rgb = testImage(width, height, seed);
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([rgb[3 * i]!, rgb[3 * i + 1]!, rgb[3 * i + 2]!, 255], 4 * i);
  return { data, width, height, colorSpace: "srgb" } as unknown as Parameters<typeof encodeJpeg>[0];
}

async function loadEncoders(): Promise<void> {
  encoders ??= Promise.all([
    initJpegEncoder(wasm("@jsquash/jpeg/codec/enc/mozjpeg_enc.wasm") as never),
    initWebpEncoder(wasm("@jsquash/webp/codec/enc/webp_enc.wasm") as never),
  ]).then(() => undefined);
  return encoders;
}

/** A 4:2:0 YCbCr JPEG of the test pattern (MozJPEG, quality 85), baseline unless asked for progressive. */
export async function jpegPhoto(width: number, height: number, seed = 1, progressive = false): Promise<Uint8Array> {
  await loadEncoders();
  return new Uint8Array(await encodeJpeg(rgbaImage(width, height, seed), { quality: 85, progressive, baseline: !progressive }));
}

/** A lossy WebP of the test pattern (libwebp, quality 80). */
export async function webpPhoto(width: number, height: number, seed = 1): Promise<Uint8Array> {
  await loadEncoders();
  return new Uint8Array(await encodeWebp(rgbaImage(width, height, seed), { quality: 80 }));
}

export type JpegSegment = { marker: number /** offset of the 0xFF */; at: number /** offset after the segment */; end: number };

/** The marker segments of a JPEG from SOI up to and including the first SOS (T.81 B.1.1). */
export function jpegSegments(bytes: Uint8Array): JpegSegment[] {
  const segments: JpegSegment[] = [{ marker: 0xd8, at: 0, end: 2 }];
  for (let at = 2; at + 4 <= bytes.length; ) {
    if (bytes[at] !== 0xff) throw new Error(`no marker at ${at}`);
    const marker = bytes[at + 1]!;
    const end = at + 2 + ((bytes[at + 2]! << 8) | bytes[at + 3]!);
    segments.push({ marker, at, end });
    if (marker === 0xda) return segments;
    at = end;
  }
  throw new Error("no SOS");
}

/** The first segment with this marker. */
export function jpegSegment(bytes: Uint8Array, marker: number): JpegSegment {
  const segment = jpegSegments(bytes).find((s) => s.marker === marker);
  if (!segment) throw new Error(`no marker 0xFF${marker.toString(16)}`);
  return segment;
}

/** The JPEG with its frame header (SOF0) rewritten: marker, precision, declared size, component count. */
export function withFrame(
  bytes: Uint8Array,
  frame: { marker?: number; precision?: number; width?: number; height?: number; components?: number },
): Uint8Array {
  const out = bytes.slice();
  const { at } = jpegSegment(bytes, 0xc0);
  // SOFn: FF Cn, length (2), precision, height (2), width (2), component count.
  if (frame.marker !== undefined) out[at + 1] = frame.marker;
  if (frame.precision !== undefined) out[at + 4] = frame.precision;
  const view = new DataView(out.buffer);
  if (frame.height !== undefined) view.setUint16(at + 5, frame.height);
  if (frame.width !== undefined) view.setUint16(at + 7, frame.width);
  if (frame.components !== undefined) out[at + 9] = frame.components;
  return out;
}

/** A RIFF/WEBP file whose first chunk is `type` with `data` (RIFF size written truthfully). */
export function webpFile(type: string, data: Uint8Array): Uint8Array {
  const chunkHead = new DataView(new ArrayBuffer(4));
  chunkHead.setUint32(0, data.length, true);
  const padded = data.length % 2 ? concat(data, new Uint8Array(1)) : data;
  const body = concat(ascii("WEBP"), ascii(type), new Uint8Array(chunkHead.buffer), padded);
  const riff = new DataView(new ArrayBuffer(4));
  riff.setUint32(0, body.length, true);
  return concat(ascii("RIFF"), new Uint8Array(riff.buffer), body);
}

/** An extended-format header (VP8X): flags and a canvas of width x height (each 1..2^24). */
export function vp8x(width: number, height: number, flags = 0): Uint8Array {
  const data = new Uint8Array(10);
  data[0] = flags;
  const put24 = (at: number, value: number) => data.set([value & 255, (value >> 8) & 255, (value >> 16) & 255], at);
  put24(4, width - 1);
  put24(7, height - 1);
  return data;
}

/** A lossless bitstream header (VP8L): signature 0x2F, then 14-bit width-1 and height-1, no pixel data. */
export function vp8lHeader(width: number, height: number): Uint8Array {
  const data = new Uint8Array(5);
  data[0] = 0x2f;
  new DataView(data.buffer).setUint32(1, (width - 1) | ((height - 1) << 14), true);
  return data;
}

/** A lossy key-frame header (VP8, RFC 6386 9.1) declaring width x height, followed by `payload`. */
export function vp8Frame(width: number, height: number, payload: Uint8Array): Uint8Array {
  const head = new Uint8Array(10);
  const frameTag = 0 | (0 << 1) | (1 << 4) | ((payload.length & 0x7ffff) << 5); // key frame, version 0, shown
  head.set([frameTag & 255, (frameTag >> 8) & 255, (frameTag >> 16) & 255, 0x9d, 0x01, 0x2a], 0);
  const view = new DataView(head.buffer);
  view.setUint16(6, width, true);
  view.setUint16(8, height, true);
  return concat(head, payload);
}

/** Small files of the formats the edge does not take, by their magic bytes. */
export const OTHER_FORMATS = {
  gif: concat(
    ascii("GIF89a"),
    Uint8Array.of(1, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 255, 255, 255, 0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 1, 0, 0x3b),
  ),
  bmp: concat(ascii("BM"), new Uint8Array(60)),
  svg: ascii('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8"/></svg>'),
  heic: concat(Uint8Array.of(0, 0, 0, 24), ascii("ftypheic"), new Uint8Array(12)),
  text: ascii("hello, this is not an image"),
};
