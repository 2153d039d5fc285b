import { Tokenizer } from "@huggingface/tokenizers";
import { describe, expect, test } from "vitest";

import { byteToUnicode } from "../../converter/fixture/tokenizer.ts";
import { vlTokenizerJson } from "../../test/support/test-tokenizer.ts";
import { ChatTokenizer, type DetokenizerOptions, IncrementalDetokenizer, PromptError, type TextDelta } from "./index.ts";

const BOS = 100000;
const EOS = 100001;
const IMAGE = 100015;

const tokenizer = new ChatTokenizer(vlTokenizerJson());
const library = new Tokenizer(JSON.parse(vlTokenizerJson()), {});
const BYTE_CHARS = byteToUnicode(); // GPT-2's byte -> character table of byte-level BPE

/** Ids of the single-byte tokens for `bytes` (a byte-level vocabulary has all 256). */
const byteIds = (...bytes: number[]) => bytes.map((byte) => library.token_to_id(BYTE_CHARS[byte]!)!);
/** The text of `text` as ids, as the model would generate them. */
const idsOf = (text: string) => tokenizer.encode(text);

/** Feeds ids one at a time and returns every delta plus the final flush. */
function run(ids: readonly number[], options?: DetokenizerOptions): { deltas: TextDelta[]; text: string; stopped: boolean } {
  const detokenizer = new IncrementalDetokenizer(tokenizer, options);
  const deltas = ids.map((id) => detokenizer.push(id));
  deltas.push(detokenizer.finish());
  return { deltas, text: deltas.map((delta) => delta.text).join(""), stopped: detokenizer.stopped };
}

const LONE_SURROGATE = /\p{Cs}/u;

describe("UTF-8 across tokens", () => {
  test.each(["Hello, world!", "这是一只猫。它在沙发上。", "Emoji: 😀👍🏽 and 🇯🇵!", "Ünïcödé – ½ ∑ €", " leading and trailing spaces "])(
    "round trip %j",
    (text) => {
      const { deltas, text: out } = run(idsOf(text));
      expect(out).toBe(text);
      for (const delta of deltas) expect(LONE_SURROGATE.test(delta.text)).toBe(false);
    },
  );

  test("an emoji split across two tokens comes out whole with the second", () => {
    // " 😀" is the tokens "Ġ" + F0 9F 98 and then 80 in DeepSeek's vocabulary.
    const ids = idsOf(" 😀");
    expect(ids).toHaveLength(2);
    expect(run(ids).deltas.map((delta) => delta.text)).toEqual([" ", "😀", ""]);
  });

  test("a CJK character fed byte by byte (E4 BD A0 = 你) is held until complete", () => {
    expect(run(byteIds(0xe4, 0xbd, 0xa0, 0x41)).deltas.map((delta) => delta.text)).toEqual(["", "", "你", "A", ""]);
  });

  test("a four-byte character byte by byte", () => {
    expect(run(byteIds(0xf0, 0x9f, 0x98, 0x80)).deltas.map((delta) => delta.text)).toEqual(["", "", "", "😀", ""]);
  });

  // Expected strings: Python 3.11 `bytes.fromhex(...).decode("utf-8", "replace")`, which like HF's decode
  // (`String::from_utf8_lossy`) replaces each maximal invalid subpart with one U+FFFD.
  test.each([
    ["e4bd41f09f9880ffc3", "\uFFFDA😀\uFFFD\uFFFD"],
    ["e4bd", "\uFFFD"],
    ["f09f98", "\uFFFD"],
    ["eda080", "\uFFFD\uFFFD\uFFFD"],
  ])("invalid and unfinished bytes %s", (hex, expected) => {
    const bytes = hex.match(/../g)!.map((pair) => parseInt(pair, 16));
    expect(run(byteIds(...bytes)).text).toBe(expected);
  });

  test("an unfinished character at the end becomes one U+FFFD at finish()", () => {
    const detokenizer = new IncrementalDetokenizer(tokenizer);
    expect(byteIds(0x61, 0xe4, 0xbd).map((id) => detokenizer.push(id).text)).toEqual(["a", "", ""]);
    expect(detokenizer.finish()).toEqual({ text: "\uFFFD", stopped: false });
    expect(detokenizer.push(byteIds(0x62)[0]!)).toEqual({ text: "", stopped: false });
  });

  test("a leading U+FEFF is text, not a byte-order mark to drop", () => {
    expect(run(byteIds(0xef, 0xbb, 0xbf, 0x61)).text).toBe("\uFEFFa");
  });

  test("matches @huggingface/tokenizers' whole-sequence decode with skip_special_tokens", () => {
    const ids = [BOS, ...idsOf("A 😀 cat,\n\n你好！ ¿Qué tal?"), EOS, ...idsOf(" More.")];
    expect(run(ids).text).toBe(library.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false }));
  });
});

describe("hidden tokens", () => {
  test("BOS, EOS, image and ids outside the vocabulary produce no text", () => {
    const ids = [BOS, ...idsOf("Hi"), IMAGE, EOS, 100016, 102399, ...idsOf(" there")];
    expect(run(ids).text).toBe("Hi there");
  });

  test("a non-special added byte token decodes as its byte (ø at 100002 is 0xF8: invalid alone)", () => {
    expect(run([100002]).text).toBe("\uFFFD");
  });

  test("a hidden id between the bytes of a character does not break it", () => {
    const [a, b, c] = byteIds(0xe4, 0xbd, 0xa0);
    expect(run([a!, EOS, b!, IMAGE, c!]).text).toBe("你");
  });
});

describe("stop strings", () => {
  test("a stop spanning two tokens: the text ends before it, nothing of it is shown", () => {
    const ids = idsOf("A dog.\n\nUser: And the color?");
    const { deltas, text, stopped } = run(ids, { stop: ["User:"] });
    expect(text).toBe("A dog.\n\n");
    expect(stopped).toBe(true);
    expect(deltas.some((delta) => delta.text.includes("U"))).toBe(false);
  });

  test("a stop spanning three tokens", () => {
    const ids = idsOf("This is the end of it");
    expect(ids.length).toBeGreaterThanOrEqual(5);
    expect(run(ids, { stop: ["is the en"] })).toMatchObject({ text: "This ", stopped: true });
  });

  test("a stop at the very start gives no text", () => {
    const ids = idsOf("User: hello");
    const detokenizer = new IncrementalDetokenizer(tokenizer, { stop: ["User:"] });
    const deltas = ids.map((id) => detokenizer.push(id));
    expect(deltas.map((delta) => delta.text).join("")).toBe("");
    expect(deltas.find((delta) => delta.stopped)).toEqual({ text: "", stopped: true });
    expect(detokenizer.finish()).toEqual({ text: "", stopped: true });
  });

  test("a held prefix is released once it cannot become the stop", () => {
    const { deltas, text, stopped } = run(idsOf("Username is Us"), { stop: ["User:"] });
    expect(text).toBe("Username is Us");
    expect(stopped).toBe(false);
    // "Us" at the end could still start "User:": only finish() releases it.
    expect(deltas.at(-1)!.text.endsWith("Us")).toBe(true);
  });

  test("the earliest match wins among several stops", () => {
    expect(run(idsOf("hello world"), { stop: ["world", "lo w"] })).toMatchObject({ text: "hel", stopped: true });
  });

  test("a stop inside one token", () => {
    expect(run(idsOf("hello"), { stop: ["ll"] })).toMatchObject({ text: "he", stopped: true });
  });

  test("a stop made of a character split across tokens", () => {
    expect(run(idsOf("Hi 😀 there"), { stop: ["😀"] })).toMatchObject({ text: "Hi ", stopped: true });
  });

  test("ids after the stop are ignored", () => {
    const detokenizer = new IncrementalDetokenizer(tokenizer, { stop: ["."] });
    const texts = idsOf("One. Two.").map((id) => detokenizer.push(id).text);
    expect(texts.join("")).toBe("One");
    expect(detokenizer.push(idsOf("x")[0]!)).toEqual({ text: "", stopped: true });
  });

  test.each([
    [[""], "stop[0] must be a non-empty string"],
    [["ok", "\uD83D"], "stop[1] is not well-formed Unicode (lone surrogate)"],
  ])("refuses stop %j", (stop, message) => {
    expect(() => new IncrementalDetokenizer(tokenizer, { stop })).toThrow(PromptError);
    expect(() => new IncrementalDetokenizer(tokenizer, { stop })).toThrow(message);
  });
});
