export { SequenceRng } from "./rng.ts";
export { type SamplingSettings, TokenSampler } from "./sampler.ts";
export { type SamplingParamsToValidate, validateSamplingParams } from "./validate.ts";
