import { describe, expect, it } from "vitest";
import {
  channelsToTokens,
  conv2d,
  erf,
  gelu,
  layerNorm,
  layerNorm2d,
  linear,
  multiHeadAttention,
  rmsNorm,
  splitQkv,
  tokensToChannels,
} from "./ops.ts";

const t = (shape: number[], data: number[]) => ({ shape, data: Float32Array.from(data) });
const f64 = (data: number[]) => Float64Array.from(data);

describe("erf and GELU", () => {
  it("matches tabulated erf values to double precision", () => {
    // Abramowitz & Stegun / DLMF values.
    expect(erf(0)).toBe(0);
    expect(erf(0.5)).toBeCloseTo(0.5204998778130465, 15);
    expect(erf(1)).toBeCloseTo(0.8427007929497149, 15);
    expect(erf(2)).toBeCloseTo(0.9953222650189527, 15);
    expect(erf(3)).toBeCloseTo(0.9999779095030014, 15);
    expect(erf(-1)).toBeCloseTo(-0.8427007929497149, 15);
    expect(erf(7)).toBe(1);
  });

  it("is the exact GELU x·Φ(x)", () => {
    // Φ(1) = 0.841344746068543, Φ(−1) = 0.158655253931457.
    expect(gelu(1)).toBeCloseTo(0.841344746068543, 14);
    expect(gelu(-1)).toBeCloseTo(-0.158655253931457, 14);
    expect(gelu(0)).toBe(0);
  });
});

describe("linear and norms", () => {
  it("computes W·x + b per row", () => {
    const y = linear(f64([1, 2, 3, 4]), 2, t([1, 2], [10, 1]), t([1], [0.5]));
    expect(Array.from(y)).toEqual([12.5, 34.5]);
  });

  it("LayerNorm uses the biased variance", () => {
    const y = layerNorm(f64([1, 2, 3]), 3, t([3], [1, 1, 1]), t([3], [0, 0, 0]), 0);
    const s = Math.sqrt(2 / 3);
    expect(Array.from(y)).toEqual([-1 / s, 0, 1 / s].map((v) => expect.closeTo(v, 14)));
  });

  it("RMSNorm divides by the root mean square and scales", () => {
    const y = rmsNorm(f64([3, 4]), 2, t([2], [1, 2]), 0);
    const rms = Math.sqrt(12.5);
    expect(y[0]).toBeCloseTo(3 / rms, 14);
    expect(y[1]).toBeCloseTo((2 * 4) / rms, 14);
  });

  it("LayerNorm2d equals LayerNorm applied to each pixel's channel vector", () => {
    const channels = 3;
    const data = f64(Array.from({ length: channels * 2 * 2 }, (_, i) => Math.sin(i * 1.7) * 3));
    const weight = t([3], [0.5, -1, 2]);
    const bias = t([3], [0.1, 0.2, 0.3]);
    const map = { channels, height: 2, width: 2, data };
    const viaMap = channelsToTokens(layerNorm2d(map, weight, bias, 1e-6));
    const viaRows = layerNorm(channelsToTokens(map), channels, weight, bias, 1e-6);
    for (let i = 0; i < viaRows.length; i++) expect(viaMap[i]).toBeCloseTo(viaRows[i]!, 14);
  });
});

describe("layouts", () => {
  it("tokens are row-major pixels (t = row·W + col) and the round trip is exact", () => {
    // channel c, row y, col x holds 100c + 10y + x.
    const data = f64([0, 1, 2, 10, 11, 12, 100, 101, 102, 110, 111, 112]);
    const tokens = channelsToTokens({ channels: 2, height: 2, width: 3, data });
    expect(Array.from(tokens)).toEqual([0, 100, 1, 101, 2, 102, 10, 110, 11, 111, 12, 112]);
    expect(Array.from(tokensToChannels(tokens, 2, 3, 2).data)).toEqual(Array.from(data));
  });

  it("splits qkv as [3][heads][head_dim]", () => {
    const { q, k, v } = splitQkv(f64([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), 2, 2);
    expect(Array.from(q)).toEqual([1, 2, 7, 8]);
    expect(Array.from(k)).toEqual([3, 4, 9, 10]);
    expect(Array.from(v)).toEqual([5, 6, 11, 12]);
  });
});

describe("conv2d", () => {
  it("3x3, stride 2, padding 1 sums the clipped neighbourhoods", () => {
    const input = { channels: 1, height: 4, width: 4, data: f64(Array.from({ length: 16 }, (_, i) => i + 1)) };
    const y = conv2d(input, t([1, 1, 3, 3], Array(9).fill(1)), undefined, 2, 1);
    expect([y.height, y.width]).toEqual([2, 2]);
    // (0,0): rows/cols 0..1; (0,1): rows 0..1, cols 1..3; (1,0): rows 1..3, cols 0..1; (1,1): rows/cols 1..3.
    expect(Array.from(y.data)).toEqual([
      1 + 2 + 5 + 6,
      2 + 3 + 4 + 6 + 7 + 8,
      5 + 6 + 9 + 10 + 13 + 14,
      6 + 7 + 8 + 10 + 11 + 12 + 14 + 15 + 16,
    ]);
  });

  it("a 1x1 convolution is a Linear on every pixel", () => {
    const map = { channels: 2, height: 2, width: 2, data: f64([1, 2, 3, 4, 5, 6, 7, 8]) };
    const weight = [2, -1, 0.5, 3];
    const y = conv2d(map, t([2, 2, 1, 1], weight), t([2], [1, 0]), 1, 0);
    const expected = linear(channelsToTokens(map), 4, t([2, 2], weight), t([2], [1, 0]));
    expect(Array.from(channelsToTokens(y))).toEqual(Array.from(expected));
  });
});

describe("multiHeadAttention", () => {
  it("with a single key returns its value, whatever the query", () => {
    const out = multiHeadAttention(f64([3, -7, 0.5, 2]), f64([1, 1, 5, 5]), f64([9, 8, 7, 6]), {
      queries: 1,
      keys: 1,
      heads: 2,
      kvHeads: 2,
      headDim: 2,
      scale: 0.7,
    });
    expect(Array.from(out)).toEqual([9, 8, 7, 6]);
  });

  it("weights keys by softmax of scale·q·k + bias", () => {
    // q·k = 0 and 1, scale ln 3 → weights 1/4 and 3/4.
    const out = multiHeadAttention(f64([1]), f64([0, 1]), f64([10, 20]), {
      queries: 1,
      keys: 2,
      heads: 1,
      kvHeads: 1,
      headDim: 1,
      scale: Math.log(3),
    });
    expect(out[0]).toBeCloseTo(17.5, 12);
    // A bias of ln 3 on key 0 equalises them.
    const biased = multiHeadAttention(f64([1]), f64([0, 1]), f64([10, 20]), {
      queries: 1,
      keys: 2,
      heads: 1,
      kvHeads: 1,
      headDim: 1,
      scale: Math.log(3),
      addLogitBias: (_h, _q, logits) => {
        logits[0] = logits[0]! + Math.log(3);
      },
    });
    expect(biased[0]).toBeCloseTo(15, 12);
  });

  it("masks invisible keys (causal)", () => {
    const out = multiHeadAttention(f64([0, 0]), f64([0, 0]), f64([10, 20]), {
      queries: 2,
      keys: 2,
      heads: 1,
      kvHeads: 1,
      headDim: 1,
      scale: 1,
      causal: true,
    });
    expect(Array.from(out)).toEqual([10, 15]);
  });

  it("groups query heads onto kv heads (GQA: head h reads kv head ⌊h/2⌋ for 4 heads over 2)", () => {
    // k = 0 gives uniform weights, so each head returns the mean of its kv head's values over the 2 keys.
    const v = f64([1, 100, 3, 300]); // key 0: kv heads (1, 100); key 1: (3, 300)
    const out = multiHeadAttention(f64([5, -2, 7, 1]), f64([0, 0, 0, 0]), v, {
      queries: 1,
      keys: 2,
      heads: 4,
      kvHeads: 2,
      headDim: 1,
      scale: 1,
    });
    expect(Array.from(out)).toEqual([2, 2, 200, 200]);
  });
});
