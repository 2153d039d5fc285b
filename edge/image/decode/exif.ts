import type { Orientation } from "../orientation.ts";
import { ascii, dataView, startsWith } from "./bytes.ts";

const ORIENTATION_TAG = 0x0112;
const EXIF_PREFIX = ascii("Exif\0\0");

/** Bytes per value of each TIFF field type Pillow reads; other types are skipped, as Pillow skips them. */
const TYPE_SIZES: Readonly<Record<number, number>> = {
  1: 1,
  2: 1,
  3: 2,
  4: 4,
  5: 8,
  6: 1,
  7: 1,
  8: 2,
  9: 4,
  10: 8,
  11: 4,
  12: 8,
  13: 4,
  16: 8,
};

/** Orientation 1..8 from a tag value; anything else (absent, not a number, out of range) is none. */
export function toOrientation(value: number | undefined): Orientation | undefined {
  const valid = value !== undefined && Number.isInteger(value) && value >= 1 && value <= 8;
  return valid ? (value as Orientation) : undefined;
}

/**
 * The first value of the orientation tag in an EXIF block (a TIFF structure, optionally behind
 * "Exif\0\0"), read as Pillow's `Image.getexif()` does: IFD0 only; entries of a type Pillow does
 * not know, or whose value lies outside the block, are skipped; a later entry for the same tag
 * wins. Pillow compares that value with the integers 1..8, so 6, 6.0 and the rational 12/2 all
 * mean 6, while BYTE, ASCII and UNDEFINED fields never match (NaN here). Undefined when the tag is
 * absent or the block unreadable (where Pillow either ignores the tag or raises).
 */
export function exifOrientationValue(block: Uint8Array): number | undefined {
  const tiff = startsWith(block, EXIF_PREFIX) ? block.subarray(6) : block;
  if (tiff.length < 8) return undefined;
  const view = dataView(tiff);
  const order = String.fromCharCode(tiff[0]!, tiff[1]!);
  if (order !== "II" && order !== "MM") return undefined;
  const little = order === "II";
  const magic = view.getUint16(2, little);
  // Pillow also accepts the byte-swapped magic; BigTIFF (43) fails in Pillow.
  if (magic !== 42 && magic !== 0x2a00) return undefined;
  let offset = view.getUint32(4, little);
  if (offset + 2 > tiff.length) return undefined;
  const count = view.getUint16(offset, little);
  offset += 2;
  let found: { type: number; valueAt: number } | undefined;
  for (let i = 0; i < count && offset + 12 <= tiff.length; i++, offset += 12) {
    if (view.getUint16(offset, little) !== ORIENTATION_TAG) continue;
    const type = view.getUint16(offset + 2, little);
    const unit = TYPE_SIZES[type];
    if (unit === undefined) continue;
    const size = view.getUint32(offset + 4, little) * unit;
    if (size === 0) continue;
    const valueAt = size > 4 ? view.getUint32(offset + 8, little) : offset + 8;
    if (valueAt + size > tiff.length) continue;
    found = { type, valueAt };
  }
  return found === undefined ? undefined : firstValue(view, found.type, found.valueAt, little);
}

function firstValue(view: DataView, type: number, at: number, little: boolean): number {
  switch (type) {
    case 3:
      return view.getUint16(at, little);
    case 4:
    case 13:
      return view.getUint32(at, little);
    case 6:
      return view.getInt8(at);
    case 8:
      return view.getInt16(at, little);
    case 9:
      return view.getInt32(at, little);
    case 16:
      return Number(view.getBigUint64(at, little));
    case 11:
      return view.getFloat32(at, little);
    case 12:
      return view.getFloat64(at, little);
    case 5:
    case 10: {
      const signed = type === 10;
      const numerator = signed ? view.getInt32(at, little) : view.getUint32(at, little);
      const denominator = signed ? view.getInt32(at + 4, little) : view.getUint32(at + 4, little);
      return denominator === 0 ? Number.NaN : numerator / denominator;
    }
    default:
      // BYTE, ASCII and UNDEFINED come back from Pillow as bytes or text, never equal to a number.
      return Number.NaN;
  }
}
