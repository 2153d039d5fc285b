export { SequenceRng } from "./rng.ts";
export { TokenSampler, type SamplingSettings } from "./sampler.ts";
export { validateSamplingParams, type SamplingParamsToValidate } from "./validate.ts";
