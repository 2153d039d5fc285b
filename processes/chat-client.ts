// A Node client of the edge's chat-completions route that keeps what the openai client hides: the HTTP
// status and headers, and how an SSE stream ended (`data: [DONE]`, an error event, or neither).

export type ChatUsage = { prompt_tokens: number; completion_tokens: number; total_tokens: number };

/** The OpenAI error object, as error responses and SSE error events carry it. */
export type ChatError = { message: string; type: string; param: string | null; code: string };

export type ChatStream = {
  text: string;
  finishReason: string | null;
  usage: ChatUsage | undefined;
  /** The error of an error event, when the stream ended with one. */
  error: ChatError | undefined;
  /** `done`: ended with `data: [DONE]`; `error`: with an error event; `truncated`: the body closed without either. */
  end: "done" | "error" | "truncated";
  /** Events after `[DONE]` or an error event (the protocol allows none). */
  eventsAfterEnd: number;
  /** Completion chunks received (the error event and `[DONE]` excluded). */
  chunks: number;
};

/** POSTs a chat-completions request body as JSON with the API key. */
export function postChat(baseUrl: string, apiKey: string, body: object, signal?: AbortSignal): Promise<Response> {
  return fetch(`${baseUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
}

/** The `data` of each server-sent event in `body`, as events arrive (multi-line data joined with "\n"). */
async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffer = "";
  let data: string[] = [];
  for await (const text of body.pipeThrough(new TextDecoderStream())) {
    buffer += text;
    for (let newline = buffer.search(/\r?\n/); newline !== -1; newline = buffer.search(/\r?\n/)) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(buffer[newline] === "\r" ? newline + 2 : newline + 1);
      if (line === "") {
        if (data.length > 0) yield data.join("\n");
        data = [];
      } else if (line.startsWith("data:")) {
        data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
      }
    }
  }
  if (data.length > 0) yield data.join("\n");
}

/**
 * Reads a streamed chat completion to its end. `onChunk` runs after each completion chunk with the count
 * so far (e.g. to kill a process mid-stream). Errors reading the body (an abort included) propagate.
 */
export async function readChatStream(response: Response, onChunk?: (chunks: number) => unknown): Promise<ChatStream> {
  const stream: ChatStream = {
    text: "",
    finishReason: null,
    usage: undefined,
    error: undefined,
    end: "truncated",
    eventsAfterEnd: 0,
    chunks: 0,
  };
  if (!response.body) return stream;
  for await (const data of sseData(response.body)) {
    if (stream.end !== "truncated") {
      stream.eventsAfterEnd++;
      continue;
    }
    if (data === "[DONE]") {
      stream.end = "done";
      continue;
    }
    const event = JSON.parse(data) as {
      error?: ChatError;
      usage?: ChatUsage;
      choices?: { delta?: { content?: string }; finish_reason?: string | null }[];
    };
    if (event.error) {
      stream.error = event.error;
      stream.end = "error";
      continue;
    }
    stream.chunks++;
    if (event.usage) stream.usage = event.usage;
    for (const choice of event.choices ?? []) {
      stream.text += choice.delta?.content ?? "";
      if (choice.finish_reason) stream.finishReason = choice.finish_reason;
    }
    await onChunk?.(stream.chunks);
  }
  return stream;
}
