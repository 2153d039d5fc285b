// The Responses API and model lookup through the official openai client, against the real Worker (workerd) and
// GPU service (tiny model, CPU): the same greedy text as chat completions, the documented event stream, stored
// responses resumed by previous_response_id and item_reference, and OpenAI-shaped errors for what is refused.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodePng, randomSecret } from "../processes/index.ts";
import { testImage } from "./support/images.ts";
import { readJson } from "./support/json.ts";
import { startTestSystem, type TestSystem } from "./support/system.ts";

let system: TestSystem;
let client: OpenAI;
let model: string;
/** Two tenants: each API key's stored responses are its own. */
const [KEY, OTHER_KEY] = [`sk-test-a-${randomSecret()}`, `sk-test-b-${randomSecret()}`];

beforeAll(async () => {
  system = await startTestSystem({ edgeVars: { API_KEYS: `${KEY},${OTHER_KEY}` } });
  client = new OpenAI({ baseURL: `${system.edge.url}/v1`, apiKey: KEY, maxRetries: 0 });
  model = system.model.manifest.name;
}, 240_000);

afterAll(async () => {
  await system?.stop();
});

const photo = `data:image/png;base64,${Buffer.from(encodePng(testImage(120, 80, 5), 120, 80)).toString("base64")}`;

async function chatText(messages: OpenAI.Chat.ChatCompletionMessageParam[], maxTokens: number) {
  const completion = await client.chat.completions.create({ model, messages, max_tokens: maxTokens });
  return { text: completion.choices[0]!.message.content!, usage: completion.usage! };
}

async function post(body: object, key = KEY) {
  const response = await fetch(`${system.edge.url}/v1/responses`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await readJson(response) };
}

describe("POST /v1/responses", () => {
  it("answers a string input with the greedy text chat completions gives, as a completed or incomplete response", async () => {
    const response = await client.responses.create({ model, input: "Describe a lighthouse.", max_output_tokens: 10 });
    const chat = await chatText([{ role: "user", content: "Describe a lighthouse." }], 10);
    expect(response.object).toBe("response");
    expect(response.id).toMatch(/^resp_/);
    expect(response.output_text).toBe(chat.text);
    expect(response.output).toHaveLength(1);
    expect(response.output[0]).toMatchObject({ type: "message", role: "assistant", content: [{ type: "output_text", text: chat.text }] });
    expect(response.usage).toMatchObject({
      input_tokens: chat.usage.prompt_tokens,
      output_tokens: chat.usage.completion_tokens,
      total_tokens: chat.usage.total_tokens,
      input_tokens_details: { cached_tokens: expect.any(Number) },
    });
    if (chat.usage.completion_tokens === 10) {
      expect(response.status).toBe("incomplete");
      expect(response.incomplete_details).toEqual({ reason: "max_output_tokens" });
    } else expect(response.status).toBe("completed");
  });

  it("streams the documented events in order, the deltas adding up to the final text", async () => {
    const stream = await client.responses.create({ model, input: "Name three colours.", max_output_tokens: 12, stream: true });
    const types: string[] = [];
    const sequence: number[] = [];
    let deltas = "";
    let final: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      types.push(event.type);
      sequence.push(event.sequence_number);
      if (event.type === "response.output_text.delta") deltas += event.delta;
      if (event.type === "response.completed" || event.type === "response.incomplete") final = event.response;
    }
    const start = ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"];
    expect(types.slice(0, 4)).toEqual(start);
    const end = ["response.output_text.done", "response.content_part.done", "response.output_item.done"];
    expect(types.slice(-4, -1)).toEqual(end);
    expect(["response.completed", "response.incomplete"]).toContain(types.at(-1));
    expect(types.slice(4, -4).every((type) => type === "response.output_text.delta")).toBe(true);
    expect(sequence).toEqual(sequence.map((_, i) => i));
    const whole = await client.responses.create({ model, input: "Name three colours.", max_output_tokens: 12 });
    expect(deltas).toBe(whole.output_text);
    expect(final).toBeDefined();
    expect((final!.output[0] as OpenAI.Responses.ResponseOutputMessage).content[0]).toMatchObject({ type: "output_text", text: deltas });
  });

  it("resumes a conversation with instructions and an image by previous_response_id and by item_reference, as chat does", async () => {
    const instructions = "You answer briefly.";
    const question: OpenAI.Responses.ResponseInputItem = {
      role: "user",
      content: [
        { type: "input_text", text: "What is in this picture?" },
        { type: "input_image", image_url: photo, detail: "auto" },
      ],
    };
    const first = await client.responses.create({
      model,
      instructions,
      input: [question],
      max_output_tokens: 6,
    });
    const chatTurn1: OpenAI.Chat.ChatCompletionMessageParam[] = [
      { role: "system", content: instructions },
      {
        role: "user",
        content: [
          { type: "text", text: "What is in this picture?" },
          { type: "image_url", image_url: { url: photo } },
        ],
      },
    ];
    expect(first.output_text).toBe((await chatText(chatTurn1, 6)).text);

    const chatTurn2: OpenAI.Chat.ChatCompletionMessageParam[] = [
      ...chatTurn1,
      { role: "assistant", content: first.output_text },
      { role: "user", content: "And its colours?" },
    ];
    const expected = (await chatText(chatTurn2, 8)).text;
    const byPrevious = await client.responses.create({
      model,
      instructions,
      previous_response_id: first.id,
      input: "And its colours?",
      max_output_tokens: 8,
    });
    expect(byPrevious.output_text).toBe(expected);
    expect(byPrevious.previous_response_id).toBe(first.id);

    const byReference = await client.responses.create({
      model,
      instructions,
      input: [question, { type: "item_reference", id: first.output[0]!.id! }, { role: "user", content: "And its colours?" }],
      max_output_tokens: 8,
    });
    expect(byReference.output_text).toBe(expected);
  });

  it("includes the output text's log-probabilities when asked, as chat completions reports them", async () => {
    const response = await client.responses.create({
      model,
      input: "Count to five.",
      max_output_tokens: 8,
      include: ["message.output_text.logprobs"],
      top_logprobs: 2,
    });
    const chat = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "Count to five." }],
      max_tokens: 8,
      logprobs: true,
      top_logprobs: 2,
    });
    const part = (response.output[0] as OpenAI.Responses.ResponseOutputMessage).content[0] as OpenAI.Responses.ResponseOutputText;
    expect(part.logprobs).toEqual(chat.choices[0]!.logprobs!.content);
    expect(part.logprobs!.every((entry) => entry.top_logprobs.length === 2)).toBe(true);
  });

  it("refuses what it does not serve with OpenAI-shaped 4xx errors naming the field", async () => {
    const cases: [object, number, string, string | null][] = [
      [{ model, input: [{ type: "function_call", name: "f", arguments: "{}", call_id: "c" }] }, 400, "unsupported_input_item", "input[0]"],
      [{ model, input: [{ role: "user", content: [{ type: "input_image" }] }] }, 400, "invalid_request", "input[0].content[0].image_url"],
      [
        { model, input: [{ role: "user", content: [{ type: "input_image", file_id: "file-1" }] }] },
        400,
        "unsupported_parameter",
        "input[0].content[0].file_id",
      ],
      [{ model, input: "hi", max_output_tokens: 0 }, 400, "invalid_request", "max_output_tokens"],
      [{ model, input: "hi", top_logprobs: 21 }, 400, "invalid_request", "top_logprobs"],
      [{ model, input: "hi", include: ["file_search_call.results"] }, 400, "unsupported_parameter", "include.0"],
      [{ model, input: "hi", tools: [{ type: "function", name: "f" }] }, 400, "unsupported_parameter", "tools"],
      [{ model, input: "hi", previous_response_id: "resp_unknown" }, 400, "previous_response_not_found", "previous_response_id"],
      [{ model, input: [{ type: "item_reference", id: "msg_unknown" }] }, 400, "previous_response_not_found", "input[0].id"],
      [{ model: "gpt-4o", input: "hi" }, 404, "model_not_found", "model"],
      [{ model }, 400, "invalid_request", "input"],
    ];
    for (const [body, status, code, param] of cases) {
      const answer = await post(body);
      expect(answer.status, JSON.stringify(body)).toBe(status);
      expect(answer.body.error, JSON.stringify(body)).toMatchObject({ code, param });
      expect(typeof answer.body.error.message).toBe("string");
    }
  });

  it("keeps no response created with store: false", async () => {
    const unstored = await post({ model, input: "Say hello.", max_output_tokens: 3, store: false });
    expect(unstored.body.store).toBe(false);
    const answer = await post({ model, input: "Again.", previous_response_id: unstored.body.id });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe("previous_response_not_found");
  });

  it("keeps each API key's responses to itself", async () => {
    const stored = await client.responses.create({ model, input: "Say hello.", max_output_tokens: 3 });
    expect((await post({ model, input: "Again.", previous_response_id: stored.id, max_output_tokens: 1 })).status).toBe(200);
    const other = await post({ model, input: "Again.", previous_response_id: stored.id, max_output_tokens: 1 }, OTHER_KEY);
    expect(other.status).toBe(400);
    expect(other.body.error.code).toBe("previous_response_not_found");
  });
});

describe("GET /v1/models/{id}", () => {
  it("returns the served model, and 404 model_not_found for any other", async () => {
    expect(await client.models.retrieve(model)).toMatchObject({ id: model, object: "model", owned_by: "deepseek-ai" });
    await expect(client.models.retrieve("gpt-4o")).rejects.toMatchObject({ status: 404, code: "model_not_found" });
  });
});
