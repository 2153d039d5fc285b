export type LruOptions<V> = {
  /** Most bytes the entries may hold together. */
  maxBytes: number;
  /** Bytes an entry holds. */
  sizeOf: (value: V) => number;
  /** Called with each value that leaves (evicted, replaced or deleted): e.g. to free device memory. */
  onRemove?: (value: V) => void;
};

export type LruStats = { entries: number; bytes: number; hits: number; misses: number; evictions: number };

/**
 * A least-recently-used map bounded in bytes, not entries: encoder outputs and image embeddings
 * differ in size per model, and memory is what runs out. An entry larger than the whole budget
 * is not stored.
 */
export class ByteLru<K, V> {
  readonly #entries = new Map<K, { value: V; bytes: number }>();
  readonly #maxBytes: number;
  readonly #sizeOf: (value: V) => number;
  readonly #onRemove: ((value: V) => void) | undefined;
  #bytes = 0;
  #hits = 0;
  #misses = 0;
  #evictions = 0;

  constructor(options: LruOptions<V>) {
    if (!(options.maxBytes >= 0)) throw new RangeError(`maxBytes must be >= 0, got ${options.maxBytes}`);
    this.#maxBytes = options.maxBytes;
    this.#sizeOf = options.sizeOf;
    this.#onRemove = options.onRemove;
  }

  /** The value for `key`, now the most recently used; counts a hit or a miss. */
  get(key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** Whether `key` is held, without touching recency or the counters. */
  has(key: K): boolean {
    return this.#entries.has(key);
  }

  /** Stores `value`, evicting least-recently-used entries to stay within the budget (one over it is dropped at once). */
  set(key: K, value: V): void {
    const held = this.#entries.get(key);
    if (held?.value === value) {
      // The same value again: only its recency changes (removing it would free what stays in use).
      this.#entries.delete(key);
      this.#entries.set(key, held);
      return;
    }
    const bytes = this.#sizeOf(value);
    this.delete(key);
    if (bytes > this.#maxBytes) {
      this.#onRemove?.(value);
      return;
    }
    this.#entries.set(key, { value, bytes });
    this.#bytes += bytes;
    for (const [oldest, entry] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= entry.bytes;
      this.#evictions++;
      this.#onRemove?.(entry.value);
    }
  }

  delete(key: K): boolean {
    const entry = this.#entries.get(key);
    if (entry === undefined) return false;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
    this.#onRemove?.(entry.value);
    return true;
  }

  stats(): LruStats {
    return { entries: this.#entries.size, bytes: this.#bytes, hits: this.#hits, misses: this.#misses, evictions: this.#evictions };
  }
}
