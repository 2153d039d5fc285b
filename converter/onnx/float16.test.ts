import { describe, expect, it } from "vitest";
import { bfloat16ToFloat32, float16BitsToFloat32, float32ToFloat16Bits, float32ToHalf, halfToFloat32 } from "./float16.ts";

// Bit patterns from the IEEE 754 binary16 definition.
describe("float16", () => {
  it("encodes representative values to their IEEE half bit patterns", () => {
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(-2)).toBe(0xc000);
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00); // rounds up to infinity
    expect(float32ToFloat16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(float32ToFloat16Bits(2 ** -14)).toBe(0x0400); // smallest normal
    expect(float32ToFloat16Bits(0.1)).toBe(0x2e66);
    expect(float32ToFloat16Bits(Number.NaN) & 0x7c00).toBe(0x7c00);
    expect(float32ToFloat16Bits(-0)).toBe(0x8000);
  });

  it("rounds ties to even", () => {
    // 1 + 2^-11 lies halfway between 1 (even mantissa) and 1 + 2^-10.
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);
    // 1 + 3 * 2^-11 lies halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even).
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });

  it("decodes half and bfloat16 bits", () => {
    expect(float16BitsToFloat32(0x3555)).toBeCloseTo(0.333251953125, 12);
    expect(float16BitsToFloat32(0xfc00)).toBe(-Infinity);
    const wide = new Float32Array(3);
    halfToFloat32(Uint16Array.of(0x3c00, 0xc000, 0x0001), wide);
    expect([...wide]).toEqual([1, -2, 2 ** -24]);
    bfloat16ToFloat32(Uint16Array.of(0x3f80, 0xc040, 0x3e20), wide);
    expect([...wide]).toEqual([1, -3, 0.15625]);
    const halves = new Uint16Array(2);
    float32ToHalf(Float32Array.of(0.5, -65504), halves);
    expect([...halves]).toEqual([0x3800, 0xfbff]);
  });
});
