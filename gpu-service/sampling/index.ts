export { benchmarkSampler, type SamplerBenchmark, type SamplerBenchmarkOptions } from "./benchmark.ts";
export { SequenceRng } from "./rng.ts";
export { TokenSampler, type SampledToken, type SamplingSettings } from "./sampler.ts";
export { MAX_TEMPERATURE, validateSamplingParams, type SamplingParamsToValidate } from "./validate.ts";
