import { ImageError } from "../errors.ts";
import type { Orientation } from "../orientation.ts";
import { dataView, latin1, startsWith } from "./bytes.ts";
import { exifOrientationValue, toOrientation } from "./exif.ts";

export const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Bit depths allowed per colour type (PNG spec table 11.1; also Pillow's `_MODES`). */
const DEPTHS: Readonly<Record<number, readonly number[]>> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

/** Samples per pixel of each colour type: grey, RGB, palette index, grey + alpha, RGBA. */
export const CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

export interface PngHeader {
  readonly width: number;
  readonly height: number;
  readonly bitDepth: number;
  readonly colorType: number;
  readonly interlaced: boolean;
}

export interface PngStructure extends PngHeader {
  /** PLTE bytes (RGB triplets), if present. */
  readonly palette?: Uint8Array;
  /** The data of the first run of consecutive IDAT chunks: the zlib stream Pillow decodes. */
  readonly idat: readonly Uint8Array[];
  readonly orientation?: Orientation;
}

interface Chunk {
  readonly type: string;
  readonly data: Uint8Array;
  /** False for the last chunk of a file cut short: `data` holds what is there. */
  readonly complete: boolean;
}

/** Metadata Pillow's `getexif()` looks at, by `info` key. */
type Info = Map<"exif" | "Raw profile type exif" | "XML:com.adobe.xmp", Uint8Array | string>;

/**
 * Walks a PNG's chunks the way Pillow's PNG plugin reads them: IHDR first; chunks before the
 * first IDAT must be whole and carry a correct CRC (Pillow raises "broken PNG file"), later ones
 * are not checked; the image data is the first run of IDAT chunks, as much of it as the file
 * holds (whether that is enough shows when it is inflated); the walk ends at IEND or where the
 * file ends. Orientation comes from eXIf, a "Raw profile type exif" text chunk or XMP text
 * (`tiff:Orientation`); compressed text chunks (zTXt, compressed iTXt) are not read.
 */
export function readPngStructure(bytes: Uint8Array): PngStructure {
  if (!startsWith(bytes, PNG_SIGNATURE)) throw new ImageError("corrupt_image", "not a PNG (bad signature)");
  const chunks = readChunks(bytes);
  const first = chunks.next();
  if (first.done || first.value.type !== "IHDR" || !first.value.complete) {
    throw new ImageError("corrupt_image", "PNG does not start with a whole IHDR chunk");
  }
  const header = parseHeader(first.value.data);
  let palette: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  let idatEnded = false;
  const beforeData: Info = new Map();
  const afterData: Info = new Map();
  for (const { type, data, complete } of chunks) {
    if (type === "IEND") break;
    if (!complete && idat.length === 0 && type !== "IDAT") {
      throw new ImageError("corrupt_image", `PNG is truncated inside its ${JSON.stringify(type)} chunk`);
    }
    if (type === "IDAT") {
      if (!idatEnded) idat.push(data);
      continue;
    }
    if (!complete) break;
    if (idat.length > 0) idatEnded = true;
    if (type === "PLTE" && idat.length === 0) palette = data;
    collectInfo(type, data, idatEnded ? afterData : beforeData);
  }
  if (idat.length === 0) throw new ImageError("corrupt_image", "PNG has no image data (IDAT)");
  // Pillow's getexif() loads the whole file (reading the chunks after the image data) only when
  // the chunks before it had no "exif" entry.
  const info = beforeData.has("exif") ? beforeData : new Map([...beforeData, ...afterData]);
  const orientation = infoOrientation(info);
  return { ...header, ...(palette && { palette }), idat, ...(orientation && { orientation }) };
}

function parseHeader(data: Uint8Array): PngHeader {
  if (data.length < 13) throw new ImageError("corrupt_image", "PNG IHDR chunk is truncated");
  const view = dataView(data);
  const width = view.getUint32(0);
  const height = view.getUint32(4);
  const bitDepth = data[8]!;
  const colorType = data[9]!;
  if (width === 0 || height === 0) throw new ImageError("corrupt_image", `PNG declares ${width}x${height} pixels`);
  if (!DEPTHS[colorType]?.includes(bitDepth)) {
    throw new ImageError("corrupt_image", `PNG colour type ${colorType} with bit depth ${bitDepth} is invalid`);
  }
  if (data[11] !== 0) throw new ImageError("corrupt_image", `PNG filter method ${data[11]} is unknown`);
  return { width, height, bitDepth, colorType, interlaced: data[12] !== 0 };
}

function* readChunks(bytes: Uint8Array): Generator<Chunk> {
  const view = dataView(bytes);
  let checkCrc = true;
  for (let at = PNG_SIGNATURE.length; at + 8 <= bytes.length; ) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const end = at + 12 + length;
    if (end > bytes.length) {
      const data = bytes.subarray(Math.min(at + 8, bytes.length), Math.min(end - 4, bytes.length));
      yield { type, data, complete: false };
      return;
    }
    if (type === "IDAT") checkCrc = false;
    if (checkCrc && crc32(bytes.subarray(at + 4, end - 4)) !== view.getUint32(end - 4)) {
      throw new ImageError("corrupt_image", `PNG ${JSON.stringify(type)} chunk has a bad CRC`);
    }
    yield { type, data: bytes.subarray(at + 8, end - 4), complete: true };
    at = end;
  }
}

function collectInfo(type: string, data: Uint8Array, info: Info): void {
  if (type === "eXIf") {
    info.set("exif", data);
    return;
  }
  const text = type === "tEXt" ? textChunk(data) : type === "iTXt" ? uncompressedInternationalText(data) : undefined;
  if (text === undefined) return;
  // Pillow keeps a tEXt "exif" value as raw bytes.
  if (text.keyword === "exif" && type === "tEXt") info.set("exif", data.subarray(5));
  else if (text.keyword === "Raw profile type exif" || text.keyword === "XML:com.adobe.xmp") {
    info.set(text.keyword, text.value);
  }
}

function textChunk(data: Uint8Array): { keyword: string; value: string } {
  const nul = data.indexOf(0);
  if (nul < 0) return { keyword: latin1(data), value: "" };
  return { keyword: latin1(data.subarray(0, nul)), value: latin1(data.subarray(nul + 1)) };
}

function uncompressedInternationalText(data: Uint8Array): { keyword: string; value: string } | undefined {
  const nul = data.indexOf(0);
  if (nul < 0 || data.length < nul + 3 || data[nul + 1] !== 0) return undefined;
  const language = data.indexOf(0, nul + 3);
  const translated = language < 0 ? -1 : data.indexOf(0, language + 1);
  if (translated < 0) return undefined;
  try {
    const value = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(data.subarray(translated + 1));
    return { keyword: latin1(data.subarray(0, nul)), value };
  } catch {
    return undefined;
  }
}

/** Pillow's `getexif()` on PNG info: the EXIF block (or the hex raw profile), then XMP if it had no orientation tag. */
function infoOrientation(info: Info): Orientation | undefined {
  const exif = info.get("exif");
  const rawProfile = info.get("Raw profile type exif");
  const profile = typeof rawProfile === "string" ? rawProfileBytes(rawProfile) : undefined;
  const block = exif instanceof Uint8Array ? exif : profile;
  const value = block === undefined ? undefined : exifOrientationValue(block);
  if (value !== undefined) return toOrientation(value);
  const xmp = info.get("XML:com.adobe.xmp");
  const match = typeof xmp === "string" ? /tiff:Orientation(="|>)([0-9])/.exec(xmp) : null;
  return match ? toOrientation(Number(match[2])) : undefined;
}

/** ImageMagick's hex text profile: three header lines, then hex digits split over lines. */
function rawProfileBytes(text: string): Uint8Array | undefined {
  const hex = text
    .split("\n")
    .slice(3)
    .join("")
    .replace(/[\t\n\v\f\r ]/g, "");
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

let crcTable: Uint32Array | undefined;

function crc32(bytes: Uint8Array): number {
  crcTable ??= Uint32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
