import { ImageError } from "../errors.ts";
import type { RgbImage } from "../rgb-image.ts";
import { decodeJpegPlanes, type JpegPlanes } from "./jpeg-decoder.ts";

// jdcolor.c build_ycc_rgb_table: 16-bit fixed point, rounded as libjpeg's FIX() rounds.
const SCALE_BITS = 16;
const ONE_HALF = 1 << (SCALE_BITS - 1);
const fix = (x: number) => Math.trunc(x * (1 << SCALE_BITS) + 0.5);
const CR_R = Int32Array.from({ length: 256 }, (_, i) => (fix(1.402) * (i - 128) + ONE_HALF) >> SCALE_BITS);
const CB_B = Int32Array.from({ length: 256 }, (_, i) => (fix(1.772) * (i - 128) + ONE_HALF) >> SCALE_BITS);
const CR_G = Int32Array.from({ length: 256 }, (_, i) => -fix(0.71414) * (i - 128));
const CB_G = Int32Array.from({ length: 256 }, (_, i) => -fix(0.34414) * (i - 128) + ONE_HALF);

const clamp = (v: number) => (v < 0 ? 0 : Math.min(v, 255));

/** Pillow's CMYK -> RGB (Convert.c cmyk2rgb) for one ink: `255 - k`, less the ink scaled by it, rounded. */
function ink(value: number, notBlack: number): number {
  const t = value * notBlack + 128;
  return clamp(notBlack - (((t >> 8) + t) >> 8));
}

/** libjpeg's guess of the colour space behind 3 or 4 components (jdapimin.c default_decompress_parms). */
function transformed({ planes, componentIds, jfif, adobeTransform }: JpegPlanes): boolean {
  if (planes.length === 4) return adobeTransform !== undefined && adobeTransform !== 0; // YCCK, else CMYK
  if (jfif) return true;
  if (adobeTransform !== undefined) return adobeTransform !== 0; // YCbCr, else RGB
  const [a, b, c] = componentIds;
  return !(a === 82 && b === 71 && c === 66); // "R", "G", "B" ids mean RGB
}

/**
 * A JPEG decoded by the TypeScript decoder into the RGB Pillow gives: grey is replicated, YCbCr
 * converted by libjpeg's tables; 4 components are CMYK or YCCK (converted to CMYK by libjpeg),
 * which Pillow opens as "CMYK;I" (Adobe's inverted inks, assumed for every CMYK JPEG) and
 * converts with its own formula.
 */
export function decodeJpegInTypeScript(bytes: Uint8Array): RgbImage {
  const decoded = decodeJpegPlanes(bytes);
  const { width, height, planes } = decoded;
  const [p0, p1, p2, p3] = planes as [Uint8Array, Uint8Array?, Uint8Array?, Uint8Array?];
  const out = new Uint8Array(width * height * 3);
  if (planes.length === 1) {
    for (let i = 0, o = 0; i < p0.length; i++, o += 3) out[o] = out[o + 1] = out[o + 2] = p0[i]!;
    return { data: out, width, height };
  }
  if (!p1 || !p2 || planes.length === 2) {
    throw new ImageError("unsupported_format", `JPEG with ${planes.length} components is not supported`);
  }
  const ycc = transformed(decoded);
  for (let i = 0, o = 0; i < p0.length; i++, o += 3) {
    let r = p0[i]!;
    let g = p1[i]!;
    let b = p2[i]!;
    if (ycc) {
      const luma = r;
      const cb = g;
      const cr = b;
      r = clamp(luma + CR_R[cr]!);
      g = clamp(luma + ((CB_G[cb]! + CR_G[cr]!) >> SCALE_BITS));
      b = clamp(luma + CB_B[cb]!);
    }
    if (p3) {
      // YCCK's inks are 255 minus the converted values, CMYK's the samples. Pillow inverts them
      // ("CMYK;I"): its ink is the converted value (YCCK) or 255 - sample, its 255 - k the decoded k.
      const k = p3[i]!;
      out[o] = ink(ycc ? r : 255 - r, k);
      out[o + 1] = ink(ycc ? g : 255 - g, k);
      out[o + 2] = ink(ycc ? b : 255 - b, k);
      continue;
    }
    out[o] = r;
    out[o + 1] = g;
    out[o + 2] = b;
  }
  return { data: out, width, height };
}
