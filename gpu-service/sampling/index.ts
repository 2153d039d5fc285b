export { CandidateSampler, type RowCandidates } from "./candidates.ts";
export { SequenceRng } from "./rng.ts";
export { type SampledToken, type SamplingSettings, TokenSampler } from "./sampler.ts";
export { type SamplingParamsToValidate, validateSamplingParams } from "./validate.ts";
