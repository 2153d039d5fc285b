import { ImageError } from "./errors.ts";
import { uprightPixels } from "./orientation.ts";
import { type Canvas, copyView, type PixelView } from "./pixel-view.ts";
import { isPositiveInteger, type RgbImage } from "./rgb-image.ts";

// Pillow's `Image.resize(size, Image.BICUBIC)` on 8-bit RGB (libImaging/Resample.c), reproduced
// bit for bit: separable passes (horizontal, then vertical) with an 8-bit result after each,
// a Keys cubic (a = -0.5) widened by the downscale factor, and 22-bit fixed-point weights.

const A = -0.5;
const SUPPORT = 2;
/** 32 bits minus 8 for the pixel and 2 of headroom for the cubic's over- and undershoot. */
export const PRECISION_BITS = 22;
const ONE = 1 << PRECISION_BITS;
/** What every fixed-point sum starts from: Pillow rounds by adding half before the shift. */
export const HALF = 1 << (PRECISION_BITS - 1);

function cubic(x: number): number {
  if (x < 0) x = -x;
  if (x < 1) return ((A + 2) * x - (A + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * A;
  return 0;
}

/** Fixed-point weights of one axis: output pixel `i` reads inputs `first[i] .. first[i] + count[i] - 1`. */
export interface AxisWeights {
  readonly first: Int32Array;
  readonly count: Int32Array;
  /** `stride` slots per output pixel, the first `count[i]` used. */
  readonly weights: Int32Array;
  readonly stride: number;
}

export function axisWeights(inSize: number, outSize: number): AxisWeights {
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
 * One pass of the separable filter, along either axis of a view: output `i` at position `t` sums
 * inputs `first[i] ..` at that position, input `j` being the pixel at `source[start + t * positionStep
 * + j * tapStep ..]` (its first three bytes), and goes to `out[outStart + t * outPositionStep + i * outStep ..]`.
 * Writing through a Uint8ClampedArray view is Pillow's clip8: the sum shifted down, clamped to 0..255.
 */
export interface Pass {
  readonly source: Uint8Array;
  readonly start: number;
  readonly positions: number;
  readonly positionStep: number;
  readonly tapStep: number;
  readonly axis: AxisWeights;
  readonly out: Uint8Array;
  readonly outStart: number;
  readonly outPositionStep: number;
  readonly outStep: number;
}

/** A pass whose taps lie close together (along a row in memory): one output pixel at a time, as Pillow does. */
function filterNearTaps(pass: Pass): void {
  const { source, start, positions, positionStep, tapStep, out, outStart, outPositionStep, outStep } = pass;
  const { first, count, weights, stride } = pass.axis;
  const clamped = new Uint8ClampedArray(out.buffer, out.byteOffset, out.length);
  for (let t = 0; t < positions; t++) {
    const from = start + t * positionStep;
    let o = outStart + t * outPositionStep;
    for (let i = 0; i < first.length; i++, o += outStep) {
      let r = HALF;
      let g = HALF;
      let b = HALF;
      let p = from + first[i]! * tapStep;
      const k1 = i * stride + count[i]!;
      for (let k = i * stride; k < k1; k++, p += tapStep) {
        const w = weights[k]!;
        r += source[p]! * w;
        g += source[p + 1]! * w;
        b += source[p + 2]! * w;
      }
      clamped[o] = r >> PRECISION_BITS;
      clamped[o + 1] = g >> PRECISION_BITS;
      clamped[o + 2] = b >> PRECISION_BITS;
    }
  }
}

/**
 * A pass whose taps lie far apart (one per row in memory): each output sums whole lines of
 * positions, four lines per sweep, so memory is read in order. The sums are exact integers whatever
 * the order, as in Pillow's per-pixel loop.
 */
function filterFarTaps(pass: Pass): void {
  const { source, start, positions, positionStep, tapStep, out, outStart, outPositionStep, outStep } = pass;
  const { first, count, weights, stride } = pass.axis;
  const clamped = new Uint8ClampedArray(out.buffer, out.byteOffset, out.length);
  const sums = new Int32Array(positions * 3);
  const t1 = tapStep;
  const t2 = 2 * tapStep;
  const t3 = 3 * tapStep;
  for (let i = 0; i < first.length; i++) {
    sums.fill(HALF);
    const k0 = i * stride;
    const n = count[i]!;
    const base = start + first[i]! * tapStep;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const w0 = weights[k0 + j]!;
      const w1 = weights[k0 + j + 1]!;
      const w2 = weights[k0 + j + 2]!;
      const w3 = weights[k0 + j + 3]!;
      for (let s = 0, p = base + j * tapStep; s < sums.length; s += 3, p += positionStep) {
        sums[s]! += source[p]! * w0 + source[p + t1]! * w1 + source[p + t2]! * w2 + source[p + t3]! * w3;
        sums[s + 1]! += source[p + 1]! * w0 + source[p + 1 + t1]! * w1 + source[p + 1 + t2]! * w2 + source[p + 1 + t3]! * w3;
        sums[s + 2]! += source[p + 2]! * w0 + source[p + 2 + t1]! * w1 + source[p + 2 + t2]! * w2 + source[p + 2 + t3]! * w3;
      }
    }
    for (; j < n; j++) {
      const w = weights[k0 + j]!;
      for (let s = 0, p = base + j * tapStep; s < sums.length; s += 3, p += positionStep) {
        sums[s]! += source[p]! * w;
        sums[s + 1]! += source[p + 1]! * w;
        sums[s + 2]! += source[p + 2]! * w;
      }
    }
    for (let s = 0, o = outStart + i * outStep; s < sums.length; s += 3, o += outPositionStep) {
      clamped[o] = sums[s]! >> PRECISION_BITS;
      clamped[o + 1] = sums[s + 1]! >> PRECISION_BITS;
      clamped[o + 2] = sums[s + 2]! >> PRECISION_BITS;
    }
  }
}

export function filter(pass: Pass): void {
  if (Math.abs(pass.tapStep) > Math.abs(pass.positionStep)) filterFarTaps(pass);
  else filterNearTaps(pass);
}

/**
 * Pillow's `resize((width, height), BICUBIC)` of the upright image a view shows, read in place (an EXIF
 * turn only permutes pixels), written onto `canvas`. Pillow's order holds: the horizontal pass first,
 * over just the rows the vertical pass reads, then the vertical pass, each rounding to 8 bits; a pass
 * along an unchanged axis is skipped, as Pillow skips it. The first pass lays its result out in the
 * order it reads memory (along upright rows, or along upright columns when the turn stores those as
 * rows), so whatever the turn each pass reads either neighbouring bytes or whole rows in order.
 */
export function resizeView(view: PixelView, width: number, height: number, canvas: Canvas): void {
  const vertical = height !== view.height;
  const rows = vertical ? axisWeights(view.height, height) : undefined;
  let source = view;
  if (width !== view.width) {
    const lo = rows ? rows.first[0]! : 0;
    const hi = rows ? rows.first[height - 1]! + rows.count[height - 1]! : view.height;
    let target: PixelView;
    if (vertical) {
      const alongRows = Math.abs(view.stepX) < Math.abs(view.stepY);
      const [stepX, stepY] = alongRows ? [3, width * 3] : [(hi - lo) * 3, 3];
      // Holds rows lo..hi only. (0 - x, not -x: a -0 origin would make V8 compute every index in floating point.)
      const origin = 0 - lo * stepY;
      target = { data: new Uint8Array(width * (hi - lo) * 3), width, height: view.height, origin, stepX, stepY };
    } else {
      target = { data: canvas.data, width, height, origin: canvas.offset, stepX: 3, stepY: canvas.rowBytes };
    }
    filter({
      source: view.data,
      start: view.origin + lo * view.stepY,
      positions: hi - lo,
      positionStep: view.stepY,
      tapStep: view.stepX,
      axis: axisWeights(view.width, width),
      out: target.data,
      outStart: target.origin + lo * target.stepY,
      outPositionStep: target.stepY,
      outStep: target.stepX,
    });
    source = target;
  }
  if (rows) {
    filter({
      source: source.data,
      start: source.origin,
      positions: width,
      positionStep: source.stepX,
      tapStep: source.stepY,
      axis: rows,
      out: canvas.data,
      outStart: canvas.offset,
      outPositionStep: 3,
      outStep: canvas.rowBytes,
    });
  } else if (source === view) {
    copyView(view, canvas);
  }
}

/** Pillow's `image.resize((width, height), Image.BICUBIC)` (no box, no reducing_gap). Always returns new data. */
export function resizeBicubic(image: RgbImage, width: number, height: number): RgbImage {
  const view = uprightPixels(image);
  if (!isPositiveInteger(width) || !isPositiveInteger(height)) {
    throw new ImageError("invalid_option", `resize target must be positive integers, got ${width}x${height}`);
  }
  const data = new Uint8Array(width * height * 3);
  resizeView(view, width, height, { data, offset: 0, rowBytes: width * 3 });
  return { data, width, height };
}
