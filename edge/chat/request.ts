import { z } from "zod";
import { validateRequest } from "../errors.ts";

/** Most alternatives per token, as OpenAI allows. */
export const MAX_TOP_LOGPROBS = 20;

const stop = z.union([z.string().min(1), z.array(z.string().min(1)).max(4)]);

/**
 * The body of POST /v1/chat/completions as OpenAI defines it, restricted to what this model does;
 * unknown fields are ignored as OpenAI's own clients add some. `top_k` and `repetition_penalty` are
 * extensions (as vLLM names them) for the reference's sampling knobs.
 */
export const ChatRequestSchema = z
  .object({
    model: z.string().min(1),
    messages: z.array(z.unknown()).min(1),
    stream: z.boolean().nullish(),
    stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
    max_tokens: z.number().int().positive().nullish(),
    max_completion_tokens: z.number().int().positive().nullish(),
    temperature: z.number().min(0).max(2).nullish(),
    top_p: z.number().gt(0).max(1).nullish(),
    top_k: z.number().int().nonnegative().nullish(),
    repetition_penalty: z.number().positive().max(10).nullish(),
    frequency_penalty: z.literal(0).nullish(),
    presence_penalty: z.literal(0).nullish(),
    stop: stop.nullish(),
    seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullish(),
    n: z.literal(1).nullish(),
    logprobs: z.boolean().nullish(),
    top_logprobs: z.number().int().min(0).max(MAX_TOP_LOGPROBS).nullish(),
    response_format: z.object({ type: z.literal("text") }).nullish(),
    tools: z.array(z.unknown()).max(0).nullish(),
    user: z.string().nullish(),
  })
  .refine((request) => request.top_logprobs === undefined || request.top_logprobs === null || request.logprobs === true, {
    path: ["top_logprobs"],
    message: "logprobs must be true when top_logprobs is set",
  });

export type ChatRequest = z.infer<typeof ChatRequestSchema>;

const UNSUPPORTED: Record<string, string> = {
  n: "Only n = 1 is supported",
  frequency_penalty: "frequency_penalty is not supported; use repetition_penalty (the model's own penalty)",
  presence_penalty: "presence_penalty is not supported; use repetition_penalty (the model's own penalty)",
  response_format: 'Only response_format {type: "text"} is supported',
  tools: "Tools are not supported by this model",
};

/** Validates a parsed body. */
export function readChatRequest(body: unknown): ChatRequest {
  return validateRequest(ChatRequestSchema, UNSUPPORTED, body);
}
