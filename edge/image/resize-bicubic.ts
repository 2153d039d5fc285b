import { ImageError } from "./errors.ts";
import { assertRgbImage, isPositiveInteger, type RgbImage } from "./rgb-image.ts";

// Pillow's `Image.resize(size, Image.BICUBIC)` on 8-bit RGB (libImaging/Resample.c), reproduced
// bit for bit: separable passes (horizontal, then vertical) with an 8-bit result after each,
// a Keys cubic (a = -0.5) widened by the downscale factor, and 22-bit fixed-point weights.

const A = -0.5;
const SUPPORT = 2;
/** 32 bits minus 8 for the pixel and 2 of headroom for the cubic's over- and undershoot. */
const PRECISION_BITS = 22;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

function cubic(x: number): number {
  if (x < 0) x = -x;
  if (x < 1) return ((A + 2) * x - (A + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * A;
  return 0;
}

/** Fixed-point weights of one axis: output pixel `i` reads inputs `first[i] .. first[i] + count[i] - 1`. */
interface AxisWeights {
  readonly first: Int32Array;
  readonly count: Int32Array;
  /** `stride` slots per output pixel, the first `count[i]` used. */
  readonly weights: Int32Array;
  readonly stride: number;
}

function axisWeights(inSize: number, outSize: number): AxisWeights {
  // Pillow carries the source box as C floats; sizes stay far below 2^24, where that is exact.
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = SUPPORT * filterScale;
  const inverseFilterScale = 1 / filterScale;
  const stride = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * stride);
  const raw = new Float64Array(stride);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    // Truncation toward zero, as C's (int) cast does, then clamping to the image.
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const n = Math.min(Math.trunc(center + support + 0.5), inSize) - lo;
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const w = cubic((j + lo - center + 0.5) * inverseFilterScale);
      raw[j] = w;
      sum += w;
    }
    const row = i * stride;
    for (let j = 0; j < n; j++) {
      const w = sum === 0 ? raw[j]! : raw[j]! / sum;
      // Rounded half away from zero, as Pillow converts to fixed point.
      weights[row + j] = Math.trunc(w < 0 ? w * ONE - 0.5 : w * ONE + 0.5);
    }
    first[i] = lo;
    count[i] = n;
  }
  return { first, count, weights, stride };
}

/**
 * Horizontal pass over source rows `firstRow .. firstRow + rows - 1`. Writing through a
 * Uint8ClampedArray view is Pillow's clip8: the sum shifted down, clamped to 0..255.
 */
function resampleRows(src: RgbImage, firstRow: number, rows: number, axis: AxisWeights, outWidth: number): Uint8Array {
  const { first, count, weights, stride } = axis;
  const source = src.data;
  const rowBytes = src.width * 3;
  const out = new Uint8Array(outWidth * rows * 3);
  const clamped = new Uint8ClampedArray(out.buffer);
  let o = 0;
  for (let y = 0; y < rows; y++) {
    const rowStart = (firstRow + y) * rowBytes;
    for (let x = 0; x < outWidth; x++) {
      let r = HALF;
      let g = HALF;
      let b = HALF;
      let p = rowStart + first[x]! * 3;
      const k0 = x * stride;
      const k1 = k0 + count[x]!;
      for (let k = k0; k < k1; k++, p += 3) {
        const w = weights[k]!;
        r += source[p]! * w;
        g += source[p + 1]! * w;
        b += source[p + 2]! * w;
      }
      clamped[o++] = r >> PRECISION_BITS;
      clamped[o++] = g >> PRECISION_BITS;
      clamped[o++] = b >> PRECISION_BITS;
    }
  }
  return out;
}

/**
 * Vertical pass. Every byte of a row is filtered the same way, so whole rows are accumulated at
 * once, four source rows per sweep, keeping memory access sequential. The sums are exact integers
 * whatever the order, as in Pillow's per-pixel loop. `rowOffset` is the first row held in `source`.
 */
function resampleColumns(
  source: Uint8Array,
  rowBytes: number,
  rowOffset: number,
  axis: AxisWeights,
  outHeight: number,
): Uint8Array {
  const { first, count, weights, stride } = axis;
  const out = new Uint8Array(rowBytes * outHeight);
  const clamped = new Uint8ClampedArray(out.buffer);
  const sums = new Int32Array(rowBytes);
  for (let y = 0; y < outHeight; y++) {
    sums.fill(HALF);
    const k0 = y * stride;
    const n = count[y]!;
    const base = (first[y]! - rowOffset) * rowBytes;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const w0 = weights[k0 + j]!;
      const w1 = weights[k0 + j + 1]!;
      const w2 = weights[k0 + j + 2]!;
      const w3 = weights[k0 + j + 3]!;
      const p0 = base + j * rowBytes;
      const p1 = p0 + rowBytes;
      const p2 = p1 + rowBytes;
      const p3 = p2 + rowBytes;
      for (let i = 0; i < rowBytes; i++) {
        sums[i]! += source[p0 + i]! * w0 + source[p1 + i]! * w1 + source[p2 + i]! * w2 + source[p3 + i]! * w3;
      }
    }
    for (; j < n; j++) {
      const w = weights[k0 + j]!;
      const p = base + j * rowBytes;
      for (let i = 0; i < rowBytes; i++) sums[i]! += source[p + i]! * w;
    }
    const o = y * rowBytes;
    for (let i = 0; i < rowBytes; i++) clamped[o + i] = sums[i]! >> PRECISION_BITS;
  }
  return out;
}

/** Pillow's `image.resize((width, height), Image.BICUBIC)` (no box, no reducing_gap). Always returns new data. */
export function resizeBicubic(image: RgbImage, width: number, height: number): RgbImage {
  assertRgbImage(image);
  if (!isPositiveInteger(width) || !isPositiveInteger(height)) {
    throw new ImageError("invalid_option", `resize target must be positive integers, got ${width}x${height}`);
  }
  const horizontal = width !== image.width;
  const vertical = height !== image.height;
  if (!horizontal && !vertical) return { data: image.data.slice(), width, height };
  if (!horizontal) {
    const rows = axisWeights(image.height, height);
    return { data: resampleColumns(image.data, width * 3, 0, rows, height), width, height };
  }
  const columns = axisWeights(image.width, width);
  if (!vertical) return { data: resampleRows(image, 0, height, columns, width), width, height };
  // As Pillow does, the horizontal pass covers only the source rows the vertical pass reads.
  const rows = axisWeights(image.height, height);
  const firstRow = rows.first[0]!;
  const endRow = rows.first[height - 1]! + rows.count[height - 1]!;
  const temp = resampleRows(image, firstRow, endRow - firstRow, columns, width);
  return { data: resampleColumns(temp, width * 3, firstRow, rows, height), width, height };
}
