// What the decode loop holds per sequence: validated settings, its own random stream, and the distinct
// ids it generated (the repetition penalty's input). The scratch buffers are shared: decode steps run
// one at a time in this process, and a LogitsSampler keeps nothing between calls.
import { Code, ConnectError } from "@connectrpc/connect";
import type { SamplingParams } from "../../shared/gen/deepseek_vl/v1/inference_pb.js";
import { SequenceRng } from "./rng.ts";
import { LogitsSampler, type SampledToken, type SamplingSettings } from "./sampler.ts";
import { validateSamplingParams } from "./validate.ts";

/** A request's sampling settings once validated. */
export type SequenceSettings = SamplingSettings & {
  seed: bigint | undefined;
  maxNewTokens: number;
  stopTokenIds: readonly number[];
};

/** Checks a request's SamplingParams against the model; anything out of range is INVALID_ARGUMENT. */
export function samplingSettings(sampling: SamplingParams | undefined, model: { llm: { vocabSize: number } }): SequenceSettings {
  if (!sampling) throw new ConnectError("sampling is required", Code.InvalidArgument);
  const problems = validateSamplingParams(sampling, model.llm.vocabSize);
  if (problems.length > 0) throw new ConnectError(`invalid sampling: ${problems.join("; ")}`, Code.InvalidArgument);
  const { temperature, topK, topP, repetitionPenalty, seed, maxNewTokens, stopTokenIds } = sampling;
  return { temperature, topK, topP, repetitionPenalty, seed, maxNewTokens, stopTokenIds: [...stopTokenIds] };
}

/** The sampler of one sequence: call next() once per decode step with its last-position logits. */
export class SequenceSampler {
  readonly #sampler: LogitsSampler;
  readonly #settings: SequenceSettings;
  readonly #rng: SequenceRng;
  readonly #generated: number[] = [];
  readonly #seen = new Set<number>();

  constructor(sampler: LogitsSampler, settings: SequenceSettings, rng: SequenceRng) {
    this.#sampler = sampler;
    this.#settings = settings;
    this.#rng = rng;
  }

  /** The seed of this sequence's stream (drawn at random when the request had none). */
  get seed(): bigint {
    return this.#rng.seed;
  }

  next(logits: Float32Array): SampledToken {
    const sampled = this.#sampler.sample(logits, this.#generated, this.#settings, this.#rng);
    if (!this.#seen.has(sampled.token)) {
      this.#seen.add(sampled.token);
      this.#generated.push(sampled.token);
    }
    return sampled;
  }
}

const samplers = new Map<number, LogitsSampler>();

/** A new sequence's sampler; sequences of the same vocabulary size share one LogitsSampler's buffers. */
export function createSampler(settings: SequenceSettings, vocabSize: number): SequenceSampler {
  let sampler = samplers.get(vocabSize);
  if (!sampler) samplers.set(vocabSize, (sampler = new LogitsSampler(vocabSize)));
  return new SequenceSampler(sampler, settings, new SequenceRng(settings.seed));
}
