import { ImageError } from "./errors.ts";

export type Rgb = readonly [r: number, g: number, b: number];

/**
 * The square-padding colour: the reference truncates `mean * 255` per channel (the
 * `background_color` stored in the processor config is unused).
 */
export function padColour(imageMean: readonly number[]): Rgb {
  if (imageMean.length !== 3 || !imageMean.every((m) => Number.isFinite(m) && m >= 0 && m <= 1)) {
    throw new ImageError("invalid_option", `imageMean must be 3 numbers in [0, 1], got [${imageMean.join(", ")}]`);
  }
  const [r, g, b] = imageMean.map((m) => Math.trunc(m * 255)) as [number, number, number];
  return [r, g, b];
}
