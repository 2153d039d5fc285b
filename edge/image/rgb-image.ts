import { ImageError } from "./errors.ts";

/** An 8-bit RGB image, interleaved row-major (HWC): `data.length === width * height * 3`. */
export interface RgbImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

export function assertRgbImage(image: RgbImage): void {
  const { data, width, height } = image;
  if (!isPositiveInteger(width) || !isPositiveInteger(height)) {
    throw new ImageError("invalid_image", `image size must be positive integers, got ${width}x${height}`);
  }
  if (data.length !== width * height * 3) {
    throw new ImageError(
      "invalid_image",
      `RGB data of a ${width}x${height} image must hold ${width * height * 3} bytes, got ${data.length}`,
    );
  }
}

export function isPositiveInteger(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 1;
}

/**
 * 8-bit pixels as a decoder hands them over, interleaved row-major: `channels` bytes per pixel, RGB
 * or RGBA (whose alpha is ignored, as Pillow's `convert("RGB")` drops it).
 */
export interface Pixels {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: 3 | 4;
}
