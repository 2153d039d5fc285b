import { describe, expect, it } from "vitest";
import {
  bfloat16BitsToFloat32,
  bfloat16ToFloat32,
  float16BitsToFloat32,
  float16ToFloat32,
  float32ToBfloat16,
  float32ToBfloat16Bits,
  float32ToFloat16,
  float32ToFloat16Bits,
} from "./float.ts";

// Independent oracles: values from sign/exponent/mantissa with Math.pow, rounding by searching the sorted
// list of all finite values of the narrow format for the nearest one in exact double arithmetic.

interface NarrowFormat {
  mantissaBits: number;
  bias: number;
}
const FP16: NarrowFormat = { mantissaBits: 10, bias: 15 };
const BF16: NarrowFormat = { mantissaBits: 7, bias: 127 };

function oracleValue(format: NarrowFormat, bits: number): number {
  const { mantissaBits, bias } = format;
  const sign = bits & 0x8000 ? -1 : 1;
  const exponentMax = 2 ** (15 - mantissaBits) - 1;
  const exponent = (bits >> mantissaBits) & exponentMax;
  const mantissa = bits & (2 ** mantissaBits - 1);
  if (exponent === exponentMax) return mantissa === 0 ? sign * Infinity : NaN;
  if (exponent === 0) return sign * mantissa * 2 ** (1 - bias - mantissaBits);
  return sign * (1 + mantissa / 2 ** mantissaBits) * 2 ** (exponent - bias);
}

function isNaNBits(format: NarrowFormat, bits: number): boolean {
  return Number.isNaN(oracleValue(format, bits));
}

/** Nearest value by exact double arithmetic, ties to the even encoding; beyond the largest finite the next
 * step up (2^(emax+1)) stands for infinity, which is the IEEE overflow rule. */
function oracleRound(format: NarrowFormat): (value: number) => number {
  const infinityBits = (2 ** (15 - format.mantissaBits) - 1) << format.mantissaBits;
  // Non-negative encodings 0..infinityBits are increasing in value; use 2^(emax+1) for infinity's slot.
  const ladder = Array.from({ length: infinityBits + 1 }, (_, bits) =>
    bits === infinityBits ? 2 ** (2 ** (15 - format.mantissaBits) - 1 - format.bias) : oracleValue(format, bits),
  );
  return (value) => {
    const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
    const magnitude = Math.abs(value);
    if (magnitude >= ladder[infinityBits]!) return sign | infinityBits;
    let lo = 0;
    let hi = infinityBits;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (ladder[mid]! <= magnitude) lo = mid;
      else hi = mid;
    }
    const below = magnitude - ladder[lo]!;
    const above = ladder[hi]! - magnitude;
    const pick = below < above ? lo : above < below ? hi : lo % 2 === 0 ? lo : hi;
    return sign | pick;
  };
}

const ALL_PATTERNS = Uint16Array.from({ length: 65536 }, (_, bits) => bits);

function float32FromBits(...bits: number[]): Float32Array {
  return new Float32Array(Uint32Array.from(bits).buffer);
}

function bitsOfFloat32(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}

/** Deterministic xorshift32 so failures reproduce. */
function randomWords(count: number, seed: number): Uint32Array {
  const out = new Uint32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    out[i] = state;
  }
  return out;
}

function expectRoundTripOfAllPatterns(
  format: NarrowFormat,
  widen: (bits: Uint16Array) => Float32Array,
  narrow: (values: Float32Array) => Uint16Array,
  quietBit: number,
): void {
  const wide = widen(ALL_PATTERNS);
  const wideBits = bitsOfFloat32(wide);
  const back = narrow(wide);
  for (let bits = 0; bits < 65536; bits++) {
    const wideSign = wideBits[bits]! >>> 31;
    const got = back[bits]!;
    if (isNaNBits(format, bits)) {
      // NaN in both formats, sign kept, quiet; a quiet NaN comes back bit for bit.
      expect((wideBits[bits]! & 0x7fffffff) > 0x7f800000 && wideSign === bits >> 15, `wide NaN of ${bits}`).toBe(true);
      expect(isNaNBits(format, got) && got >> 15 === bits >> 15 && (got & quietBit) !== 0, `NaN ${bits}`).toBe(true);
      if (bits & quietBit) expect(got).toBe(bits);
    } else if (got !== bits) {
      expect(got, `pattern ${bits}`).toBe(bits);
    }
  }
}

function expectValuesOfAllPatterns(
  format: NarrowFormat,
  widen: (bits: Uint16Array) => Float32Array,
  scalar: (bits: number) => number,
): void {
  const wide = widen(ALL_PATTERNS);
  for (let bits = 0; bits < 65536; bits++) {
    const want = oracleValue(format, bits);
    if (!Object.is(wide[bits], want)) expect(wide[bits], `bulk ${bits}`).toBe(want);
    if (!Object.is(scalar(bits), want)) expect(scalar(bits), `scalar ${bits}`).toBe(want);
  }
}

function expectRandomRounding(
  words: Uint32Array,
  oracle: (value: number) => number,
  narrow: (values: Float32Array) => Uint16Array,
  scalar: (value: number) => number,
): void {
  const values = new Float32Array(words.buffer);
  const got = narrow(values);
  let checked = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    if (Number.isNaN(value)) continue;
    const want = oracle(value);
    if (got[i] !== want) expect(got[i], `bulk ${value} (0x${words[i]!.toString(16)})`).toBe(want);
    if (scalar(value) !== want) expect(scalar(value), `scalar ${value}`).toBe(want);
    checked++;
  }
  expect(checked).toBeGreaterThan(values.length * 0.9);
}

describe("fp16", () => {
  const oracle = oracleRound(FP16);

  it("widens all 65536 patterns to the values given by sign, exponent and mantissa", () => {
    expectValuesOfAllPatterns(FP16, float16ToFloat32, float16BitsToFloat32);
  });

  it("round-trips all 65536 patterns through fp32", () => {
    expectRoundTripOfAllPatterns(FP16, float16ToFloat32, float32ToFloat16, 0x200);
  });

  it.each([
    ["1 + 2^-11 (tie, down to even)", 1 + 2 ** -11, 0x3c00],
    ["1 + 3·2^-11 (tie, up to even)", 1 + 3 * 2 ** -11, 0x3c02],
    ["just above a tie", 1 + 2 ** -11 + 2 ** -23, 0x3c01],
    ["just below a tie", 1 + 2 ** -11 - 2 ** -23, 0x3c00],
    ["largest finite 65504", 65504, 0x7bff],
    ["65519.99", 65519.99, 0x7bff],
    ["largest fp32 below 65520", 65520 - 2 ** -8, 0x7bff],
    ["65520 (tie, overflows)", 65520, 0x7c00],
    ["-65520", -65520, 0xfc00],
    ["1e10", 1e10, 0x7c00],
    ["largest fp32", 3.4028234663852886e38, 0x7c00],
    ["Infinity", Infinity, 0x7c00],
    ["-Infinity", -Infinity, 0xfc00],
    ["smallest subnormal 2^-24", 2 ** -24, 0x0001],
    ["2^-25 (tie, down to zero)", 2 ** -25, 0x0000],
    ["-2^-25 (tie, down to -0)", -(2 ** -25), 0x8000],
    ["just above 2^-25", 2 ** -25 + 2 ** -48, 0x0001],
    ["3·2^-25 (tie, up to even)", 3 * 2 ** -25, 0x0002],
    ["5·2^-25 (tie, down to even)", 5 * 2 ** -25, 0x0002],
    ["largest subnormal", 1023 * 2 ** -24, 0x03ff],
    ["2^-14 - 2^-25 (tie, up into the normals)", 2 ** -14 - 2 ** -25, 0x0400],
    ["smallest normal 2^-14", 2 ** -14, 0x0400],
    ["smallest fp32 subnormal", 2 ** -149, 0x0000],
    ["0", 0, 0x0000],
    ["-0", -0, 0x8000],
    ["-1.5", -1.5, 0xbe00],
  ])("rounds %s", (_, value, want) => {
    expect(float32ToFloat16Bits(value)).toBe(want);
    expect(float32ToFloat16(Float32Array.of(value))[0]).toBe(want);
    expect(oracle(value)).toBe(want);
  });

  it.each([
    ["quiet", 0x7fc00000, 0x7e00],
    ["negative quiet", 0xffc00000, 0xfe00],
    ["with its payload only in dropped bits, never Inf", 0x7f800001, 0x7e00],
    ["negative, payload only in dropped bits", 0xff800001, 0xfe00],
    ["signalling: quietened, upper payload kept", 0x7fa00000, 0x7f00],
    ["negative with payload", 0xff812345, 0xfe09],
  ])("keeps an fp32 NaN a NaN: %s", (_, bits, want) => {
    expect(float32ToFloat16(float32FromBits(bits))[0]).toBe(want);
  });

  it("widens NaNs to quiet fp32 NaNs with sign and payload", () => {
    expect(bitsOfFloat32(float16ToFloat32(Uint16Array.of(0x7c01, 0xfe00, 0x7dff)))).toEqual(
      Uint32Array.of(0x7fc02000, 0xffc00000, 0x7fffe000),
    );
    expect(float16BitsToFloat32(0x7c01)).toBeNaN();
  });

  it("rounds random fp32 values like the nearest-neighbour oracle", () => {
    // Uniform bit patterns (mostly far outside fp16) plus a 576×1024 block concentrated on fp16's range.
    const uniform = randomWords(200_000, 0x9e3779b9);
    expectRandomRounding(uniform, oracle, float32ToFloat16, float32ToFloat16Bits);
    const inRange = randomWords(576 * 1024, 12345).map((word) => {
      const exponent = 100 + (word % 44); // 2^-27 .. 2^16
      return (word & 0x807fffff) | (exponent << 23);
    });
    expectRandomRounding(inRange, oracle, float32ToFloat16, float32ToFloat16Bits);
  });
});

describe("bf16", () => {
  const oracle = oracleRound(BF16);

  it("widens all 65536 patterns to the values given by sign, exponent and mantissa", () => {
    expectValuesOfAllPatterns(BF16, bfloat16ToFloat32, bfloat16BitsToFloat32);
  });

  it("round-trips all 65536 patterns through fp32", () => {
    expectRoundTripOfAllPatterns(BF16, bfloat16ToFloat32, float32ToBfloat16, 0x40);
  });

  it.each([
    ["1 + 2^-8 (tie, down to even)", 0x3f808000, 0x3f80],
    ["1 + 3·2^-8 (tie, up to even)", 0x3f818000, 0x3f82],
    ["just above a tie", 0x3f808001, 0x3f81],
    ["just below a tie", 0x3f807fff, 0x3f80],
    ["below the overflow tie", 0x7f7f7fff, 0x7f7f],
    ["overflow tie (odd, so up to Inf)", 0x7f7f8000, 0x7f80],
    ["largest fp32", 0x7f7fffff, 0x7f80],
    ["-largest fp32", 0xff7fffff, 0xff80],
    ["Infinity", 0x7f800000, 0x7f80],
    ["subnormal tie down to 0", 0x00008000, 0x0000],
    ["subnormal tie up to even", 0x00018000, 0x0002],
    ["-0", 0x80000000, 0x8000],
    ["quiet NaN", 0x7fc00000, 0x7fc0],
    ["NaN with low payload only", 0x7f800001, 0x7fc0],
    ["negative signalling NaN", 0xff810000, 0xffc1],
  ])("rounds %s", (_, bits, want) => {
    const value = float32FromBits(bits);
    expect(float32ToBfloat16(value)[0]).toBe(want);
    if (!Number.isNaN(value[0])) {
      expect(float32ToBfloat16Bits(value[0]!)).toBe(want);
      expect(oracle(value[0]!)).toBe(want);
    }
  });

  it("rounds random fp32 values like the nearest-neighbour oracle", () => {
    expectRandomRounding(randomWords(300_000, 0x2545f491), oracle, float32ToBfloat16, float32ToBfloat16Bits);
  });
});
