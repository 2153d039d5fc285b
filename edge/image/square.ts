import type { Rgb } from "./pad-colour.ts";
import type { RgbImage } from "./rgb-image.ts";

/** Where an image of `width x height` sits on its padded square, as the reference's `expand2square` puts it. */
export interface SquarePlacement {
  readonly side: number;
  readonly left: number;
  readonly top: number;
}

/**
 * A `max(w, h)` square with the image centred on the short axis at offset `(long - short) // 2`, so an
 * odd leftover pixel of padding lands at the bottom or right.
 */
export function squarePlacement(width: number, height: number): SquarePlacement {
  const side = Math.max(width, height);
  return { side, left: Math.floor((side - width) / 2), top: Math.floor((side - height) / 2) };
}

/** A `side x side` RGB canvas of `colour`. */
export function squareCanvas(side: number, colour: Rgb): Uint8Array {
  const rowBytes = side * 3;
  const out = new Uint8Array(rowBytes * side);
  for (let i = 0; i < rowBytes; i += 3) out.set(colour, i);
  for (let filled = rowBytes; filled < out.length; filled *= 2) {
    out.copyWithin(filled, 0, Math.min(filled, out.length - filled));
  }
  return out;
}

/**
 * The reference's `expand2square`: a `max(w, h)` square canvas of `colour` with the image pasted
 * centred (see `squarePlacement`). A square image is returned as is.
 */
export function expandToSquare(image: RgbImage, colour: Rgb): RgbImage {
  const { data, width, height } = image;
  if (width === height) return image;
  const { side, left, top } = squarePlacement(width, height);
  const rowBytes = side * 3;
  const out = squareCanvas(side, colour);
  const imageRowBytes = width * 3;
  for (let y = 0; y < height; y++) {
    out.set(data.subarray(y * imageRowBytes, (y + 1) * imageRowBytes), (top + y) * rowBytes + left * 3);
  }
  return { data: out, width: side, height: side };
}

/** Interleaved HWC RGB to channel-planar CHW (`[3, height, width]`), the layout sent to the GPU. */
export function toPlanar(image: RgbImage): Uint8Array {
  const { data } = image;
  const plane = image.width * image.height;
  const out = new Uint8Array(plane * 3);
  for (let i = 0, p = 0; i < plane; i++, p += 3) {
    out[i] = data[p]!;
    out[plane + i] = data[p + 1]!;
    out[2 * plane + i] = data[p + 2]!;
  }
  return out;
}

/** Channel-planar CHW back to interleaved HWC RGB (`side x side`), e.g. to write the square as a PNG. */
export function fromPlanar(planes: Uint8Array, side: number): RgbImage {
  const plane = side * side;
  const data = new Uint8Array(plane * 3);
  for (let i = 0, p = 0; i < plane; i++, p += 3) {
    data[p] = planes[i]!;
    data[p + 1] = planes[plane + i]!;
    data[p + 2] = planes[2 * plane + i]!;
  }
  return { data, width: side, height: side };
}
