export { benchmarkSampler, type SamplerBenchmark, type SamplerBenchmarkOptions } from "./benchmark.ts";
export { SequenceRng } from "./rng.ts";
export { LogitsSampler, type SampledToken, type SamplingSettings } from "./sampler.ts";
export { createSampler, samplingSettings, type SequenceSampler, type SequenceSettings } from "./sequence.ts";
export { MAX_TEMPERATURE, validateSamplingParams, type SamplingParamsToValidate } from "./validate.ts";
