import { describe, expect, test } from "vitest";

import { fromOpenAiMessages, PromptError, renderPrompt } from "./index.ts";

describe("fromOpenAiMessages", () => {
  test("string contents, content parts and images in order of appearance", () => {
    const { messages, imageUrls } = fromOpenAiMessages([
      { role: "developer", content: "Be brief." },
      {
        role: "user",
        content: [
          { type: "image_url", image_url: { url: "https://example.com/a.jpg", detail: "high" } },
          { type: "text", text: "What is it?" },
        ],
      },
      { role: "assistant", content: "A dog." },
      {
        role: "user",
        content: [
          { type: "text", text: "And this?" },
          { type: "image_url", image_url: "data:image/png;base64,AAAA" },
        ],
      },
    ]);
    expect(messages).toEqual([
      { role: "system", parts: [{ type: "text", text: "Be brief." }] },
      { role: "user", parts: [{ type: "image" }, { type: "text", text: "What is it?" }] },
      { role: "assistant", parts: [{ type: "text", text: "A dog." }] },
      { role: "user", parts: [{ type: "text", text: "And this?" }, { type: "image" }] },
    ]);
    expect(imageUrls).toEqual(["https://example.com/a.jpg", "data:image/png;base64,AAAA"]);
  });

  test("a null assistant content is an empty turn", () => {
    const { messages } = fromOpenAiMessages([
      { role: "user", content: "a" },
      { role: "assistant", content: null },
      { role: "user", content: "b" },
    ]);
    expect(renderPrompt(messages).endsWith("User: a\n\nAssistant:User: b\n\nAssistant:")).toBe(true);
  });

  test.each([
    ["invalid_message", "messages must be an array", { role: "user", content: "x" }],
    ["invalid_message", "messages[0]: expected an object", ["x"]],
    [
      "unknown_role",
      'messages[0]: unsupported role "tool" (expected system, developer, user or assistant)',
      [{ role: "tool", content: "x" }],
    ],
    ["invalid_message", "messages[0].content: expected a string or an array of content parts", [{ role: "user", content: 3 }]],
    [
      "invalid_message",
      'messages[0].content[1]: unsupported content part (type "input_audio"); expected text or image_url',
      [{ role: "user", content: [{ type: "text", text: "a" }, { type: "input_audio" }] }],
    ],
    [
      "invalid_message",
      "messages[0].content[0].image_url: expected {url} with a non-empty URL",
      [{ role: "user", content: [{ type: "image_url", image_url: {} }] }],
    ],
  ])("%s: %s", (code, message, input) => {
    let caught: unknown;
    try {
      fromOpenAiMessages(input);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PromptError);
    expect(caught).toMatchObject({ code, message });
  });
});
