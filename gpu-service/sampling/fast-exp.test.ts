import { describe, expect, it } from "vitest";
import { expOfNonPositive } from "./fast-exp.ts";

describe("expOfNonPositive", () => {
  it("agrees with Math.exp to 2e-11 (relative) over [-708, 0]", () => {
    let worst = 0;
    for (let n = 0; n <= 200_000; n++) {
      // A dense grid plus points just off the table's 1/32 steps, where the polynomial works hardest.
      for (const y of [-(n * 745) / 200_000, -n / 3200 - 1 / 64 + 1e-12]) {
        if (y < -708) continue; // e^y is subnormal below ~-708: relative error is meaningless there
        worst = Math.max(worst, Math.abs(expOfNonPositive(y) / Math.exp(y) - 1));
      }
    }
    expect(worst).toBeLessThan(2e-11);
  });

  it("is exact at 0 and underflows to 0 like float64", () => {
    expect(expOfNonPositive(0)).toBe(1);
    expect(expOfNonPositive(-744)).toBeGreaterThan(0);
    expect(expOfNonPositive(-746)).toBe(0);
    expect(expOfNonPositive(-Infinity)).toBe(0);
    expect(expOfNonPositive(Number.NaN)).toBe(0);
  });
});
