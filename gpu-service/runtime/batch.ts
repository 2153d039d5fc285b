import { disposeCache, type KvCache } from "./model.ts";

/** The cache reshaping a batch needs, run where the cache lives (the model's kv_select and kv_join graphs). */
export interface CacheOps {
  selectCache(cache: KvCache, rows: readonly number[], start: number): Promise<KvCache>;
  joinCaches(batch: KvCache, joining: KvCache): Promise<KvCache>;
}

/**
 * The key/value caches of every sequence decoding together, as one batch [B, kvHeads, L, headDim]:
 * each row's real positions are right-aligned and the columns before them are padding that the
 * decoder hides (`padding`). A decode step appends one column to every row, so rows stay aligned with no
 * copying; only joining and leaving reshape the batch, through the model's graphs, so a cache on a device
 * never comes back to the host.
 */
export class DecodeBatch<Row> {
  readonly #ops: CacheOps;
  #rows: { row: Row; length: number }[] = [];
  #cache: KvCache | undefined;

  constructor(ops: CacheOps) {
    this.#ops = ops;
  }

  get size(): number {
    return this.#rows.length;
  }

  get rows(): readonly Row[] {
    return this.#rows.map((entry) => entry.row);
  }

  /** The batch cache to feed as past_key_values (only while the batch has rows). */
  get cache(): KvCache {
    if (!this.#cache) throw new Error("the batch is empty");
    return this.#cache;
  }

  /** Real positions of each row: the next token's position id. */
  get lengths(): number[] {
    return this.#rows.map((entry) => entry.length);
  }

  /** Hidden key columns at the start of each row: its left padding. */
  get padding(): number[] {
    const width = this.#cache?.length ?? 0;
    return this.#rows.map((entry) => width - entry.length);
  }

  /** Takes the step's present cache (one column longer) as the batch cache; the past one is freed. */
  advance(present: KvCache): void {
    const past = this.cache;
    if (present.batch !== this.size || present.length !== past.length + 1) {
      throw new Error(`present cache [${present.batch}, ${present.length}] does not follow the batch [${this.size}, ${past.length}]`);
    }
    this.#cache = present;
    disposeCache(past);
    for (const entry of this.#rows) entry.length++;
  }

  /**
   * Adds a sequence with its own cache (batch 1, e.g. from a prefill). With `adopt` (the default) the batch owns
   * that cache from then on; without, the batch takes a copy and the caller keeps it. When the join fails the
   * batch is unchanged and the caller still owns `cache`.
   */
  async join(row: Row, cache: KvCache, { adopt = true }: { adopt?: boolean } = {}): Promise<void> {
    const batch = this.#cache;
    const joined = batch ? await this.#ops.joinCaches(batch, cache) : adopt ? cache : await this.#ops.selectCache(cache, [0], 0);
    if (batch) disposeCache(batch);
    if (batch && adopt) disposeCache(cache);
    this.#cache = joined;
    this.#rows.push({ row, length: cache.length });
  }

  /**
   * Removes the rows for which `leaves` is true, trimming padding no row needs any more. When the reshaping
   * fails, every row is removed (a batch without its cache cannot go on) and the error is thrown.
   */
  async remove(leaves: (row: Row) => boolean): Promise<Row[]> {
    const removed = this.#rows.filter((entry) => leaves(entry.row)).map((entry) => entry.row);
    if (removed.length === 0) return removed;
    const kept = this.#rows.flatMap((entry, index) => (leaves(entry.row) ? [] : [{ entry, index }]));
    const cache = this.cache;
    if (kept.length === 0) {
      this.#clear();
      return removed;
    }
    const width = Math.max(...kept.map(({ entry }) => entry.length));
    try {
      this.#cache = await this.#ops.selectCache(
        cache,
        kept.map(({ index }) => index),
        cache.length - width,
      );
    } catch (error) {
      this.#clear();
      throw error;
    }
    disposeCache(cache);
    this.#rows = kept.map(({ entry }) => entry);
    return removed;
  }

  #clear(): void {
    if (this.#cache) disposeCache(this.#cache);
    this.#cache = undefined;
    this.#rows = [];
  }
}
