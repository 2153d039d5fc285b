import type { RgbImage } from "../rgb-image.ts";
import type { Orientation } from "./exif.ts";

/**
 * Where output pixel (x, y) comes from, as source pixel index `base + x * dx + y * dy`, for each
 * orientation; `swap` when the output is `height x width`. These are the transposes Pillow's
 * `ImageOps.exif_transpose` picks: 2 FLIP_LEFT_RIGHT, 3 ROTATE_180, 4 FLIP_TOP_BOTTOM,
 * 5 TRANSPOSE, 6 ROTATE_270, 7 TRANSVERSE, 8 ROTATE_90.
 */
function walk(orientation: Orientation, w: number, h: number) {
  const last = w * h - 1;
  const lastRow = (h - 1) * w;
  switch (orientation) {
    case 1: return { swap: false, base: 0, dx: 1, dy: w };
    case 2: return { swap: false, base: w - 1, dx: -1, dy: w };
    case 3: return { swap: false, base: last, dx: -1, dy: -w };
    case 4: return { swap: false, base: lastRow, dx: 1, dy: -w };
    case 5: return { swap: true, base: 0, dx: w, dy: 1 };
    case 6: return { swap: true, base: lastRow, dx: -w, dy: 1 };
    case 7: return { swap: true, base: last, dx: -w, dy: -1 };
    case 8: return { swap: true, base: w - 1, dx: w, dy: -1 };
  }
}

/** The image turned and flipped upright for an EXIF orientation; orientation 1 returns the image itself. */
export function applyOrientation(image: RgbImage, orientation: Orientation): RgbImage {
  if (orientation === 1) return image;
  const { swap, base, dx, dy } = walk(orientation, image.width, image.height);
  const width = swap ? image.height : image.width;
  const height = swap ? image.width : image.height;
  const source = image.data;
  const out = new Uint8Array(source.length);
  let o = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0, p = (base + y * dy) * 3; x < width; x++, p += dx * 3) {
      out[o++] = source[p]!;
      out[o++] = source[p + 1]!;
      out[o++] = source[p + 2]!;
    }
  }
  return { data: out, width, height };
}
