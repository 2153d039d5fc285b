import { z } from "zod";
import { MAX_TOP_LOGPROBS } from "../chat/index.ts";
import { validateRequest } from "../errors.ts";

/** The `include` value that asks for the output text's log-probabilities. */
export const LOGPROBS_INCLUDE = "message.output_text.logprobs";

/**
 * The body of POST /v1/responses as OpenAI defines it, restricted to what this model does; unknown fields are
 * ignored (clients add some). `top_k`, `repetition_penalty` and `seed` are the extensions chat completions takes.
 */
export const ResponsesRequestSchema = z.object({
  model: z.string().min(1),
  input: z.union([z.string().min(1), z.array(z.unknown()).min(1)]),
  instructions: z.string().nullish(),
  max_output_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  top_k: z.number().int().nonnegative().nullish(),
  repetition_penalty: z.number().positive().max(10).nullish(),
  seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullish(),
  stream: z.boolean().nullish(),
  store: z.boolean().nullish(),
  previous_response_id: z.string().min(1).nullish(),
  include: z.array(z.literal(LOGPROBS_INCLUDE)).nullish(),
  top_logprobs: z.number().int().min(0).max(MAX_TOP_LOGPROBS).nullish(),
  text: z.object({ format: z.object({ type: z.literal("text") }).nullish() }).nullish(),
  tools: z.array(z.unknown()).max(0).nullish(),
  tool_choice: z.union([z.literal("none"), z.literal("auto")]).nullish(),
  reasoning: z.null().optional(),
  background: z.literal(false).nullish(),
  truncation: z.literal("disabled").nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  user: z.string().nullish(),
});

export type ResponsesRequest = z.infer<typeof ResponsesRequestSchema>;

const UNSUPPORTED: Record<string, string> = {
  include: `Only include ["${LOGPROBS_INCLUDE}"] is supported`,
  text: 'Only text.format {type: "text"} is supported',
  tools: "Tools are not supported by this model",
  tool_choice: 'Only tool_choice "none" or "auto" (without tools) is supported',
  reasoning: "Reasoning options are not supported by this model",
  background: "Background responses are not supported",
  truncation: 'Only truncation "disabled" is supported: a conversation over the context is refused',
};

/** Validates a parsed body. */
export function readResponsesRequest(body: unknown): ResponsesRequest {
  return validateRequest(ResponsesRequestSchema, UNSUPPORTED, body);
}
