import { ImageError } from "../errors.ts";
import type { RgbImage } from "../rgb-image.ts";
import { CHANNELS, type PngStructure } from "./png-structure.ts";

/** Adam7 passes: first column and row, column and row steps. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

interface Pass {
  readonly x0: number;
  readonly y0: number;
  readonly dx: number;
  readonly dy: number;
  readonly width: number;
  readonly height: number;
  /** Bytes per row, without the filter-type byte. */
  readonly rowBytes: number;
}

/**
 * Decodes a PNG's pixels to RGB exactly as Pillow's `Image.open(f).convert("RGB")`: alpha and
 * tRNS are dropped; 1/2/4-bit grey is scaled to 8 bits (x255, x85, x17); 16-bit colour keeps the
 * high byte, but 16-bit grey opens as Pillow mode "I" and converts by clipping to 0..255; palette
 * indices past the PLTE entries (or without PLTE) read Pillow's default grey ramp (i, i, i).
 */
export async function decodePng(png: PngStructure): Promise<RgbImage> {
  const { width, height, bitDepth, colorType } = png;
  const bitsPerPixel = bitDepth * CHANNELS[colorType]!;
  const passes = (png.interlaced ? ADAM7 : [[0, 0, 1, 1] as const]).flatMap(([x0, y0, dx, dy]): Pass[] => {
    const passWidth = Math.ceil((width - x0) / dx);
    const passHeight = Math.ceil((height - y0) / dy);
    if (passWidth <= 0 || passHeight <= 0) return [];
    const rowBytes = Math.ceil((passWidth * bitsPerPixel) / 8);
    return [{ x0, y0, dx, dy, width: passWidth, height: passHeight, rowBytes }];
  });
  const raw = await inflate(
    png.idat,
    passes.reduce((n, p) => n + p.height * (p.rowBytes + 1), 0),
  );
  const out = new Uint8Array(width * height * 3);
  const palette = paletteTable(png.palette);
  const filterStride = Math.max(1, bitsPerPixel >> 3);
  let at = 0;
  for (const pass of passes) {
    let previous: Uint8Array = new Uint8Array(pass.rowBytes);
    for (let y = 0; y < pass.height; y++) {
      const row = raw.subarray(at + 1, at + 1 + pass.rowBytes);
      unfilter(raw[at]!, row, previous, filterStride);
      at += pass.rowBytes + 1;
      const start = ((pass.y0 + y * pass.dy) * width + pass.x0) * 3;
      toRgb(row, pass.width, colorType, bitDepth, palette, out, start, pass.dx * 3);
      previous = row;
    }
  }
  return { data: out, width, height };
}

/** Pillow's palette: a grey ramp with the PLTE entries written over its start. */
function paletteTable(plte: Uint8Array | undefined): Uint8Array {
  const table = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) table.fill(i, 3 * i, 3 * i + 3);
  if (plte) table.set(plte.subarray(0, Math.min(256, Math.floor(plte.length / 3)) * 3));
  return table;
}

function unfilter(type: number, row: Uint8Array, previous: Uint8Array, stride: number): void {
  const n = row.length;
  switch (type) {
    case 0:
      return;
    case 1:
      for (let i = stride; i < n; i++) row[i] = row[i]! + row[i - stride]!;
      return;
    case 2:
      for (let i = 0; i < n; i++) row[i] = row[i]! + previous[i]!;
      return;
    case 3:
      for (let i = 0; i < n; i++) row[i] = row[i]! + (((i < stride ? 0 : row[i - stride]!) + previous[i]!) >> 1);
      return;
    case 4:
      for (let i = 0; i < n; i++) {
        const a = i < stride ? 0 : row[i - stride]!;
        const b = previous[i]!;
        const c = i < stride ? 0 : previous[i - stride]!;
        const pa = Math.abs(b - c);
        const pb = Math.abs(a - c);
        const pc = Math.abs(a + b - 2 * c);
        row[i] = row[i]! + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      }
      return;
    default:
      throw new ImageError("corrupt_image", `PNG row has an unknown filter type ${type}`);
  }
}

/** Writes `count` pixels of an unfiltered row as RGB at `out[start]`, `step` bytes apart. */
function toRgb(
  row: Uint8Array,
  count: number,
  colorType: number,
  bitDepth: number,
  palette: Uint8Array,
  out: Uint8Array,
  start: number,
  step: number,
): void {
  if (bitDepth < 8) {
    const perByte = 8 / bitDepth;
    const mask = (1 << bitDepth) - 1;
    const scale = 255 / mask;
    for (let x = 0, o = start; x < count; x++, o += step) {
      const shift = 8 - bitDepth * ((x % perByte) + 1);
      const v = (row[Math.floor(x / perByte)]! >> shift) & mask;
      if (colorType === 3) out.set(palette.subarray(3 * v, 3 * v + 3), o);
      else out.fill(v * scale, o, o + 3);
    }
    return;
  }
  const bytes = bitDepth >> 3;
  const stride = CHANNELS[colorType]! * bytes;
  for (let x = 0, p = 0, o = start; x < count; x++, p += stride, o += step) {
    switch (colorType) {
      case 0:
      case 4: {
        // 16-bit grey is Pillow mode "I" (clipped); grey + alpha at 16 bits keeps the high byte.
        const v = bytes === 1 ? row[p]! : colorType === 0 ? (row[p]! > 0 ? 255 : row[p + 1]!) : row[p]!;
        out[o] = out[o + 1] = out[o + 2] = v;
        break;
      }
      case 3: {
        const i = 3 * row[p]!;
        out[o] = palette[i]!;
        out[o + 1] = palette[i + 1]!;
        out[o + 2] = palette[i + 2]!;
        break;
      }
      default:
        out[o] = row[p]!;
        out[o + 1] = row[p + bytes]!;
        out[o + 2] = row[p + 2 * bytes]!;
    }
  }
}

/**
 * Inflates the zlib stream until `size` bytes are out, then stops, as Pillow's decoder stops once
 * it has every row: the stream's end (and its checksum) matter only if they come before that.
 * Never holds more than `size` bytes of output, whatever the stream claims.
 */
async function inflate(parts: readonly Uint8Array[], size: number): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  const stream = new DecompressionStream("deflate");
  const writer = stream.writable.getWriter();
  // Feeding runs alongside reading; its failure shows up on the reading side.
  const feeding = (async () => {
    for (const part of parts) await writer.write(part);
    await writer.close();
  })().catch(() => undefined);
  const reader = stream.readable.getReader();
  let filled = 0;
  let failure = "";
  try {
    while (filled < size) {
      const { done, value } = await reader.read();
      if (done) break;
      const take = Math.min(value.length, size - filled);
      out.set(value.subarray(0, take), filled);
      filled += take;
    }
  } catch (error) {
    failure = (error as Error).message;
  } finally {
    await reader.cancel().catch(() => undefined);
    await feeding;
  }
  if (filled < size) {
    const detail = `${filled} of ${size} bytes inflated${failure ? `: ${failure}` : ""}`;
    throw new ImageError("corrupt_image", `PNG image data is truncated or corrupt (${detail})`);
  }
  return out;
}
