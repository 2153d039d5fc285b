import { describe, expect, it } from "vitest";
import { type SamplingSettings, SequenceRng, TokenSampler } from "./index.ts";

// Expectations come from hand computation or from `reference` below: a literal float64 transcription of
// transformers' processors (full sorts, Math.exp, float32 rounding where torch's float32 tensors round).

const GREEDY: SamplingSettings = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1 };
const PLAIN: SamplingSettings = { temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1 };

const maxOf = (values: ArrayLike<number>) =>
  Array.prototype.reduce.call(values, (a, b) => Math.max(a as number, b as number), -Infinity) as number;

function softmax(values: number[]): number[] {
  const max = maxOf(values);
  const exps = values.map((value) => Math.exp(value - max));
  const total = exps.reduce((sum, value) => sum + value, 0);
  return exps.map((value) => value / total);
}

function logSoftmax(values: ArrayLike<number>): number[] {
  const list = Array.from(values);
  const max = maxOf(list);
  const logTotal = Math.log(list.reduce((sum, value) => sum + Math.exp(value - max), 0));
  return list.map((value) => value - max - logTotal);
}

/**
 * RepetitionPenaltyLogitsProcessor, TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper and
 * softmax as in transformers, for a top_p written in decimal (as a client would). Ties in the ascending
 * sort put the higher id first, i.e. it is removed first.
 */
function reference(logits: ArrayLike<number>, generated: number[], settings: SamplingSettings): Map<number, number> {
  const scores = Float32Array.from(logits);
  const penalty = Math.fround(settings.repetitionPenalty);
  if (penalty !== 1) {
    for (const id of new Set(generated)) scores[id] = scores[id]! < 0 ? scores[id]! * penalty : scores[id]! / penalty;
  }
  const temperature = Math.fround(settings.temperature);
  const processed = Array.from(scores, (score) => Math.fround(score / temperature));
  if (settings.topK > 0) {
    const kth = [...processed].sort((a, b) => b - a)[Math.min(settings.topK, processed.length) - 1]!;
    processed.forEach((value, id) => {
      if (value < kth) processed[id] = -Infinity;
    });
  }
  const max = maxOf(processed);
  const exps = processed.map((value) => Math.exp(value - max));
  const total = exps.reduce((sum, value) => sum + value, 0);
  const kept = new Set(processed.keys());
  if (settings.topP < 1) {
    const ascending = [...processed.keys()].sort((a, b) => processed[a]! - processed[b]! || b - a);
    const threshold = Math.fround(1 - settings.topP);
    let cumulative = 0;
    for (const id of ascending.slice(0, -1)) {
      cumulative += exps[id]! / total;
      if (Math.fround(cumulative) <= threshold) kept.delete(id);
    }
  }
  const keptTotal = [...kept].reduce((sum, id) => sum + exps[id]!, 0);
  const distribution = new Map<number, number>();
  for (const id of [...kept].sort((a, b) => a - b)) if (exps[id]! > 0) distribution.set(id, exps[id]! / keptTotal);
  return distribution;
}

function expectDistribution(actual: Map<number, number>, expected: Map<number, number> | number[][], digits = 9): void {
  const wanted = expected instanceof Map ? expected : new Map(expected.map(([id, p]) => [id!, p!]));
  expect([...actual.keys()].sort((a, b) => a - b)).toEqual([...wanted.keys()].sort((a, b) => a - b));
  for (const [id, probability] of wanted) expect(actual.get(id)).toBeCloseTo(probability, digits);
}

/** Deterministic test logits: N(0, spread²) from a seeded stream (Box-Muller). */
function gaussianLogits(size: number, seed: bigint, spread: number): Float32Array {
  const rng = new SequenceRng(seed);
  return Float32Array.from(
    { length: size },
    () => spread * Math.sqrt(-2 * Math.log(1 - rng.nextUniform())) * Math.cos(2 * Math.PI * rng.nextUniform()),
  );
}

describe("greedy", () => {
  it("takes the argmax, the lowest id on ties like torch.argmax", () => {
    const sampler = new TokenSampler(5);
    expect(sampler.sample(Float32Array.from([1, 3, 3, 2, -1]), [], GREEDY, new SequenceRng(1n)).tokenId).toBe(1);
    const big = new TokenSampler(102400);
    const logits = gaussianLogits(102400, 3n, 2);
    logits[70000] = 20;
    logits[50000] = 20;
    expect(big.sample(logits, [], GREEDY, new SequenceRng(1n)).tokenId).toBe(50000);
  });

  it("ignores top-k, top-p and the random stream", () => {
    const sampler = new TokenSampler(4);
    const rng = new SequenceRng(9n);
    const settings = { temperature: 0, topK: 1, topP: 0.1, repetitionPenalty: 1 };
    for (let step = 0; step < 5; step++) expect(sampler.sample(Float32Array.from([0, 2, 1, 2]), [], settings, rng).tokenId).toBe(1);
    expect(rng.nextUniform()).toBe(new SequenceRng(9n).nextUniform());
  });

  it("applies a repetition penalty other than 1, as generate() does without sampling", () => {
    const sampler = new TokenSampler(2);
    const penalized = { ...GREEDY, repetitionPenalty: 1.1 };
    // 5 / 1.1 = 4.545 < 4.9, and -1 × 1.1 = -1.1 < -1.05.
    expect(sampler.sample(Float32Array.from([5, 4.9]), [0], penalized, new SequenceRng(1n)).tokenId).toBe(1);
    expect(sampler.sample(Float32Array.from([-1, -1.05]), [0], penalized, new SequenceRng(1n)).tokenId).toBe(1);
    expect(sampler.sample(Float32Array.from([5, 4.9]), [0], GREEDY, new SequenceRng(1n)).tokenId).toBe(0);
  });
});

describe("repetition penalty", () => {
  const logits = Float32Array.from([2, -2, 1, 0.5]);

  it("divides positive logits, multiplies negative ones, once per distinct generated id", () => {
    const sampler = new TokenSampler(4);
    // Penalty 2 on ids 0 and 1: [2/2, -2×2, 1, 0.5] = [1, -4, 1, 0.5]. Applied three times, id 0 would be 0.25.
    const settings = { ...PLAIN, repetitionPenalty: 2 };
    expectDistribution(
      sampler.distribution(logits, [0, 1, 0, 0], settings),
      softmax([1, -4, 1, 0.5]).map((p, id) => [id, p]),
    );
    expect(sampler.sample(logits, [0, 1, 0, 0], { ...GREEDY, repetitionPenalty: 2 }, new SequenceRng(1n)).tokenId).toBe(0);
  });

  it("sees only the ids it is given and leaves the logits untouched", () => {
    const sampler = new TokenSampler(4);
    const settings = { ...PLAIN, repetitionPenalty: 2 };
    expectDistribution(
      sampler.distribution(logits, [], settings),
      softmax([2, -2, 1, 0.5]).map((p, id) => [id, p]),
    );
    sampler.sample(logits, [0, 1], settings, new SequenceRng(1n));
    expect(Array.from(logits)).toEqual([2, -2, 1, 0.5]);
  });
});

describe("temperature", () => {
  it("divides the logits before the softmax", () => {
    const sampler = new TokenSampler(3);
    const logits = Float32Array.from([1, 2, 3]);
    expectDistribution(
      sampler.distribution(logits, [], { ...PLAIN, temperature: 0.5 }),
      softmax([2, 4, 6]).map((p, id) => [id, p]),
    );
    expectDistribution(
      sampler.distribution(logits, [], { ...PLAIN, temperature: 2 }),
      softmax([0.5, 1, 1.5]).map((p, id) => [id, p]),
    );
  });
});

describe("top-k", () => {
  // Sorted: 5, 5, 3, 3, 2, 1, 0 (ids 1, 3, 2, 5, 4, 0, 6).
  const logits = Float32Array.from([1, 5, 3, 5, 2, 3, 0]);
  const keptWith = (topK: number) => [...new TokenSampler(7).distribution(logits, [], { ...PLAIN, topK }).keys()].sort((a, b) => a - b);

  it("keeps every token >= the k-th largest logit, ties at the boundary included", () => {
    expect(keptWith(1)).toEqual([1, 3]);
    expect(keptWith(2)).toEqual([1, 3]);
    expect(keptWith(3)).toEqual([1, 2, 3, 5]);
    expect(keptWith(4)).toEqual([1, 2, 3, 5]);
    expect(keptWith(5)).toEqual([1, 2, 3, 4, 5]);
    expect(keptWith(0)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it("forgets ties with a boundary that a larger logit later replaced", () => {
    // Scanned in id order, ids 0 and 1 tie at the boundary of k = 1 until id 2 arrives.
    const rising = Float32Array.from([1, 1, 2, 0, 1]);
    const kept = (topK: number) => [...new TokenSampler(5).distribution(rising, [], { ...PLAIN, topK }).keys()].sort((a, b) => a - b);
    expect(kept(1)).toEqual([2]);
    expect(kept(2)).toEqual([0, 1, 2, 4]);
  });

  it("renormalizes over the kept tokens", () => {
    const distribution = new TokenSampler(7).distribution(logits, [], { ...PLAIN, topK: 3 });
    const [high, , low] = softmax([5, 5, 3, 3]);
    expectDistribution(distribution, [
      [1, high!],
      [3, high!],
      [2, low!],
      [5, low!],
    ]);
  });

  it("keeps neighbours that the temperature rounds onto the boundary value", () => {
    // Two adjacent float32 logits a < b that become one float32 once divided by T = 1.9.
    const temperature = Math.fround(1.9);
    const bits = new Float32Array(2);
    const words = new Uint32Array(bits.buffer);
    let base = 1.5;
    for (;;) {
      bits[0] = base;
      words[1] = words[0]! + 1;
      if (Math.fround(bits[0]! / temperature) === Math.fround(bits[1]! / temperature)) break;
      base = Math.fround(base + 0.001);
    }
    const [a, b] = [bits[0]!, bits[1]!];
    const tied = Float32Array.from([0, a, 3, b, -1]);
    const settings = { ...PLAIN, temperature: 1.9, topK: 2 };
    expect([...new TokenSampler(5).distribution(tied, [], settings).keys()].sort()).toEqual([1, 2, 3]);
    expectDistribution(new TokenSampler(5).distribution(tied, [], settings), reference(tied, [], settings));
  });
});

describe("top-p", () => {
  const keptWith = (logits: Float32Array, topP: number) =>
    [...new TokenSampler(logits.length).distribution(logits, [], { ...PLAIN, topP }).keys()].sort((a, b) => a - b);

  it("removes tokens whose ascending cumulative probability is <= 1 - top_p ([0.5, 0.3, 0.2])", () => {
    const logits = Float32Array.from([0.5, 0.3, 0.2].map(Math.log));
    // Ascending cumulative probabilities: 0.2 (id 2), 0.5 (id 1), 1.0 (id 0, always kept).
    expect(keptWith(logits, 0.81)).toEqual([0, 1, 2]);
    expect(keptWith(logits, 0.8)).toEqual([0, 1]); // 0.2 <= 1 - 0.8: removed
    expect(keptWith(logits, 0.79)).toEqual([0, 1]);
    expect(keptWith(logits, 0.51)).toEqual([0, 1]);
    expect(keptWith(logits, 0.5)).toEqual([0]); // 0.5 <= 0.5: removed
    expect(keptWith(logits, 0.01)).toEqual([0]);
    // 0.5 / 0.8 and 0.3 / 0.8, up to the float32 rounding of the logits ln(p).
    expectDistribution(
      new TokenSampler(3).distribution(logits, [], { ...PLAIN, topP: 0.8 }),
      [
        [0, 0.625],
        [1, 0.375],
      ],
      7,
    );
  });

  it("decides exact boundaries on equal probabilities, keeping lower ids first", () => {
    const quarters = new Float32Array(4); // probabilities 1/4 each: cumulative 0.25, 0.5, 0.75, 1
    expect(keptWith(quarters, 0.5)).toEqual([0, 1]);
    expect(keptWith(quarters, 0.74)).toEqual([0, 1, 2]);
    expect(keptWith(quarters, 0.75)).toEqual([0, 1, 2]);
    expect(keptWith(quarters, 0.76)).toEqual([0, 1, 2, 3]);
  });

  it("reads the protocol's float32 top_p as the decimal the client wrote", () => {
    // Fifths: the lowest cumulative probability is exactly 0.2 = 1 - 0.8, so transformers removes it.
    // The float32 of 0.8 is 0.800000011920929, and 1 minus that would keep it.
    expect(keptWith(new Float32Array(5), Math.fround(0.8))).toEqual([0, 1, 2, 3]);
    expect(keptWith(new Float32Array(5), 0.8)).toEqual([0, 1, 2, 3]);
  });

  it("always keeps the most probable token", () => {
    expect(keptWith(Float32Array.from([0, 10, 0]), 1e-6)).toEqual([1]);
  });
});

describe("the full pipeline against the reference", () => {
  const cases: [vocab: number, seed: bigint, spread: number, settings: SamplingSettings][] = [
    [50_000, 1n, 2.5, { temperature: 1, topK: 0, topP: 0.95, repetitionPenalty: 1 }],
    [50_000, 2n, 1.5, { temperature: 0.7, topK: 0, topP: 0.9, repetitionPenalty: 1.1 }],
    [50_000, 3n, 4, { temperature: 1.3, topK: 0, topP: 0.5, repetitionPenalty: 1.3 }],
    [50_000, 4n, 2.5, { temperature: 0.2, topK: 50, topP: 0.95, repetitionPenalty: 1.1 }],
    [50_000, 5n, 1, { temperature: 1, topK: 2000, topP: 0.8, repetitionPenalty: 1 }],
    [50_000, 6n, 2, { temperature: 0.9, topK: 40, topP: 1, repetitionPenalty: 0.8 }],
    [3_000, 7n, 3, { temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1.2 }],
  ];

  it.each(cases)("V=%i seed %i spread %f %o", (vocab, seed, spread, settings) => {
    const logits = gaussianLogits(vocab, seed, spread);
    const generated = Array.from({ length: 300 }, (_, n) => (n * 7919 + 13) % vocab);
    const sampler = new TokenSampler(vocab);
    // The protocol delivers float32 settings; the reference gets the decimals a client would write.
    const asFloat32 = { ...settings, temperature: Math.fround(settings.temperature), topP: Math.fround(settings.topP) };
    expectDistribution(sampler.distribution(logits, generated, asFloat32), reference(logits, generated, settings));
  });
});

describe("sampling", () => {
  it("draws with the frequencies of the processed distribution (chi-square, seeded)", () => {
    const logits = Float32Array.from([2, 1.5, 1, 0.2, -1, -3]);
    const settings = { temperature: 0.8, topK: 4, topP: 0.9, repetitionPenalty: 1.2 };
    const generated = [1, 4];
    const expected = reference(logits, generated, settings);
    const sampler = new TokenSampler(6);
    const rng = new SequenceRng(2024n);
    const draws = 40_000;
    const counts = new Map<number, number>();
    for (let n = 0; n < draws; n++) {
      const { tokenId } = sampler.sample(logits, generated, settings, rng);
      counts.set(tokenId, (counts.get(tokenId) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([...expected.keys()].sort());
    let chiSquare = 0;
    for (const [id, probability] of expected) chiSquare += (counts.get(id)! - draws * probability) ** 2 / (draws * probability);
    // By hand: penalized [2, 1.25, 1, 0.2, -1.2, -3], / 0.8, top-4 probabilities ≈ [0.561, 0.220, 0.161, 0.059];
    // the last one's cumulative 0.059 <= 1 - 0.9 removes it, leaving 3 tokens (2 degrees of freedom).
    expect([...expected.keys()]).toEqual([0, 1, 2]);
    expect(chiSquare).toBeLessThan(18.4); // the 99.99th percentile of chi-square with 2 degrees of freedom
  });

  it("uses exactly one uniform per sampled step", () => {
    const sampler = new TokenSampler(4);
    const rng = new SequenceRng(5n);
    for (let step = 0; step < 10; step++) sampler.sample(Float32Array.from([1, 2, 3, 4]), [], { ...PLAIN, topK: 3, topP: 0.9 }, rng);
    const fresh = new SequenceRng(5n);
    for (let step = 0; step < 10; step++) fresh.nextUniform();
    expect(rng.nextUniform()).toBe(fresh.nextUniform());
  });

  it("reproduces a 1000-token sequence from its seed; other seeds give other sequences", () => {
    const vocab = 2000;
    const settings = { temperature: 0.8, topK: 50, topP: 0.9, repetitionPenalty: 1.1 };
    const run = (seed: bigint) => {
      const sampler = new TokenSampler(vocab);
      const rng = new SequenceRng(seed);
      const generated: number[] = [];
      for (let step = 0; step < 1000; step++) {
        // Logits that depend on the step and on the previous token, like a model's.
        const previous = generated.at(-1) ?? 0;
        const logits = Float32Array.from({ length: vocab }, (_, id) => 3 * Math.sin(id * 0.37 + step * 0.11 + previous * 0.013));
        generated.push(sampler.sample(logits, generated, settings, rng).tokenId);
      }
      return generated;
    };
    const first = run(123n);
    expect(run(123n)).toEqual(first);
    expect(run(124n)).not.toEqual(first);
    expect(new Set(first).size).toBeGreaterThan(50);
  });

  it("refuses logits of the wrong size", () => {
    expect(() => new TokenSampler(4).sample(new Float32Array(5), [], PLAIN, new SequenceRng(1n))).toThrow(RangeError);
  });
});

describe("logprob", () => {
  it("is the log-softmax of the raw logits, whatever the sampling settings", () => {
    const vocab = 102400;
    const logits = gaussianLogits(vocab, 11n, 3);
    logits[777] = 25;
    const expected = logSoftmax(logits);
    const sampler = new TokenSampler(vocab);
    const rng = new SequenceRng(3n);
    const settingsList: SamplingSettings[] = [
      GREEDY,
      { ...GREEDY, repetitionPenalty: 1.3 },
      { temperature: 0.5, topK: 50, topP: 0.9, repetitionPenalty: 1.2 },
      { temperature: 1.5, topK: 0, topP: 1, repetitionPenalty: 1 },
    ];
    for (const settings of settingsList) {
      for (let step = 0; step < 5; step++) {
        const { tokenId, logprob } = sampler.sample(logits, [777, 5, 6], settings, rng);
        expect(Math.abs(logprob - expected[tokenId]!)).toBeLessThan(1e-9);
      }
    }
  });
});
