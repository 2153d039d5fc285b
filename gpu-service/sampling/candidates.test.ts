import { describe, expect, it } from "vitest";
import { CandidateSampler, type RowCandidates, type SamplingSettings, SequenceRng, TokenSampler } from "./index.ts";

// The candidate sampler must pick exactly what the whole-row TokenSampler picks, from the same seed, or decline.

const VOCAB = 1000;
const WIDTH = 64;

/** Random logits with many exact ties (values on a coarse grid), deterministic per seed. */
function logitsRow(seed: number, grid = 0.25): Float32Array {
  const rng = new SequenceRng(BigInt(seed));
  return Float32Array.from({ length: VOCAB }, () => Math.round((rng.nextUniform() * 12 - 6) / grid) * grid);
}

/** The device's top-k: the WIDTH largest, descending, with ties in an arbitrary (here: reversed-id) order. */
function candidatesOf(row: Float32Array): RowCandidates {
  const ids = Array.from(row.keys())
    .sort((a, b) => row[b]! - row[a]! || b - a)
    .slice(0, WIDTH);
  const max = Math.max(...row);
  const logSumExp = max + Math.log(row.reduce((sum, value) => sum + Math.exp(value - max), 0));
  return { logits: Float32Array.from(ids, (id) => row[id]!), ids: BigInt64Array.from(ids, BigInt), logSumExp };
}

const settings = (overrides: Partial<SamplingSettings>): SamplingSettings => ({
  temperature: 0.8,
  topK: 50,
  topP: 0.9,
  repetitionPenalty: 1,
  ...overrides,
});

describe("CandidateSampler", () => {
  const whole = new TokenSampler(VOCAB);
  const candidates = new CandidateSampler(WIDTH, VOCAB);

  it.each([
    ["greedy", settings({ temperature: 0, topK: 0, topP: 1 }), 0.25],
    ["top-k 50, top-p 0.9", settings({}), 0.01],
    ["top-k 1", settings({ topK: 1 }), 0.25],
    // The last candidate decides whether the next token ties: top-k 63 is the widest the candidates decide.
    ["top-k 63, hot", settings({ topK: 63, temperature: 2, topP: 1 }), 0.001],
    ["top-k 10, cold", settings({ topK: 10, temperature: 0.05, topP: 0.5 }), 0.05],
  ])("draws what the whole-row sampler draws: %s", (_, sampling, grid) => {
    let decided = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const row = logitsRow(seed, grid);
      const fromCandidates = candidates.sample(candidatesOf(row), [], sampling, new SequenceRng(BigInt(seed)));
      const reference = whole.sample(row, [], sampling, new SequenceRng(BigInt(seed)));
      if (fromCandidates === undefined) continue;
      decided++;
      expect(fromCandidates.tokenId).toBe(reference.tokenId);
      expect(fromCandidates.logprob).toBeCloseTo(reference.logprob, 5);
    }
    // The grids make ties common, yet most rows are decided by the candidates.
    expect(decided).toBeGreaterThan(100);
  });

  it("takes the lowest id among tied maxima, whatever order the device listed them in", () => {
    const row = new Float32Array(VOCAB).fill(-1);
    for (const id of [700, 30, 512]) row[id] = 5;
    expect(candidates.sample(candidatesOf(row), [], settings({ temperature: 0 }), new SequenceRng(1n))?.tokenId).toBe(30);
  });

  it("declines when a tie at the k-th logit could continue past the candidates", () => {
    const row = new Float32Array(VOCAB).fill(0);
    row[3] = 9;
    // Greedy: 65 tokens tie for the maximum; only 64 are candidates.
    const tiedMax = new Float32Array(VOCAB).fill(0);
    for (let id = 0; id < WIDTH + 1; id++) tiedMax[id * 7] = 4;
    expect(candidates.sample(candidatesOf(tiedMax), [], settings({ temperature: 0 }), new SequenceRng(1n))).toBeUndefined();
    // top-k 10: the 10th value (0) ties with everything beyond the candidates.
    expect(candidates.sample(candidatesOf(row), [], settings({ topK: 10 }), new SequenceRng(1n))).toBeUndefined();
  });

  it("declines a repetition penalty, no top-k, and a top-k the candidates cannot bound", () => {
    const row = candidatesOf(logitsRow(3));
    const rng = () => new SequenceRng(1n);
    expect(candidates.sample(row, [5], settings({ repetitionPenalty: 1.2 }), rng())).toBeUndefined();
    expect(candidates.sample(row, [], settings({ topK: 0 }), rng())).toBeUndefined();
    expect(candidates.sample(row, [], settings({ topK: WIDTH }), rng())).toBeUndefined();
    // A penalty with nothing generated yet changes nothing: the candidates decide.
    expect(candidates.sample(row, [], settings({ repetitionPenalty: 1.2 }), rng())).toBeDefined();
  });
});
