import type { CompletionFinish, LogprobEntry } from "../chat/index.ts";
import type { ResponsesRequest } from "./request.ts";

export type ResponseStatus = "in_progress" | "completed" | "incomplete" | "failed";

/** What every form of one response shares: its identity and the request's settings, as OpenAI echoes them. */
export type ResponseIdentity = { id: string; itemId: string; createdAt: number; model: string; request: ResponsesRequest };

/** The `message` output item, with its one `output_text` part (none yet while it starts). */
export function messageItem(
  identity: ResponseIdentity,
  status: "in_progress" | "completed" | "incomplete",
  result?: { text: string; logprobs: LogprobEntry[] },
) {
  return {
    type: "message",
    id: identity.itemId,
    status,
    role: "assistant",
    content: result === undefined ? [] : [outputText(result.text, result.logprobs)],
  };
}

/** An `output_text` part; its `logprobs` are empty unless the request included them. */
export const outputText = (text: string, logprobs: LogprobEntry[] = []) => ({ type: "output_text", text, annotations: [], logprobs });

function usageOf(finish: CompletionFinish) {
  return {
    input_tokens: finish.promptTokens,
    input_tokens_details: { cached_tokens: finish.cachedTokens },
    output_tokens: finish.completionTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: finish.promptTokens + finish.completionTokens,
  };
}

/** The `response` object: while it runs (no output yet), or finished with its text and usage. */
export function responseObject(identity: ResponseIdentity, result?: { text: string; finish: CompletionFinish; logprobs: LogprobEntry[] }) {
  const { request } = identity;
  const incomplete = result?.finish.reason === "length";
  const status: ResponseStatus = result === undefined ? "in_progress" : incomplete ? "incomplete" : "completed";
  return {
    id: identity.id,
    object: "response",
    created_at: identity.createdAt,
    status,
    error: null,
    incomplete_details: incomplete ? { reason: "max_output_tokens" } : null,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    model: identity.model,
    output: result === undefined ? [] : [messageItem(identity, incomplete ? "incomplete" : "completed", result)],
    parallel_tool_calls: false,
    previous_response_id: request.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    store: request.store ?? true,
    temperature: request.temperature ?? null,
    text: { format: { type: "text" } },
    tool_choice: "none",
    tools: [],
    top_p: request.top_p ?? null,
    truncation: "disabled",
    usage: result === undefined ? null : usageOf(result.finish),
    user: request.user ?? null,
    metadata: request.metadata ?? {},
  };
}
