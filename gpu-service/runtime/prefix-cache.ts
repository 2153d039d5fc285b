import { ByteLru } from "../../shared/cache/index.ts";
import { disposeCache, type KvCache } from "./model.ts";

/** What a prompt's KV depends on: its tenant, its token ids, and the image at the start of each image run. */
export type PromptIdentity = {
  namespace: string;
  inputIds: readonly number[];
  images: readonly { key: string; start: number }[];
};

type Entry = { identity: PromptIdentity; cache: KvCache };

/** A held prefix a prompt starts with: the KV of its first `length` tokens (borrowed: the cache still owns it). */
export type PrefixHit = { length: number; cache: KvCache };

export type PrefixCacheStats = { entries: number; bytes: number; hits: number; misses: number; cachedTokens: number };

/**
 * The KV of earlier prompts (batch 1, where the decoder keeps it: device memory on an accelerator), so a prompt
 * that starts with one — the next turn of a conversation repeats the whole previous prompt — prefills only the
 * rest. Bounded in bytes, least recently used first out, each cache freed as it leaves.
 *
 * Entries are found by a hash chain over the tokens (each image mixed in at its run's start, the namespace at
 * the root): a prompt's chain value at position ℓ names the entry that holds exactly its first ℓ tokens. A hit
 * is then checked token by token and image by image, so a hash collision never serves another prompt's KV,
 * and tenants never share an entry.
 */
export class PrefixCache {
  readonly #entries: ByteLru<string, Entry>;
  #hits = 0;
  #misses = 0;
  #cachedTokens = 0;

  constructor(maxBytes: number, bytesPerPosition: number) {
    this.#entries = new ByteLru({
      maxBytes,
      sizeOf: (entry) => entry.cache.length * bytesPerPosition,
      onRemove: (entry) => disposeCache(entry.cache),
    });
  }

  /**
   * The longest held prefix of `prompt`, shorter than the prompt (its last token must run through the decoder for
   * the first token's logits). The cache is borrowed: valid until the next `insert`.
   */
  lookup(prompt: PromptIdentity): PrefixHit | undefined {
    const chain = hashChain(prompt);
    for (let length = prompt.inputIds.length - 1; length > 0; length--) {
      const key = entryKey(length, chain[length]!);
      if (!this.#entries.has(key)) continue;
      const entry = this.#entries.get(key)!;
      if (!startsWith(prompt, entry.identity)) continue;
      this.#hits++;
      this.#cachedTokens += length;
      return { length, cache: entry.cache };
    }
    this.#misses++;
    return undefined;
  }

  /** Holds `cache` (batch 1, the KV of all of `prompt`) from now on; it is freed when it leaves. */
  insert(prompt: PromptIdentity, cache: KvCache): void {
    if (cache.batch !== 1 || cache.length !== prompt.inputIds.length) {
      disposeCache(cache);
      throw new Error(`a prefix cache entry must be one row of the whole prompt, got [${cache.batch}, ${cache.length}]`);
    }
    const chain = hashChain(prompt);
    const length = prompt.inputIds.length;
    const identity = {
      namespace: prompt.namespace,
      inputIds: prompt.inputIds.slice(),
      images: prompt.images.map((image) => ({ ...image })),
    };
    this.#entries.set(entryKey(length, chain[length]!), { identity, cache });
  }

  stats(): PrefixCacheStats {
    const { entries, bytes } = this.#entries.stats();
    return { entries, bytes, hits: this.#hits, misses: this.#misses, cachedTokens: this.#cachedTokens };
  }
}

const entryKey = (length: number, hash: number) => `${length}:${hash}`;

/** chain[i]: FNV-1a over the namespace, the first i tokens and the images whose runs start before i. */
function hashChain({ namespace, inputIds, images }: PromptIdentity): Uint32Array {
  const chain = new Uint32Array(inputIds.length + 1);
  let hash = mixString(0x811c9dc5, namespace);
  let image = 0;
  for (let i = 0; i < inputIds.length; i++) {
    chain[i] = hash;
    while (image < images.length && images[image]!.start === i) hash = mixString(hash, images[image++]!.key);
    hash = mix(hash, inputIds[i]!);
  }
  chain[inputIds.length] = hash;
  return chain;
}

const mix = (hash: number, value: number) => Math.imul(hash ^ value, 0x01000193) >>> 0;

function mixString(hash: number, text: string): number {
  let mixed = mix(hash, text.length);
  for (let i = 0; i < text.length; i++) mixed = mix(mixed, text.charCodeAt(i));
  return mixed;
}

/** Whether `prompt` begins with all of `held`: same namespace, tokens, and image at each run that starts inside it. */
function startsWith(prompt: PromptIdentity, held: PromptIdentity): boolean {
  const length = held.inputIds.length;
  if (prompt.namespace !== held.namespace || prompt.inputIds.length < length) return false;
  for (let i = 0; i < length; i++) if (prompt.inputIds[i] !== held.inputIds[i]) return false;
  const inside = prompt.images.filter((image) => image.start < length);
  return (
    inside.length === held.images.length &&
    inside.every((image, k) => image.key === held.images[k]!.key && image.start === held.images[k]!.start)
  );
}
