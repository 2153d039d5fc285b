// Exact fp32 <-> fp16 / bf16 conversions by bit manipulation (Math.f16round is not on every runtime we
// target). Narrowing rounds to nearest, ties to even. NaNs stay NaN with their sign and the upper payload
// bits, always quiet, so a NaN can never turn into an infinity; ±Inf, -0 and subnormals are exact.

// One scratch word for the scalar functions: bit access without allocating per call.
const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

function float32BitsToFloat16Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const magnitude = bits & 0x7fffffff;
  if (magnitude > 0x7f800000) return sign | 0x7e00 | ((magnitude >>> 13) & 0x3ff);
  // 65520 (0x477ff000) is halfway between 65504, the largest finite fp16 with an odd mantissa, and 2^16:
  // ties to even go up, so everything from there on is infinite.
  if (magnitude >= 0x477ff000) return sign | 0x7c00;
  if (magnitude >= 0x38800000) {
    // Normal in fp16 (>= 2^-14): round the 13 dropped mantissa bits, then rebias the exponent by 127 - 15.
    // A mantissa carry correctly bumps the exponent.
    const rounded = magnitude + 0xfff + ((magnitude >>> 13) & 1);
    return sign | ((rounded - (112 << 23)) >>> 13);
  }
  // Below 2^-25 even the tie goes to zero.
  if (magnitude <= 0x33000000) return sign;
  // Subnormal in fp16: the result counts units of 2^-24. The fp32 value is significand × 2^(exponent - 150),
  // i.e. significand >> (126 - exponent) units, with the shift between 14 and 24 here.
  const exponent = magnitude >>> 23;
  const significand = (magnitude & 0x7fffff) | 0x800000;
  const shift = 126 - exponent;
  const half = 1 << (shift - 1);
  const remainder = significand & ((half << 1) - 1);
  let units = significand >>> shift;
  if (remainder > half || (remainder === half && (units & 1) === 1)) units++;
  // units may reach 0x400, which is exactly the encoding of the smallest normal, 2^-14.
  return sign | units;
}

function float16BitsToFloat32Bits(half: number): number {
  const sign = (half & 0x8000) << 16;
  const exponent = (half >>> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  if (exponent === 0x1f) {
    return (sign | (mantissa === 0 ? 0x7f800000 : 0x7fc00000 | (mantissa << 13))) >>> 0;
  }
  if (exponent !== 0) return (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0;
  if (mantissa === 0) return sign >>> 0;
  // Subnormal: shift the leading one up to bit 10 (the implicit bit), lowering the exponent from 2^-14.
  const shift = Math.clz32(mantissa) - 21;
  return (sign | ((113 - shift) << 23) | (((mantissa << shift) & 0x3ff) << 13)) >>> 0;
}

function float32BitsToBfloat16Bits(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return (bits >>> 16) | 0x40;
  // Round the 16 dropped bits to nearest even; a carry into the exponent (up to Inf) is correct rounding.
  return (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
}

function bfloat16BitsToFloat32Bits(half: number): number {
  const bits = (half << 16) >>> 0;
  return (bits & 0x7fffffff) > 0x7f800000 ? (bits | 0x400000) >>> 0 : bits;
}

/** fp16 bits of `value` (first rounded to fp32, as it would be stored in a Float32Array). */
export function float32ToFloat16Bits(value: number): number {
  scratchFloat[0] = value;
  return float32BitsToFloat16Bits(scratchBits[0]!);
}

/** The value of fp16 bits (0..0xffff). */
export function float16BitsToFloat32(bits: number): number {
  scratchBits[0] = float16BitsToFloat32Bits(bits);
  return scratchFloat[0]!;
}

/** bf16 bits of `value` (first rounded to fp32). */
export function float32ToBfloat16Bits(value: number): number {
  scratchFloat[0] = value;
  return float32BitsToBfloat16Bits(scratchBits[0]!);
}

/** The value of bf16 bits (0..0xffff). */
export function bfloat16BitsToFloat32(bits: number): number {
  scratchBits[0] = bfloat16BitsToFloat32Bits(bits);
  return scratchFloat[0]!;
}

// The bulk converters work on the raw fp32 words, so NaN payloads survive exactly.

function narrow(values: Float32Array, convert: (bits: number) => number): Uint16Array {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(words.length);
  for (let i = 0; i < words.length; i++) out[i] = convert(words[i]!);
  return out;
}

function widen(halves: Uint16Array, convert: (half: number) => number): Float32Array {
  const out = new Float32Array(halves.length);
  const words = new Uint32Array(out.buffer);
  for (let i = 0; i < halves.length; i++) words[i] = convert(halves[i]!);
  return out;
}

export function float32ToFloat16(values: Float32Array): Uint16Array {
  return narrow(values, float32BitsToFloat16Bits);
}

export function float16ToFloat32(bits: Uint16Array): Float32Array {
  return widen(bits, float16BitsToFloat32Bits);
}

export function float32ToBfloat16(values: Float32Array): Uint16Array {
  return narrow(values, float32BitsToBfloat16Bits);
}

export function bfloat16ToFloat32(bits: Uint16Array): Float32Array {
  return widen(bits, bfloat16BitsToFloat32Bits);
}
