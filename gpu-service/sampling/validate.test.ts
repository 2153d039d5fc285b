import { describe, expect, it } from "vitest";
import { type SamplingParamsToValidate, validateSamplingParams } from "./index.ts";

const VOCAB = 102400;
/** The reference CLI's settings (reference §9) plus the hidden top_k 50. */
const VALID: SamplingParamsToValidate = {
  temperature: 0.2,
  topK: 50,
  topP: 0.95,
  repetitionPenalty: 1.1,
  seed: 42n,
  maxNewTokens: 512,
  stopTokenIds: [100001],
  topLogprobs: 5,
};

const problemsWith = (change: Partial<SamplingParamsToValidate>) => validateSamplingParams({ ...VALID, ...change }, VOCAB);

describe("validateSamplingParams", () => {
  it("accepts valid settings, including every inclusive bound", () => {
    expect(problemsWith({})).toEqual([]);
    expect(problemsWith({ temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: undefined, stopTokenIds: [] })).toEqual([]);
    expect(problemsWith({ temperature: 2, topK: VOCAB, seed: 2n ** 64n - 1n, maxNewTokens: 1, stopTokenIds: [0, VOCAB - 1] })).toEqual([]);
    expect(problemsWith({ topLogprobs: 0 })).toEqual([]);
    expect(problemsWith({ topLogprobs: 20 })).toEqual([]);
  });

  it("refuses temperatures outside [0, 2] and NaN", () => {
    expect(problemsWith({ temperature: -0.1 })).toEqual(["temperature must be in [0, 2] (0 selects greedy decoding), got -0.1"]);
    expect(problemsWith({ temperature: 2.01 })).toEqual(["temperature must be in [0, 2] (0 selects greedy decoding), got 2.01"]);
    expect(problemsWith({ temperature: Number.NaN })).toEqual(["temperature must be in [0, 2] (0 selects greedy decoding), got NaN"]);
  });

  it("refuses top_p outside (0, 1], including proto3's default 0", () => {
    for (const topP of [0, -0.5, 1.01, Number.NaN]) {
      expect(problemsWith({ topP })).toEqual([`top_p must be in (0, 1] (1 disables nucleus filtering), got ${topP}`]);
    }
  });

  it("refuses top_k above the vocabulary or not a whole number", () => {
    expect(problemsWith({ topK: VOCAB + 1 })).toEqual([`top_k must be an integer in [0, ${VOCAB}] (0 disables top-k), got ${VOCAB + 1}`]);
    expect(problemsWith({ topK: 2.5 })).toEqual([`top_k must be an integer in [0, ${VOCAB}] (0 disables top-k), got 2.5`]);
  });

  it("refuses repetition penalties that are not finite and > 0", () => {
    for (const repetitionPenalty of [0, -1, Number.NaN, Infinity]) {
      expect(problemsWith({ repetitionPenalty })).toEqual([
        `repetition_penalty must be a finite number > 0 (1 disables it), got ${repetitionPenalty}`,
      ]);
    }
  });

  it("refuses max_new_tokens 0, stop ids outside the vocabulary, and seeds outside uint64", () => {
    expect(problemsWith({ maxNewTokens: 0 })).toEqual(["max_new_tokens must be an integer >= 1, got 0"]);
    expect(problemsWith({ stopTokenIds: [100001, VOCAB, 7] })).toEqual([
      `stop_token_ids[1] must be a token id in [0, ${VOCAB - 1}], got ${VOCAB}`,
    ]);
    expect(problemsWith({ seed: 2n ** 64n })).toEqual([`seed must be a uint64, got ${2n ** 64n}`]);
  });

  it("refuses top_logprobs outside [0, 20]", () => {
    for (const topLogprobs of [21, -1, 2.5]) {
      expect(problemsWith({ topLogprobs })).toEqual([`top_logprobs must be an integer in [0, 20], got ${topLogprobs}`]);
    }
  });

  it("lists every problem at once", () => {
    const problems = validateSamplingParams(
      {
        temperature: 3,
        topK: VOCAB + 5,
        topP: 0,
        repetitionPenalty: 0,
        seed: undefined,
        maxNewTokens: 0,
        stopTokenIds: [-1],
        topLogprobs: 0,
      },
      VOCAB,
    );
    expect(problems.map((problem) => problem.split(" ")[0])).toEqual([
      "temperature",
      "top_k",
      "top_p",
      "repetition_penalty",
      "max_new_tokens",
      "stop_token_ids[0]",
    ]);
  });
});
