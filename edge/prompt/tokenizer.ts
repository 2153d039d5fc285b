import { Tokenizer } from "@huggingface/tokenizers";
import type { Manifest } from "../../shared/manifest/index.ts";
import { PromptError } from "./errors.ts";
import { BOS_TEXT, EOS_TEXT, IMAGE_PLACEHOLDER } from "./template.ts";

/** The token ids a prompt needs, from the model manifest. */
export interface TokenFacts {
  bos: number;
  eos: number;
  image: number;
  /** Image-token ids per image (576). */
  imageTokens: number;
}

/** DeepSeek-VL's values (reference §7, §8.2). Never take bos/eos from `language_config`: it inherits Llama's 1/2. */
export const DEEPSEEK_VL_TOKENS: TokenFacts = { bos: 100000, eos: 100001, image: 100015, imageTokens: 576 };

export function tokenFacts(manifest: Manifest): TokenFacts {
  const { bos, eos, image } = manifest.tokens;
  return { bos, eos, image, imageTokens: manifest.vision.imageTokens };
}

/** What is used of @huggingface/tokenizers' Tokenizer, typed here: the package's types do not resolve under nodenext. */
interface LibraryTokenizer {
  encode(text: string, options: { add_special_tokens: boolean }): { ids: number[] };
  id_to_token(id: number): string | undefined;
  get_added_tokens_decoder(): Map<number, { id: number; content: string; special: boolean }>;
  /** A ByteLevel decoder carries the byte-level alphabet as `byte_decoder` (character -> byte). */
  decoder: object | null;
}

/**
 * The model's byte-level BPE tokenizer (tokenizer.json) with the facts of the manifest, checked against each other.
 * Adds nothing by itself: `@huggingface/tokenizers` ignores tokenizer_config's add_bos_token, and `tokenize`
 * prepends BOS exactly once.
 */
export class ChatTokenizer {
  readonly facts: TokenFacts;
  readonly #tokenizer: LibraryTokenizer;
  readonly #byteOf: Record<string, number>;
  /** Ids never shown in generated text: every added token marked special, and BOS/EOS/image in any case. */
  readonly #hidden: ReadonlySet<number>;
  readonly #encoder = new TextEncoder();

  /** `json`: the text or parsed object of tokenizer.json (fetched from static assets or R2, never bundled). */
  constructor(json: string | object, facts: TokenFacts = DEEPSEEK_VL_TOKENS) {
    let parsed = json;
    if (typeof json === "string") {
      try {
        parsed = JSON.parse(json);
      } catch (error) {
        throw new PromptError("invalid_tokenizer", `tokenizer.json is not valid JSON: ${(error as Error).message}`);
      }
    }
    try {
      this.#tokenizer = new Tokenizer(parsed, {});
    } catch (error) {
      throw new PromptError("invalid_tokenizer", `tokenizer.json: ${(error as Error).message}`);
    }
    const decoder = this.#tokenizer.decoder;
    const byteOf = decoder && "byte_decoder" in decoder ? (decoder.byte_decoder as Record<string, number>) : undefined;
    if (!byteOf) throw new PromptError("invalid_tokenizer", "tokenizer.json: the decoder must be ByteLevel (byte-level BPE)");
    this.#byteOf = byteOf;
    const added = this.#tokenizer.get_added_tokens_decoder();
    for (const [name, id, text] of [
      ["BOS", facts.bos, BOS_TEXT],
      ["EOS", facts.eos, EOS_TEXT],
      ["image", facts.image, IMAGE_PLACEHOLDER],
    ] as const) {
      const token = added.get(id);
      if (token?.content !== text) {
        throw new PromptError(
          "invalid_tokenizer",
          `tokenizer.json: the ${name} id ${id} of the manifest is ${token ? `the added token ${JSON.stringify(token.content)}` : "not an added token"}, expected ${text}`,
        );
      }
    }
    const hidden = new Set([facts.bos, facts.eos, facts.image]);
    for (const token of added.values()) if (token.special) hidden.add(token.id);
    this.#hidden = hidden;
    this.facts = facts;
  }

  /** Ids of `text` with nothing added; the template's special strings become their single ids. */
  encode(text: string): number[] {
    const { ids } = this.#tokenizer.encode(text, { add_special_tokens: false });
    const unknown = ids.findIndex((id) => !Number.isInteger(id));
    if (unknown >= 0) throw new PromptError("invalid_tokenizer", `tokenizer.json cannot encode the prompt: token ${unknown} has no id`);
    return ids;
  }

  /**
   * The bytes a generated id stands for, as the Rust tokenizers' ByteLevel decoder maps them: each character of the
   * token through the byte-level alphabet, or the token's own UTF-8 when a character is outside it (added tokens).
   * Undefined for hidden ids and for ids without a token (the unused embedding rows), which decode to nothing
   * there too (`skip_special_tokens=True`, reference §9).
   */
  bytesOf(id: number): Uint8Array | undefined {
    if (this.#hidden.has(id)) return undefined;
    const token = this.#tokenizer.id_to_token(id);
    if (token === undefined) return undefined;
    const bytes: number[] = [];
    for (const char of token) {
      const byte = this.#byteOf[char];
      if (byte === undefined) return this.#encoder.encode(token);
      bytes.push(byte);
    }
    return Uint8Array.from(bytes);
  }
}

/**
 * One tokenizer, for one key (e.g. the manifest revision): a Worker serves one model, and a second copy of a
 * 100k vocabulary would not fit beside the first in 128 MB. Only finished tokenizers are kept: a promise shared
 * across requests could be stranded by the cancellation of the request that started the load.
 */
export class TokenizerCache {
  #cached: { key: string; tokenizer: ChatTokenizer } | undefined;

  /** The tokenizer for `key`, loaded with `load` (which fetches tokenizer.json from static assets or R2) unless held. */
  async load(key: string, load: () => Promise<string | object>, facts: TokenFacts = DEEPSEEK_VL_TOKENS): Promise<ChatTokenizer> {
    if (this.#cached?.key === key) return this.#cached.tokenizer;
    const tokenizer = new ChatTokenizer(await load(), facts);
    this.#cached = { key, tokenizer };
    return tokenizer;
  }
}
