import type * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import type { KvCache } from "./model.ts";
import { PrefixCache, type PromptIdentity } from "./prefix-cache.ts";

/** A batch-1 cache of `length` positions whose one tensor counts its disposals (a device tensor). */
function deviceCache(length: number): KvCache & { disposed: () => number } {
  let disposed = 0;
  const tensor = { location: "gpu-buffer", dispose: () => disposed++ } as unknown as ort.Tensor;
  return { batch: 1, length, tensors: [tensor], disposed: () => disposed };
}

const prompt = (inputIds: number[], namespace = "tenant-a", images: PromptIdentity["images"] = []): PromptIdentity => ({
  namespace,
  inputIds,
  images,
});
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe("PrefixCache", () => {
  it("finds the longest held prompt a new prompt starts with, and counts the tokens it saves", () => {
    const cache = new PrefixCache(1_000_000, 1);
    const short = deviceCache(10);
    const long = deviceCache(20);
    cache.insert(prompt(range(0, 10)), short);
    cache.insert(prompt(range(0, 20)), long);
    expect(cache.lookup(prompt(range(0, 30)))).toEqual({ length: 20, cache: long });
    expect(cache.lookup(prompt([...range(0, 15), 99, 98]))).toEqual({ length: 10, cache: short });
    expect(cache.lookup(prompt([1, ...range(1, 30)].map((id, i) => (i === 0 ? 7 : id))))).toBeUndefined();
    expect(cache.stats()).toMatchObject({ entries: 2, hits: 2, misses: 1, cachedTokens: 30 });
  });

  it("never serves a whole prompt: its last token must run for the first token's logits", () => {
    const cache = new PrefixCache(1_000_000, 1);
    cache.insert(prompt(range(0, 10)), deviceCache(10));
    expect(cache.lookup(prompt(range(0, 10)))).toBeUndefined();
  });

  it("keeps tenants apart, and an image run matches only the same image at the same place", () => {
    const cache = new PrefixCache(1_000_000, 1);
    const ids = [1, ...new Array<number>(8).fill(5), 2, 3];
    cache.insert(prompt(ids, "tenant-a", [{ key: "photo-1", start: 1 }]), deviceCache(ids.length));
    const longer = [...ids, 4, 4];
    expect(cache.lookup(prompt(longer, "tenant-a", [{ key: "photo-1", start: 1 }]))?.length).toBe(ids.length);
    expect(cache.lookup(prompt(longer, "tenant-b", [{ key: "photo-1", start: 1 }]))).toBeUndefined();
    expect(cache.lookup(prompt(longer, "tenant-a", [{ key: "photo-2", start: 1 }]))).toBeUndefined();
    expect(cache.lookup(prompt(longer, "tenant-a", []))).toBeUndefined();
  });

  it("stays within its bytes, least recently used out first, and frees each cache that leaves", () => {
    const cache = new PrefixCache(25, 1);
    const [a, b, c] = [deviceCache(10), deviceCache(10), deviceCache(10)];
    cache.insert(prompt(range(0, 10)), a);
    cache.insert(prompt(range(100, 110)), b);
    expect(cache.lookup(prompt(range(0, 12)))?.cache).toBe(a); // a is now the most recent
    cache.insert(prompt(range(200, 210)), c);
    expect([a.disposed(), b.disposed(), c.disposed()]).toEqual([0, 1, 0]);
    expect(cache.lookup(prompt(range(100, 112)))).toBeUndefined();
    const huge = deviceCache(30);
    cache.insert(prompt(range(300, 330)), huge);
    expect(huge.disposed()).toBe(1);
    expect(cache.stats()).toMatchObject({ entries: 2, bytes: 20 });
  });

  it("refuses a cache that is not one row of the whole prompt, and frees it", () => {
    const cache = new PrefixCache(1_000, 1);
    const wrong = deviceCache(9);
    expect(() => cache.insert(prompt(range(0, 10)), wrong)).toThrow(/one row of the whole prompt/);
    expect(wrong.disposed()).toBe(1);
  });
});
