import { describe, expect, it } from "vitest";
import {
  antialiasedBilinearTaps,
  bilinearTaps,
  normalizeChannels,
  rescaleUint8,
  resizeAntialiasedBilinear,
  resizeBilinear,
  resizeSeparable,
  type Tap,
} from "./resize.ts";

const ramp = (n: number) => Float64Array.from({ length: n }, (_, i) => i);
/** Applies 1-D taps to a row through the separable resize (height 1). */
const apply1d = (taps: Tap[], values: Float64Array) =>
  Array.from(resizeSeparable({ channels: 1, height: 1, width: values.length, data: values }, [{ indices: [0], weights: [1] }], taps).data);

describe("rescaleUint8", () => {
  it("is float64 u/255 rounded to fp32", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const y = rescaleUint8(all);
    expect(y[0]).toBe(0);
    expect(y[255]).toBe(1);
    expect(y[1]).toBe(Math.fround(1 / 255));
    // DESIGN §4: multiplying by fp32(1/255) instead differs for 126 of the 256 values.
    const viaMultiply = Array.from(all, (u) => Math.fround(u * Math.fround(1 / 255)));
    expect(viaMultiply.filter((v, u) => v !== y[u]).length).toBe(126);
  });
});

describe("normalizeChannels", () => {
  it("SigLIP's mean = std = 0.5 is x·2 − 1", () => {
    const y = normalizeChannels(
      { channels: 3, height: 1, width: 2, data: Float64Array.from([0, 1, 0.25, 0.5, 0.75, 0.1]) },
      [0.5, 0.5, 0.5],
      [0.5, 0.5, 0.5],
    );
    expect(Array.from(y.data)).toEqual([-1, 1, -0.5, 0, 0.5, 0.1 * 2 - 1].map((v) => expect.closeTo(v, 15)));
  });
});

describe("antialiased bilinear (torch antialias=True)", () => {
  it("an identity-size resize has identity taps", () => {
    for (const tap of antialiasedBilinearTaps(7, 7).entries()) {
      const [i, { indices, weights }] = tap;
      // Output i reads inputs i and i+1 (clipped at the end) with weights 1 and 0.
      expect(indices[0]).toBe(i);
      expect(weights[0]).toBe(1);
      expect(weights.slice(1).every((w) => w === 0)).toBe(true);
    }
  });

  it("8 → 4 (scale 2) has the triangle weights widened to support 2, renormalised at the borders", () => {
    const taps = antialiasedBilinearTaps(8, 4);
    // Output 0 is centred at 1: inputs 0,1,2 at distances 0.5,0.5,1.5 → 0.75,0.75,0.25 → /1.75.
    expect(taps[0]!.indices).toEqual([0, 1, 2]);
    // ATen stores the float32 quotients.
    expect(taps[0]!.weights).toEqual([3 / 7, 3 / 7, 1 / 7].map(Math.fround));
    // Output 1 is centred at 3: inputs 1..4 → 0.25,0.75,0.75,0.25 → /2.
    expect(taps[1]!.indices).toEqual([1, 2, 3, 4]);
    expect(taps[1]!.weights).toEqual([0.125, 0.375, 0.375, 0.125]);
    expect(taps[3]!.indices).toEqual([5, 6, 7]);
    // A ramp 0..7: interior outputs are the centre value, border outputs lean inwards.
    expect(apply1d(taps, ramp(8))).toEqual([5 / 7, 2.5, 4.5, 44 / 7].map((v) => expect.closeTo(v, 6)));
  });

  it("1024 → 384: weights sum to 1 (to float32), at most 7 taps, and a ramp is exact where the window is symmetric", () => {
    const taps = antialiasedBilinearTaps(1024, 384);
    for (const { indices, weights } of taps) {
      expect(indices.length).toBeLessThanOrEqual(7);
      expect(weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    }
    // Output 190 is centred at (8/3)·190.5 = 508 (a pixel edge), so the window is symmetric and the ramp
    // value (pixel j sits at j + 0.5) is 508 − 0.5.
    const out = apply1d(taps, ramp(1024));
    // (Within the float32 evaluation of the weights: ±1e-3 at values near 500.)
    expect(out[190]).toBeCloseTo(507.5, 3);
    expect(out[193]).toBeCloseTo((8 / 3) * 193.5 - 0.5, 3);
  });

  it("keeps a constant image constant", () => {
    const data = new Float64Array(2 * 20 * 20).fill(0.3);
    const y = resizeAntialiasedBilinear({ channels: 2, height: 20, width: 20, data }, 7);
    expect(y.height).toBe(7);
    for (const v of y.data) expect(v).toBeCloseTo(0.3, 6);
  });
});

describe("bilinear without antialias (align_corners=False)", () => {
  it("2 → 4 interpolates at the pixel centres and clamps at the borders", () => {
    expect(apply1d(bilinearTaps(2, 4), Float64Array.from([0, 1]))).toEqual([0, 0.25, 0.75, 1]);
  });

  it("64 → 96 maps a ramp to its clamped source coordinates", () => {
    const out = apply1d(bilinearTaps(64, 96), ramp(64));
    out.forEach((v, i) => expect(v).toBeCloseTo(Math.min(Math.max((2 / 3) * (i + 0.5) - 0.5, 0), 63), 5));
  });

  it("keeps a constant map constant (64 → 96)", () => {
    const data = new Float64Array(3 * 64 * 64).fill(-1.25);
    const y = resizeBilinear({ channels: 3, height: 64, width: 64, data }, 96);
    expect([y.channels, y.height, y.width]).toEqual([3, 96, 96]);
    for (const v of y.data) expect(v).toBeCloseTo(-1.25, 14);
  });

  it("is separable: a 2-D resize equals resizing rows then columns of an outer product", () => {
    const rows = Float64Array.from([1, 3, 2]);
    const cols = Float64Array.from([0, 5, 1, 4]);
    const data = Float64Array.from({ length: 12 }, (_, i) => rows[Math.floor(i / 4)]! * cols[i % 4]!);
    const y = resizeSeparable({ channels: 1, height: 3, width: 4, data }, bilinearTaps(3, 5), bilinearTaps(4, 6));
    const r = apply1d(bilinearTaps(3, 5), rows);
    const c = apply1d(bilinearTaps(4, 6), cols);
    for (let i = 0; i < 5; i++) for (let j = 0; j < 6; j++) expect(y.data[i * 6 + j]).toBeCloseTo(r[i]! * c[j]!, 13);
  });
});
