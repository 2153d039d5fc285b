import { ByteLru } from "../../shared/cache/index.ts";
import { locationCache } from "../location-cache.ts";

/** An OpenAI chat message, as the completion pipeline takes it. */
export type ChatMessageInput = {
  role: "system" | "developer" | "user" | "assistant";
  content: string | ({ type: "text"; text: string } | { type: "image_url"; image_url: { url: string } })[];
};

/** A stored response: its whole conversation (input and earlier turns) and its answer, which later requests resume. */
export type StoredResponse = { id: string; messages: ChatMessageInput[]; output: ChatMessageInput; savedAt: number };

const CACHE_ORIGIN = "https://responses.store";

export type ResponseStoreOptions = { maxBytes: number; ttlSeconds: number; now?: () => number };

/**
 * Responses kept for `previous_response_id` and `item_reference`: an isolate-local LRU bounded in bytes, then the
 * Cache API of the location, both for at most `ttlSeconds`. Each tenant (a digest of its API key and the salt)
 * sees only its own. Best effort, like every cache here: a response the store lost is reported as not found.
 */
export class ResponseStore {
  readonly #memory: ByteLru<string, StoredResponse>;
  readonly #ttlSeconds: number;
  readonly #now: () => number;

  constructor(options: ResponseStoreOptions) {
    this.#memory = new ByteLru({ maxBytes: options.maxBytes, sizeOf: (stored) => JSON.stringify(stored).length * 2 });
    this.#ttlSeconds = options.ttlSeconds;
    this.#now = options.now ?? Date.now;
  }

  async save(tenant: string, response: Omit<StoredResponse, "savedAt">): Promise<void> {
    const stored = { ...response, savedAt: this.#now() };
    this.#memory.set(`${tenant}/${stored.id}`, stored);
    const body = new Response(JSON.stringify(stored), {
      headers: { "cache-control": `max-age=${this.#ttlSeconds}`, "content-type": "application/json" },
    });
    await locationCache()
      ?.put(`${CACHE_ORIGIN}/${tenant}/${stored.id}`, body)
      .catch(() => undefined);
  }

  async load(tenant: string, id: string): Promise<StoredResponse | undefined> {
    const key = `${tenant}/${id}`;
    const stored = this.#memory.get(key) ?? (await this.#fromCacheApi(key));
    if (!stored || this.#now() - stored.savedAt > this.#ttlSeconds * 1000) return undefined;
    return stored;
  }

  async #fromCacheApi(key: string): Promise<StoredResponse | undefined> {
    const response = await locationCache()
      ?.match(`${CACHE_ORIGIN}/${key}`)
      .catch(() => undefined);
    return response ? ((await response.json().catch(() => undefined)) as StoredResponse | undefined) : undefined;
  }
}
