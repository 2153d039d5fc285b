import { describe, expect, it } from "vitest";
import { SequenceRng, splitMix64, xoshiro128StarStar } from "./rng.ts";

/** Published SplitMix64 outputs for seed 1234567 (Rosetta Code "Pseudo-random numbers/Splitmix64"). */
const SPLITMIX64_SEED_1234567 = [
  6457827717110365317n,
  3203168211198807973n,
  9817491932198370423n,
  4593380528125082431n,
  16408922859458223821n,
];
/** xoshiro128** from state {1, 2, 3, 4}: the outputs of Vigna's reference C code (v1.1), as rand_xoshiro tests them. */
const XOSHIRO128SS_STATE_1234 = [11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849, 3729100597, 4258142804];

const low = (word: bigint) => Number(word & 0xffffffffn);
const high = (word: bigint) => Number(word >> 32n);

describe("splitMix64", () => {
  it("reproduces the published outputs", () => {
    let state = 1234567n;
    const outputs: bigint[] = [];
    for (let n = 0; n < 5; n++) {
      const [next, output] = splitMix64(state);
      state = next;
      outputs.push(output);
    }
    expect(outputs).toEqual(SPLITMIX64_SEED_1234567);
    expect(splitMix64(0n)[1]).toBe(0xe220a8397b1dcdafn);
  });
});

describe("xoshiro128StarStar", () => {
  it("reproduces the reference implementation's outputs", () => {
    const state = Uint32Array.from([1, 2, 3, 4]);
    expect(XOSHIRO128SS_STATE_1234.map(() => xoshiro128StarStar(state))).toEqual(XOSHIRO128SS_STATE_1234);
  });
});

describe("SequenceRng", () => {
  it("seeds xoshiro128** with two SplitMix64 outputs, low words first", () => {
    const [first, second] = SPLITMIX64_SEED_1234567 as [bigint, bigint];
    const state = Uint32Array.from([low(first), high(first), low(second), high(second)]);
    const expected = Array.from({ length: 8 }, () => xoshiro128StarStar(state));
    const rng = new SequenceRng(1234567n);
    expect(expected.map(() => rng.nextUint32())).toEqual(expected);
  });

  it("builds a 53-bit uniform from two outputs (27 high bits, then 26)", () => {
    const words = new SequenceRng(42n);
    const [a, b, c, d] = [words.nextUint32(), words.nextUint32(), words.nextUint32(), words.nextUint32()];
    const rng = new SequenceRng(42n);
    expect(rng.nextUniform()).toBe(((a >>> 5) * 67108864 + (b >>> 6)) / 9007199254740992);
    expect(rng.nextUniform()).toBe(((c >>> 5) * 67108864 + (d >>> 6)) / 9007199254740992);
  });

  it("gives the same stream for the same seed and different streams for different seeds", () => {
    const draw = (seed: bigint) => {
      const rng = new SequenceRng(seed);
      return Array.from({ length: 1000 }, () => rng.nextUniform());
    };
    expect(draw(7n)).toEqual(draw(7n));
    expect(draw(7n)).not.toEqual(draw(8n));
    const values = draw(2n ** 64n - 1n);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
  });

  it("accepts the whole uint64 range and refuses anything outside it", () => {
    expect(new SequenceRng(0n).seed).toBe(0n);
    expect(new SequenceRng(2n ** 64n - 1n).seed).toBe(2n ** 64n - 1n);
    expect(() => new SequenceRng(-1n)).toThrow(RangeError);
    expect(() => new SequenceRng(2n ** 64n)).toThrow(/uint64/);
  });

  it("draws a random uint64 seed when none is given, and reports it", () => {
    const a = new SequenceRng();
    const b = new SequenceRng();
    expect(a.seed).not.toBe(b.seed);
    expect(a.seed >= 0n && a.seed < 2n ** 64n).toBe(true);
    const replay = new SequenceRng(a.seed);
    expect([replay.nextUint32(), replay.nextUint32()]).toEqual([a.nextUint32(), a.nextUint32()]);
  });
});
