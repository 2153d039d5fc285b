import type { SamplingParams } from "../../shared/gen/deepseek_vl/v1/inference_pb.js";

/** Highest temperature accepted: OpenAI's API allows [0, 2], and the edge speaks that API. */
export const MAX_TEMPERATURE = 2;
/** Most alternatives a token may list (OpenAI's top_logprobs range; the decoder ranks 64 candidates). */
export const MAX_TOP_LOGPROBS = 20;

export type SamplingParamsToValidate = Pick<
  SamplingParams,
  "temperature" | "topK" | "topP" | "repetitionPenalty" | "seed" | "maxNewTokens" | "stopTokenIds" | "topLogprobs"
>;

/**
 * Every out-of-range setting, one message each naming the protocol field (empty when all are valid);
 * the service answers INVALID_ARGUMENT with them. Settings are checked even when greedy ignores them,
 * so proto3's zero defaults (top_p 0, repetition_penalty 0) are refused rather than silently reinterpreted.
 */
export function validateSamplingParams(params: SamplingParamsToValidate, vocabSize: number): string[] {
  const problems: string[] = [];
  const { temperature, topK, topP, repetitionPenalty, seed, maxNewTokens, stopTokenIds, topLogprobs } = params;
  if (!(temperature >= 0 && temperature <= MAX_TEMPERATURE)) {
    problems.push(`temperature must be in [0, ${MAX_TEMPERATURE}] (0 selects greedy decoding), got ${temperature}`);
  }
  if (!Number.isInteger(topK) || topK < 0 || topK > vocabSize) {
    problems.push(`top_k must be an integer in [0, ${vocabSize}] (0 disables top-k), got ${topK}`);
  }
  if (!(topP > 0 && topP <= 1)) {
    problems.push(`top_p must be in (0, 1] (1 disables nucleus filtering), got ${topP}`);
  }
  if (!(repetitionPenalty > 0 && repetitionPenalty < Infinity)) {
    problems.push(`repetition_penalty must be a finite number > 0 (1 disables it), got ${repetitionPenalty}`);
  }
  if (seed !== undefined && (seed < 0n || seed >= 1n << 64n)) {
    problems.push(`seed must be a uint64, got ${seed}`);
  }
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) {
    problems.push(`max_new_tokens must be an integer >= 1, got ${maxNewTokens}`);
  }
  if (!Number.isInteger(topLogprobs) || topLogprobs < 0 || topLogprobs > MAX_TOP_LOGPROBS) {
    problems.push(`top_logprobs must be an integer in [0, ${MAX_TOP_LOGPROBS}], got ${topLogprobs}`);
  }
  stopTokenIds.forEach((id, index) => {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      problems.push(`stop_token_ids[${index}] must be a token id in [0, ${vocabSize - 1}], got ${id}`);
    }
  });
  return problems;
}
