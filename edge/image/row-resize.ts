import { type Orientation, TURNS } from "./orientation.ts";
import type { Canvas, PixelView } from "./pixel-view.ts";
import { type AxisWeights, axisWeights, filter, HALF, PRECISION_BITS, resizeView } from "./resize-bicubic.ts";

/**
 * Pillow's `exif_transpose` then `resize((width, height), BICUBIC)` of an image that arrives as its stored RGB rows,
 * in decode order, so the frame is never held: only the horizontally resized image (`width` x the upright height,
 * the rows the vertical pass reads) is. The horizontal pass runs on each row as it arrives; when the turn makes
 * stored rows upright columns (orientations 5-8), each row is added into the outputs whose taps it is, and an output
 * is rounded once its last tap arrived. Then the vertical pass runs as `resizeView` runs it. Byte for byte Pillow's
 * result: its sums are exact integers (22-bit weights on 8-bit samples), whatever order they are taken in.
 */
export class RowResize {
  readonly #stored: { readonly width: number; readonly height: number };
  readonly #mirrorX: boolean;
  readonly #mirrorY: boolean;
  readonly #swap: boolean;
  readonly #width: number;
  readonly #height: number;
  readonly #canvas: Canvas;
  /** The horizontally resized upright image, rows `#lo .. #hi` only. */
  readonly #resized: Uint8Array;
  readonly #lo: number;
  readonly #hi: number;
  readonly #uprightWidth: number;
  readonly #uprightHeight: number;
  /** Weights of the horizontal pass; undefined when the width does not change. */
  readonly #across: AxisWeights | undefined;
  /** Orientations 5-8: per output column, its running sums over rows lo..hi and the taps still to come. */
  readonly #open = new Map<number, Int32Array>();
  readonly #pending: Int32Array | undefined;

  constructor(stored: { width: number; height: number }, orientation: Orientation, width: number, height: number, canvas: Canvas) {
    const { swap, mirrorX, mirrorY } = TURNS[orientation];
    this.#stored = stored;
    this.#swap = swap;
    this.#mirrorX = mirrorX;
    this.#mirrorY = mirrorY;
    this.#width = width;
    this.#height = height;
    this.#canvas = canvas;
    this.#uprightWidth = swap ? stored.height : stored.width;
    this.#uprightHeight = swap ? stored.width : stored.height;
    const rows = height !== this.#uprightHeight ? axisWeights(this.#uprightHeight, height) : undefined;
    this.#lo = rows ? rows.first[0]! : 0;
    this.#hi = rows ? rows.first[height - 1]! + rows.count[height - 1]! : this.#uprightHeight;
    this.#across = width !== this.#uprightWidth ? axisWeights(this.#uprightWidth, width) : undefined;
    this.#resized = new Uint8Array(width * (this.#hi - this.#lo) * 3);
    this.#pending = swap && this.#across ? Int32Array.from(this.#across.count) : undefined;
  }

  /** `count` stored rows from stored row `first`, RGB, `rows` holding them back to back. */
  push(rows: Uint8Array, first: number, count: number): void {
    const rowBytes = this.#stored.width * 3;
    for (let r = 0; r < count; r++) {
      const row = rows.subarray(r * rowBytes, (r + 1) * rowBytes);
      if (this.#swap) this.#column(row, first + r);
      else this.#row(row, first + r);
    }
  }

  /** Orientations 1-4: stored row `y` is an upright row (its pixels reversed when mirrored). */
  #row(row: Uint8Array, y: number): void {
    const upright = this.#mirrorY ? this.#uprightHeight - 1 - y : y;
    if (upright < this.#lo || upright >= this.#hi) return;
    const outStart = (upright - this.#lo) * this.#width * 3;
    const start = this.#mirrorX ? row.length - 3 : 0;
    const step = this.#mirrorX ? -3 : 3;
    if (!this.#across) {
      for (let x = 0, p = start, o = outStart; x < this.#width; x++, p += step, o += 3) {
        this.#resized[o] = row[p]!;
        this.#resized[o + 1] = row[p + 1]!;
        this.#resized[o + 2] = row[p + 2]!;
      }
      return;
    }
    filter({
      source: row,
      start,
      positions: 1,
      positionStep: 0,
      tapStep: step,
      axis: this.#across,
      out: this.#resized,
      outStart,
      outPositionStep: 0,
      outStep: 3,
    });
  }

  /** Orientations 5-8: stored row `y` is upright column `x`, its pixels running down (or up) the upright rows. */
  #column(row: Uint8Array, y: number): void {
    const x = this.#mirrorX ? this.#uprightWidth - 1 - y : y;
    const rows = this.#hi - this.#lo;
    // Upright row u is stored pixel `mirrorY ? height - 1 - u : u` of this stored row.
    const start = (this.#mirrorY ? this.#uprightHeight - 1 - this.#lo : this.#lo) * 3;
    const step = this.#mirrorY ? -3 : 3;
    const across = this.#across;
    if (!across) {
      for (let u = 0, p = start, o = x * 3; u < rows; u++, p += step, o += this.#width * 3) {
        this.#resized[o] = row[p]!;
        this.#resized[o + 1] = row[p + 1]!;
        this.#resized[o + 2] = row[p + 2]!;
      }
      return;
    }
    const { first, weights, stride } = across;
    // The outputs whose taps include x: a contiguous run, as first[] and first[] + count[] never decrease.
    let i = this.#firstOutputAfter(x);
    for (; i < this.#width && first[i]! <= x; i++) {
      const weight = weights[i * stride + (x - first[i]!)]!;
      let sums = this.#open.get(i);
      if (!sums) {
        sums = new Int32Array(rows * 3).fill(HALF);
        this.#open.set(i, sums);
      }
      for (let s = 0, p = start; s < sums.length; s += 3, p += step) {
        sums[s]! += row[p]! * weight;
        sums[s + 1]! += row[p + 1]! * weight;
        sums[s + 2]! += row[p + 2]! * weight;
      }
      if (--this.#pending![i]! > 0) continue;
      // Its last tap: round to 8 bits (Pillow's clip8) into column i, and let the sums go.
      const clamped = new Uint8ClampedArray(this.#resized.buffer, this.#resized.byteOffset, this.#resized.length);
      for (let s = 0, o = i * 3; s < sums.length; s += 3, o += this.#width * 3) {
        clamped[o] = sums[s]! >> PRECISION_BITS;
        clamped[o + 1] = sums[s + 1]! >> PRECISION_BITS;
        clamped[o + 2] = sums[s + 2]! >> PRECISION_BITS;
      }
      this.#open.delete(i);
    }
  }

  /** The first output whose taps reach past x (binary search over first[] + count[]). */
  #firstOutputAfter(x: number): number {
    const { first, count } = this.#across!;
    let lo = 0;
    let hi = this.#width;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (first[mid]! + count[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** After the last stored row: the vertical pass (or a copy) onto the canvas. */
  finish(): void {
    if (this.#open.size > 0) throw new Error(`the image ended with ${this.#open.size} output columns still waiting for rows`);
    const view: PixelView = {
      data: this.#resized,
      width: this.#width,
      height: this.#uprightHeight,
      // (0 - x, not -x: a -0 origin would make V8 compute every index in floating point.)
      origin: 0 - this.#lo * this.#width * 3,
      stepX: 3,
      stepY: this.#width * 3,
    };
    resizeView(view, this.#width, this.#height, this.#canvas);
  }
}
