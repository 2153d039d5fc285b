// Per-step cost of the GPU service's TokenSampler.sample() at DeepSeek-VL's vocabulary size.
// Timings are medians over steps (robust to other work on a shared machine); logprob is included.
import { type SamplingSettings, SequenceRng, TokenSampler } from "../gpu-service/sampling/index.ts";
import { median } from "./median.ts";
import type { BenchmarkResult } from "./report.ts";

const VOCAB_SIZE = 102400;
/** Timed steps per case, after as many untimed warm-up steps. */
const STEPS = 300;

const CASES: [name: string, settings: SamplingSettings][] = [
  ["greedy", { temperature: 0, topK: 50, topP: 1, repetitionPenalty: 1 }],
  ["greedy, repetition penalty 1.1", { temperature: 0, topK: 50, topP: 1, repetitionPenalty: 1.1 }],
  ["top-k 50 + top-p 0.95", { temperature: 1, topK: 50, topP: 0.95, repetitionPenalty: 1 }],
  ["reference CLI (T 0.2, top-k 50, top-p 0.95, penalty 1.1)", { temperature: 0.2, topK: 50, topP: 0.95, repetitionPenalty: 1.1 }],
  ["top-p 0.95 without top-k", { temperature: 1, topK: 0, topP: 0.95, repetitionPenalty: 1 }],
  ["whole vocabulary (top-k 0, top-p 1)", { temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1 }],
];

/** Language-model-like logits: N(0, 2.5²) with a handful of clear favourites. */
function syntheticLogits(vocabSize: number, rng: SequenceRng): Float32Array {
  const logits = new Float32Array(vocabSize);
  for (let i = 0; i < vocabSize; i++) {
    const gaussian = Math.sqrt(-2 * Math.log(1 - rng.nextUniform())) * Math.cos(2 * Math.PI * rng.nextUniform());
    logits[i] = 2.5 * gaussian;
  }
  for (let n = 0; n < 8; n++) logits[rng.nextUint32() % vocabSize] = 8 + 6 * rng.nextUniform();
  return logits;
}

export function samplerBenchmark(): BenchmarkResult {
  const inputs = new SequenceRng(20240424n);
  const pool = Array.from({ length: 8 }, () => syntheticLogits(VOCAB_SIZE, inputs));
  const generated = Array.from({ length: 256 }, () => inputs.nextUint32() % VOCAB_SIZE);
  const sampler = new TokenSampler(VOCAB_SIZE);
  const rows: [string, string][] = [];
  for (const [name, settings] of CASES) {
    const rng = new SequenceRng(7n);
    const times: number[] = [];
    for (let step = -STEPS; step < STEPS; step++) {
      const logits = pool[(step + STEPS) % pool.length]!;
      const start = performance.now();
      sampler.sample(logits, generated, settings, rng);
      if (step >= 0) times.push((performance.now() - start) * 1000);
    }
    rows.push([name, `${median(times).toFixed(1)} µs`]);
  }
  return { name: `gpu-service: TokenSampler.sample() per step, V = ${VOCAB_SIZE} (median of ${STEPS} steps)`, rows };
}
