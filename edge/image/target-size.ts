import { ImageError } from "./errors.ts";
import { isPositiveInteger } from "./rgb-image.ts";

export interface Size {
  readonly width: number;
  readonly height: number;
}

/**
 * Size the reference resizes to before padding: the long side becomes `imageSize`, each side at
 * least `minSize`. Keeps the reference's float64 order (divide, then multiply, then truncate),
 * which for some sizes (not 384 or 1024 up to 30000 px) differs by one from `side * imageSize / longSide`.
 */
export function targetSize(width: number, height: number, imageSize: number, minSize = 14): Size {
  if (!isPositiveInteger(width) || !isPositiveInteger(height)) {
    throw new ImageError("invalid_image", `image size must be positive integers, got ${width}x${height}`);
  }
  for (const [name, value] of [
    ["imageSize", imageSize],
    ["minSize", minSize],
  ] as const) {
    if (!isPositiveInteger(value)) {
      throw new ImageError("invalid_option", `${name} must be a positive integer, got ${value}`);
    }
  }
  const longSide = Math.max(width, height);
  return {
    width: Math.max(Math.trunc((width / longSide) * imageSize), minSize),
    height: Math.max(Math.trunc((height / longSide) * imageSize), minSize),
  };
}
