// IEEE 754 binary16 and bfloat16 conversions (Node 22 has no Float16Array). Bulk paths use a table.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Half bits of a float32 value, rounded to nearest even (overflow gives infinity, NaN stays NaN). */
export function float32ToFloat16Bits(value: number): number {
  f32[0] = value;
  return bitsToHalf(u32[0]!);
}

function bitsToHalf(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const full = mantissa | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = full & ((1 << shift) - 1);
    let result = full >>> shift;
    if (rest > half || (rest === half && result & 1)) result++;
    return sign | result;
  }
  let result = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  if (rest > 0x1000 || (rest === 0x1000 && result & 1)) result++;
  return sign | result;
}

let halfTable: Float32Array | undefined;

/** Float32 value of every half bit pattern. */
function table(): Float32Array {
  if (halfTable) return halfTable;
  halfTable = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >>> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    halfTable[h] =
      exponent === 0
        ? sign * mantissa * 2 ** -24
        : exponent === 0x1f
          ? mantissa
            ? NaN
            : sign * Infinity
          : sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  return halfTable;
}

export function float16BitsToFloat32(bits: number): number {
  return table()[bits]!;
}

export function halfToFloat32(src: Uint16Array, dst: Float32Array): void {
  const t = table();
  for (let i = 0; i < src.length; i++) dst[i] = t[src[i]!]!;
}

export function bfloat16ToFloat32(src: Uint16Array, dst: Float32Array): void {
  const out = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i]! << 16;
}

export function float32ToHalf(src: Float32Array, dst: Uint16Array): void {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) dst[i] = bitsToHalf(bits[i]!);
}
