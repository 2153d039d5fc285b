import { describe, expect, it } from "vitest";
import { type CacheShape, DecodeBatch } from "./batch.ts";
import type { KvCache } from "./model.ts";

const SHAPE: CacheShape = { layers: 2, kvHeads: 2, headDim: 2, act: "float32" };

/** A distinct, non-zero value for every element of every row's cache (padding stays 0). */
const valueOf = (row: number, layer: number, side: number, head: number, position: number, dim: number) =>
  1 + row * 10_000 + layer * 1000 + side * 100 + head * 10 + position * 2 + dim;

/** The batch rows' caches as they must lie: real positions right-aligned in `width` columns, padding 0. */
function expectedCache(rows: { id: number; length: number }[], width: number): KvCache {
  const { layers, kvHeads, headDim } = SHAPE;
  const side = (s: number) =>
    Array.from({ length: layers }, (_, layer) => {
      const data = new Float32Array(rows.length * kvHeads * width * headDim);
      rows.forEach(({ id, length }, b) => {
        for (let head = 0; head < kvHeads; head++) {
          for (let position = 0; position < length; position++) {
            for (let dim = 0; dim < headDim; dim++) {
              const column = width - length + position;
              data[((b * kvHeads + head) * width + column) * headDim + dim] = valueOf(id, layer, s, head, position, dim);
            }
          }
        }
      });
      return data;
    });
  return { batch: rows.length, length: width, keys: side(0), values: side(1) };
}

/** One sequence's own cache (batch 1), as a prefill returns it. */
const prefillCache = (id: number, length: number): KvCache => expectedCache([{ id, length }], length);

describe("DecodeBatch", () => {
  it("repacks the rows around a middle row that leaves, keeping their order, contents, lengths and masks", () => {
    const batch = new DecodeBatch<string>(SHAPE);
    batch.join([
      { row: "first", cache: prefillCache(0, 2) },
      { row: "middle", cache: prefillCache(1, 3) },
      { row: "last", cache: prefillCache(2, 1) },
    ]);
    expect(batch.cache).toEqual(
      expectedCache(
        [
          { id: 0, length: 2 },
          { id: 1, length: 3 },
          { id: 2, length: 1 },
        ],
        3,
      ),
    );

    expect(batch.remove((row) => row === "middle")).toEqual(["middle"]);

    expect(batch.rows).toEqual(["first", "last"]);
    expect(batch.lengths).toEqual([2, 1]);
    // The middle row was the longest: the padding only it needed is trimmed.
    expect(batch.cache).toEqual(
      expectedCache(
        [
          { id: 0, length: 2 },
          { id: 2, length: 1 },
        ],
        2,
      ),
    );
    // Next step: each row's real positions and the new token are 1, padding 0.
    expect(Array.from(batch.nextAttentionMask())).toEqual([1, 1, 1, 0, 1, 1]);
  });
});
