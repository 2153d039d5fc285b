// The client libraries people use today, following their default examples against the real Worker and GPU service
// (tiny model, CPU): the Vercel AI SDK's OpenAI provider (whose default model speaks the Responses API) and
// LangChain's ChatOpenAI (chat completions by default, the Responses API when asked), each giving the greedy text
// chat completions gives.
import { createOpenAI } from "@ai-sdk/openai";
import { ChatOpenAI } from "@langchain/openai";
import { generateText, streamText } from "ai";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodePng } from "../processes/index.ts";
import { testImage } from "./support/images.ts";
import { startTestSystem, type TestSystem } from "./support/system.ts";

let system: TestSystem;
let model: string;
let baseURL: string;

beforeAll(async () => {
  system = await startTestSystem();
  model = system.model.manifest.name;
  baseURL = `${system.edge.url}/v1`;
}, 240_000);

afterAll(async () => {
  await system?.stop();
});

async function chatText(messages: OpenAI.Chat.ChatCompletionMessageParam[], maxTokens: number): Promise<string> {
  const client = new OpenAI({ baseURL, apiKey: system.apiKey, maxRetries: 0 });
  const completion = await client.chat.completions.create({ model, messages, max_tokens: maxTokens });
  return completion.choices[0]!.message.content!;
}

const png = encodePng(testImage(96, 64, 3), 96, 64);

describe("the Vercel AI SDK (@ai-sdk/openai, Responses API)", () => {
  it("generates and streams the text chat completions gives, with an image and a second turn", async () => {
    const provider = createOpenAI({ baseURL, apiKey: system.apiKey });
    const question = {
      role: "user" as const,
      content: [
        { type: "text" as const, text: "What is in this picture?" },
        { type: "file" as const, data: png, mediaType: "image/png" },
      ],
    };
    const first = await generateText({ model: provider(model), system: "You answer briefly.", messages: [question], maxOutputTokens: 6 });
    const dataUrl = `data:image/png;base64,${Buffer.from(png).toString("base64")}`;
    const turn1: OpenAI.Chat.ChatCompletionMessageParam[] = [
      { role: "system", content: "You answer briefly." },
      {
        role: "user",
        content: [
          { type: "text", text: "What is in this picture?" },
          { type: "image_url", image_url: { url: dataUrl } },
        ],
      },
    ];
    expect(first.text).toBe(await chatText(turn1, 6));

    // The second turn as the AI SDK sends it: the earlier answer by reference to the stored response.
    const second = await generateText({
      model: provider(model),
      system: "You answer briefly.",
      messages: [question, ...first.response.messages, { role: "user", content: "And its colours?" }],
      maxOutputTokens: 6,
    });
    const turn2: OpenAI.Chat.ChatCompletionMessageParam[] = [
      ...turn1,
      { role: "assistant", content: first.text },
      { role: "user", content: "And its colours?" },
    ];
    expect(second.text).toBe(await chatText(turn2, 6));

    const streamed = streamText({ model: provider(model), prompt: "Name three colours.", maxOutputTokens: 8 });
    let text = "";
    for await (const delta of streamed.textStream) text += delta;
    expect(text).toBe(await chatText([{ role: "user", content: "Name three colours." }], 8));
  });
});

describe("LangChain (@langchain/openai ChatOpenAI)", () => {
  it("invokes on chat completions by default and on the Responses API when asked, with the same text", async () => {
    const expected = await chatText([{ role: "user", content: "Describe a lighthouse." }], 8);
    const configuration = { baseURL };
    const chat = new ChatOpenAI({ model, apiKey: system.apiKey, configuration, maxTokens: 8, maxRetries: 0 });
    expect((await chat.invoke("Describe a lighthouse.")).text).toBe(expected);
    const responses = new ChatOpenAI({ model, apiKey: system.apiKey, configuration, maxTokens: 8, maxRetries: 0, useResponsesApi: true });
    expect((await responses.invoke("Describe a lighthouse.")).text).toBe(expected);
  });
});
