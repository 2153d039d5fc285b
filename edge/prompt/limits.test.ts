import { describe, expect, test } from "vitest";

import { checkTokenLimit, PromptError } from "./index.ts";

describe("checkTokenLimit", () => {
  test("returns max_tokens when prompt + max_tokens fits the context, up to exactly the context", () => {
    expect(checkTokenLimit({ promptTokens: 600, maxTokens: 512, contextLength: 4096 })).toBe(512);
    expect(checkTokenLimit({ promptTokens: 3584, maxTokens: 512, contextLength: 4096 })).toBe(512);
  });

  test("without max_tokens, allows what the prompt leaves of the context", () => {
    expect(checkTokenLimit({ promptTokens: 600, contextLength: 4096 })).toBe(3496);
    expect(checkTokenLimit({ promptTokens: 4095, contextLength: 4096 })).toBe(1);
  });

  test("one token over is refused, with OpenAI's wording", () => {
    expect(() => checkTokenLimit({ promptTokens: 3585, maxTokens: 512, contextLength: 4096 })).toThrow(
      "This model's maximum context length is 4096 tokens. However, you requested 4097 tokens (3585 in the messages, 512 in the completion). Please reduce the length of the messages or completion.",
    );
    expect(() => checkTokenLimit({ promptTokens: 4096, contextLength: 4096 })).toThrow(
      /^This model's maximum context length is 4096 tokens\. However, your messages resulted in 4096 tokens/,
    );
  });

  test("error codes", () => {
    const codeOf = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return error instanceof PromptError ? error.code : "other";
      }
      return "none";
    };
    expect(codeOf(() => checkTokenLimit({ promptTokens: 5000, maxTokens: 1, contextLength: 4096 }))).toBe("context_length_exceeded");
    expect(codeOf(() => checkTokenLimit({ promptTokens: 10, maxTokens: 0, contextLength: 4096 }))).toBe("invalid_max_tokens");
    expect(codeOf(() => checkTokenLimit({ promptTokens: 10, maxTokens: 1.5, contextLength: 4096 }))).toBe("invalid_max_tokens");
  });
});
