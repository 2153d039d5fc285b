import { describe, expect, test } from "vitest";

import { tokenizerJson as converterFixtureTokenizerJson } from "../../converter/fixture/tokenizer.ts";
import { v3Reference, vlTokenizerJson } from "../../test/support/test-tokenizer.ts";
import { ChatTokenizer, PromptError, renderPrompt, type TokenFacts, TokenizerCache, tokenize } from "./index.ts";

// Reference §7/§8.2 values, written out rather than imported.
const BOS = 100000;
const EOS = 100001;
const IMAGE = 100015;
const SYS =
  "You are a helpful language and vision assistant. You are able to understand the visual content that the user provides, and assist the user with a variety of tasks using natural language.";
const EOS_TEXT = "<\uFF5Cend\u2581of\u2581sentence\uFF5C>";

const tokenizer = new ChatTokenizer(vlTokenizerJson());
const imageRun = Array<number>(576).fill(IMAGE);

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return error instanceof PromptError ? error.code : `not a PromptError: ${error}`;
  }
  return "no error";
}

describe("tokenize with a DeepSeek-family tokenizer at DeepSeek-VL's ids", () => {
  test("single turn: one BOS, the placeholder expanded to 576 x 100015 in place", () => {
    const prompt = renderPrompt([
      { role: "user", parts: [{ type: "image" }, { type: "text", text: "Describe each stage of this image." }] },
    ]);
    const { ids, images } = tokenize(prompt, tokenizer, { images: 1 });
    // Added tokens split the text first; each piece is then tokenized on its own (as HF tokenizers do).
    const head = v3Reference(`${SYS}\n\nUser: `);
    const tail = v3Reference("Describe each stage of this image.\n\nAssistant:");
    expect(ids).toEqual([BOS, ...head, ...imageRun, ...tail]);
    expect(images).toEqual([{ start: 1 + head.length, length: 576 }]);
    expect(ids.filter((id) => id === BOS)).toHaveLength(1);
  });

  test("multi-turn: EOS id between the assistant reply and the next User:", () => {
    const prompt = `${SYS}\n\nUser: <image_placeholder>What is it?\n\nAssistant: A dog.${EOS_TEXT}User: And the color?\n\nAssistant:`;
    const { ids, images } = tokenize(prompt, tokenizer, { images: 1 });
    const head = v3Reference(`${SYS}\n\nUser: `);
    expect(ids).toEqual([
      BOS,
      ...head,
      ...imageRun,
      ...v3Reference("What is it?\n\nAssistant: A dog."),
      EOS,
      ...v3Reference("User: And the color?\n\nAssistant:"),
    ]);
    expect(images).toEqual([{ start: 1 + head.length, length: 576 }]);
  });

  test("several images: runs in order of appearance; adjacent placeholders give adjacent runs", () => {
    const prompt = renderPrompt([
      { role: "user", parts: [{ type: "image" }, { type: "image" }, { type: "text", text: "Compare" }, { type: "image" }] },
    ]);
    const { ids, images } = tokenize(prompt, tokenizer, { images: 3 });
    const head = 1 + v3Reference(`${SYS}\n\nUser: `).length;
    const between = v3Reference("Compare").length;
    expect(images).toEqual([
      { start: head, length: 576 },
      { start: head + 576, length: 576 },
      { start: head + 1152 + between, length: 576 },
    ]);
    expect(ids.length).toBe(1 + v3Reference(`${SYS}\n\nUser: `).length + between + v3Reference("\n\nAssistant:").length + 3 * 576);
    expect(ids.filter((id) => id === IMAGE)).toHaveLength(3 * 576);
  });

  test("CJK and emoji text tokenizes as DeepSeek's pre-tokenizer does", () => {
    const prompt = renderPrompt([{ role: "user", parts: [{ type: "text", text: "这是什么？ 😀 123456" }] }]);
    expect(tokenize(prompt, tokenizer, { images: 0 }).ids).toEqual([
      BOS,
      ...v3Reference(`${SYS}\n\nUser: 这是什么？ 😀 123456\n\nAssistant:`),
    ]);
  });

  test("the placeholder count must equal the image count", () => {
    const prompt = renderPrompt([{ role: "user", parts: [{ type: "image" }, { type: "text", text: "Hi" }] }]);
    expect(codeOf(() => tokenize(prompt, tokenizer, { images: 2 }))).toBe("image_count_mismatch");
    expect(() => tokenize(prompt, tokenizer, { images: 0 })).toThrow(
      "the prompt has 1 image placeholders but the conversation has 0 images",
    );
  });

  test("a BOS inside the prompt text is refused (BOS is added exactly once)", () => {
    expect(codeOf(() => tokenize("<\uFF5Cbegin\u2581of\u2581sentence\uFF5C>User: Hi\n\nAssistant:", tokenizer, { images: 0 }))).toBe(
      "reserved_text",
    );
  });

  test("the converter's fixture tokenizer.json (specials at the VL ids) works too", () => {
    const fixture = new ChatTokenizer(converterFixtureTokenizerJson());
    const { ids, images } = tokenize(
      renderPrompt([{ role: "user", parts: [{ type: "image" }, { type: "text", text: "Describe this image." }] }]),
      fixture,
      { images: 1 },
    );
    expect(ids[0]).toBe(BOS);
    expect(ids.slice(images[0]!.start, images[0]!.start + 576)).toEqual(imageRun);
    expect(ids.filter((id) => id === BOS || id === IMAGE)).toHaveLength(577);
  });
});

describe("ChatTokenizer checks tokenizer.json against the manifest", () => {
  const json = JSON.parse(vlTokenizerJson()) as Record<string, unknown>;

  test("accepts the parsed object as well as the text", () => {
    const fromObject = new ChatTokenizer(json);
    expect(fromObject.encode("Hello world")).toEqual(tokenizer.encode("Hello world"));
  });

  test.each([
    [
      "an id that is another token",
      { bos: 100000, eos: 100015, image: 100015, imageTokens: 576 },
      /the EOS id 100015 of the manifest is the added token "<image_placeholder>", expected <｜end▁of▁sentence｜>/,
    ],
    ["Llama's BOS id", { bos: 1, eos: 100001, image: 100015, imageTokens: 576 }, /the BOS id 1 of the manifest is not an added token/],
  ])("refuses %s", (_, facts: TokenFacts, message) => {
    expect(() => new ChatTokenizer(json, facts)).toThrow(message);
  });

  test("refuses invalid JSON and a decoder that is not byte-level", () => {
    expect(codeOf(() => new ChatTokenizer("{not json"))).toBe("invalid_tokenizer");
    expect(() => new ChatTokenizer({ ...json, decoder: { type: "Metaspace", replacement: "▁", add_prefix_space: true } })).toThrow(
      "tokenizer.json: the decoder must be ByteLevel (byte-level BPE)",
    );
  });
});

describe("TokenizerCache", () => {
  test("loads once per key and reloads for another key", async () => {
    const cache = new TokenizerCache();
    const loads: string[] = [];
    const load = (key: string) => async () => {
      loads.push(key);
      return vlTokenizerJson();
    };
    const first = await cache.load("rev-a", load("rev-a"));
    expect(await cache.load("rev-a", load("rev-a"))).toBe(first);
    const second = await cache.load("rev-b", load("rev-b"));
    expect(second).not.toBe(first);
    expect(loads).toEqual(["rev-a", "rev-b"]);
  });

  test("a failed load is not cached", async () => {
    const cache = new TokenizerCache();
    await expect(cache.load("rev-c", async () => "{broken")).rejects.toThrow(PromptError);
    expect(await cache.load("rev-c", async () => vlTokenizerJson())).toBeInstanceOf(ChatTokenizer);
  });
});
