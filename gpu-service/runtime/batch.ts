import { type ActivationType, allocate } from "./activations.ts";
import type { KvCache } from "./model.ts";

export type CacheShape = { layers: number; kvHeads: number; headDim: number; act: ActivationType };

/**
 * The key/value caches of every sequence decoding together, as one batch [B, kvHeads, L, headDim]:
 * each row's real positions are right-aligned and the columns before them are padding that the
 * attention mask hides. A decode step appends one column to every row, so rows stay aligned with no
 * copying; only joining and leaving repack the batch.
 */
export class DecodeBatch<Row> {
  readonly #shape: CacheShape;
  #rows: { row: Row; length: number }[] = [];
  #cache: KvCache;

  constructor(shape: CacheShape) {
    this.#shape = shape;
    this.#cache = this.#empty(0, 0);
  }

  get size(): number {
    return this.#rows.length;
  }

  get rows(): readonly Row[] {
    return this.#rows.map((entry) => entry.row);
  }

  /** The batch cache to feed as past_key_values. */
  get cache(): KvCache {
    return this.#cache;
  }

  /** Real positions of each row: the next token's position id. */
  get lengths(): number[] {
    return this.#rows.map((entry) => entry.length);
  }

  /** Attention mask [B, L + 1] for the next step: padding 0, real positions and the new token 1. */
  nextAttentionMask(): Int32Array {
    const width = this.#cache.length + 1;
    const mask = new Int32Array(this.size * width);
    for (const [b, entry] of this.#rows.entries()) mask.fill(1, b * width + (width - 1 - entry.length), (b + 1) * width);
    return mask;
  }

  /** Takes the step's present cache (one column longer) as the batch cache. */
  advance(present: KvCache): void {
    if (present.batch !== this.size || present.length !== this.#cache.length + 1) {
      throw new Error(
        `present cache [${present.batch}, ${present.length}] does not follow the batch [${this.size}, ${this.#cache.length}]`,
      );
    }
    this.#cache = present;
    for (const entry of this.#rows) entry.length++;
  }

  /** Adds sequences with their own caches (batch 1 each, e.g. from a prefill). */
  join(joining: { row: Row; cache: KvCache }[]): void {
    const sources = [
      ...this.#rows.map((entry, b) => ({ entry, cache: this.#cache, index: b })),
      ...joining.map(({ row, cache }) => ({ entry: { row, length: cache.length }, cache, index: 0 })),
    ];
    this.#repack(sources);
  }

  /** Removes the rows for which `leaves` is true, trimming padding no row needs any more. */
  remove(leaves: (row: Row) => boolean): Row[] {
    const removed = this.#rows.filter((entry) => leaves(entry.row)).map((entry) => entry.row);
    if (removed.length > 0) {
      this.#repack(this.#rows.flatMap((entry, b) => (leaves(entry.row) ? [] : [{ entry, cache: this.#cache, index: b }])));
    }
    return removed;
  }

  #repack(sources: { entry: { row: Row; length: number }; cache: KvCache; index: number }[]): void {
    const { layers, kvHeads, headDim } = this.#shape;
    const width = Math.max(0, ...sources.map((source) => source.entry.length));
    const next = this.#empty(sources.length, width);
    for (let layer = 0; layer < layers; layer++) {
      for (const side of ["keys", "values"] as const) {
        const target = next[side][layer]!;
        sources.forEach(({ entry, cache, index }, b) => {
          const data = cache[side][layer]!;
          for (let head = 0; head < kvHeads; head++) {
            const from = ((index * kvHeads + head) * cache.length + (cache.length - entry.length)) * headDim;
            const to = ((b * kvHeads + head) * width + (width - entry.length)) * headDim;
            target.set(data.subarray(from, from + entry.length * headDim) as never, to);
          }
        });
      }
    }
    this.#rows = sources.map((source) => source.entry);
    this.#cache = next;
  }

  #empty(batch: number, length: number): KvCache {
    const { layers, kvHeads, headDim, act } = this.#shape;
    const size = batch * kvHeads * length * headDim;
    return {
      batch,
      length,
      keys: Array.from({ length: layers }, () => allocate(act, size)),
      values: Array.from({ length: layers }, () => allocate(act, size)),
    };
  }
}
