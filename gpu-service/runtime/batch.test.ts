import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { tinyModel } from "../../test/support/models.ts";
import { createLogger } from "../log.ts";
import { openModelDirectory } from "../model/index.ts";
import { DecodeBatch } from "./batch.ts";
import { type KvCache, VisionLanguageModel } from "./model.ts";

// The batch reshapes its cache through the model's kv_select and kv_join graphs (here on the CPU provider).
let model: VisionLanguageModel;
let shape: { layers: number; kvHeads: number; headDim: number };

beforeAll(async () => {
  const { dir } = await tinyModel("siglip");
  model = await VisionLanguageModel.load(
    await openModelDirectory(dir),
    "fp32",
    { providers: ["cpu"], cpuThreads: 1 },
    createLogger(() => {}),
  );
  const { numLayers, numKeyValueHeads, headDim } = model.manifest.llm;
  shape = { layers: numLayers, kvHeads: numKeyValueHeads, headDim };
}, 180_000);

/** A distinct, non-zero value for every element of every row's cache (padding stays 0). */
const valueOf = (row: number, layer: number, side: number, head: number, position: number, dim: number) =>
  1 + row * 10_000 + layer * 1000 + side * 100 + head * 10 + position * 2 + dim;

/** The rows' caches as they must lie, layer-major: real positions right-aligned in `width` columns, padding 0. */
function expectedCache(rows: { id: number; length: number }[], width: number): Float32Array[] {
  const { layers, kvHeads, headDim } = shape;
  return Array.from({ length: 2 * layers }, (_, t) => {
    const [layer, side] = [t >> 1, t & 1];
    const data = new Float32Array(rows.length * kvHeads * width * headDim);
    rows.forEach(({ id, length }, b) => {
      for (let head = 0; head < kvHeads; head++) {
        for (let position = 0; position < length; position++) {
          for (let dim = 0; dim < headDim; dim++) {
            const column = width - length + position;
            data[((b * kvHeads + head) * width + column) * headDim + dim] = valueOf(id, layer, side, head, position, dim);
          }
        }
      }
    });
    return data;
  });
}

/** One sequence's own cache (batch 1), as a prefill returns it. */
function prefillCache(id: number, length: number): KvCache {
  const dims = [1, shape.kvHeads, length, shape.headDim];
  return { batch: 1, length, tensors: expectedCache([{ id, length }], length).map((data) => new ort.Tensor("float32", data, dims)) };
}

const contents = (cache: KvCache) => ({ batch: cache.batch, length: cache.length, tensors: cache.tensors.map((t) => t.data) });

describe("DecodeBatch", () => {
  it("repacks the rows around a middle row that leaves, keeping their order, contents, lengths and padding", async () => {
    const batch = new DecodeBatch<string>(model);
    await batch.join("first", prefillCache(0, 2));
    await batch.join("middle", prefillCache(1, 3));
    await batch.join("last", prefillCache(2, 1));
    const joined = [
      { id: 0, length: 2 },
      { id: 1, length: 3 },
      { id: 2, length: 1 },
    ];
    expect(contents(batch.cache)).toEqual({ batch: 3, length: 3, tensors: expectedCache(joined, 3) });

    expect(await batch.remove((row) => row === "middle")).toEqual(["middle"]);

    expect(batch.rows).toEqual(["first", "last"]);
    expect(batch.lengths).toEqual([2, 1]);
    // The middle row was the longest: the padding only it needed is trimmed.
    const kept = [
      { id: 0, length: 2 },
      { id: 2, length: 1 },
    ];
    expect(contents(batch.cache)).toEqual({ batch: 2, length: 2, tensors: expectedCache(kept, 2) });
    // The decoder hides each row's padding columns.
    expect(batch.padding).toEqual([0, 1]);
  });

  it("takes a copy of a cache it does not adopt, so the caller's own stays whole (the prefix cache keeps it)", async () => {
    const batch = new DecodeBatch<string>(model);
    const first = prefillCache(0, 2);
    const second = prefillCache(1, 3);
    await batch.join("first", first, { adopt: false });
    expect(batch.cache.tensors[0]).not.toBe(first.tensors[0]);
    await batch.join("second", second, { adopt: false });
    await batch.remove(() => true);
    expect(contents(first)).toEqual(contents(prefillCache(0, 2)));
    expect(contents(second)).toEqual(contents(prefillCache(1, 3)));
  });

  it("gives its cache up when the last row leaves", async () => {
    const batch = new DecodeBatch<string>(model);
    await batch.join("only", prefillCache(0, 2));
    expect(await batch.remove(() => true)).toEqual(["only"]);
    expect(batch.size).toBe(0);
    expect(() => batch.cache).toThrow(/empty/);
  });
});
