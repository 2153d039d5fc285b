import { describe, expect, it } from "vitest";
import { alignerHybridSplit, alignerMlpGelu } from "./aligner.ts";
import { gelu } from "./ops.ts";
import { weightMap } from "./weights.ts";

const GELU_1 = 0.841344746068543; // 1·Φ(1)
const GELU_2 = 1.954499736103642; // 2·Φ(2)

describe("alignerMlpGelu (1.3B)", () => {
  it("is layers.2(GELU(layers.0(x)))", () => {
    const weights = weightMap({
      "aligner.layers.0.weight": { shape: [1, 1], data: [1] },
      "aligner.layers.0.bias": { shape: [1], data: [0] },
      "aligner.layers.2.weight": { shape: [2, 1], data: [2, -1] },
      "aligner.layers.2.bias": { shape: [2], data: [1, 0] },
    });
    const y = alignerMlpGelu(weights, { shape: [1, 1, 1], data: Float64Array.of(1) });
    expect(y.shape).toEqual([1, 1, 2]);
    expect(y.data[0]).toBeCloseTo(2 * GELU_1 + 1, 14);
    expect(y.data[1]).toBeCloseTo(-GELU_1, 14);
  });
});

describe("alignerHybridSplit (7B)", () => {
  it("concatenates high (SAM) first, then low, before GELU and layers.1", () => {
    const weights = weightMap({
      "aligner.high_up_proj.weight": { shape: [1, 1], data: [1] },
      "aligner.high_up_proj.bias": { shape: [1], data: [0] },
      "aligner.low_up_proj.weight": { shape: [1, 1], data: [1] },
      "aligner.low_up_proj.bias": { shape: [1], data: [0] },
      "aligner.layers.1.weight": { shape: [1, 2], data: [1, 10] },
      "aligner.layers.1.bias": { shape: [1], data: [0.5] },
    });
    const high = { shape: [1, 2, 1], data: Float64Array.of(1, 2) };
    const low = { shape: [1, 2, 1], data: Float64Array.of(2, 1) };
    const y = alignerHybridSplit(weights, high, low);
    expect(y.shape).toEqual([1, 2, 1]);
    // Token 0: high 1, low 2 → gelu(1) + 10·gelu(2) + 0.5; token 1 swaps them.
    expect(y.data[0]).toBeCloseTo(GELU_1 + 10 * GELU_2 + 0.5, 13);
    expect(y.data[1]).toBeCloseTo(GELU_2 + 10 * GELU_1 + 0.5, 13);
    expect(gelu(2)).toBeCloseTo(GELU_2, 14);
  });

  it("rejects towers whose outputs do not line up token by token", () => {
    const weights = weightMap({});
    expect(() =>
      alignerHybridSplit(weights, { shape: [1, 2, 1], data: new Float64Array(2) }, { shape: [1, 3, 1], data: new Float64Array(3) }),
    ).toThrow(/differ in shape/);
  });
});
