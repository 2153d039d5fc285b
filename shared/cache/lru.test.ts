import { describe, expect, it } from "vitest";
import { ByteLru } from "./index.ts";

const bytesOf = (value: Uint8Array) => value.byteLength;

describe("ByteLru", () => {
  it("evicts the least recently used entries once the byte budget is exceeded", () => {
    const cache = new ByteLru<string, Uint8Array>({ maxBytes: 10, sizeOf: bytesOf });
    cache.set("a", new Uint8Array(4));
    cache.set("b", new Uint8Array(4));
    expect(cache.get("a")?.byteLength).toBe(4); // a is now the most recent
    cache.set("c", new Uint8Array(4)); // 12 bytes: b, the least recent, goes
    expect(cache.has("b")).toBe(false);
    expect(cache.has("a")).toBe(true);
    expect(cache.has("c")).toBe(true);
    expect(cache.stats()).toEqual({ entries: 2, bytes: 8, hits: 1, misses: 0, evictions: 1 });
  });

  it("counts misses, replaces an existing key without double-counting its bytes", () => {
    const cache = new ByteLru<string, Uint8Array>({ maxBytes: 10, sizeOf: bytesOf });
    expect(cache.get("x")).toBeUndefined();
    cache.set("x", new Uint8Array(6));
    cache.set("x", new Uint8Array(3));
    expect(cache.stats()).toMatchObject({ entries: 1, bytes: 3, misses: 1 });
  });

  it("never stores an entry larger than the whole budget, and keeps the others", () => {
    const cache = new ByteLru<string, Uint8Array>({ maxBytes: 10, sizeOf: bytesOf });
    cache.set("small", new Uint8Array(5));
    cache.set("huge", new Uint8Array(11));
    expect(cache.has("huge")).toBe(false);
    expect(cache.has("small")).toBe(true);
  });

  it("hands every value that leaves to onRemove once: evicted, replaced, deleted or too large, never one still held", () => {
    const removed: string[] = [];
    const cache = new ByteLru<string, string>({ maxBytes: 4, sizeOf: (value) => value.length, onRemove: (value) => removed.push(value) });
    cache.set("a", "aa");
    cache.set("a", "aa"); // the same value: kept
    cache.set("b", "bb");
    cache.set("c", "cc"); // evicts a
    cache.set("b", "BB"); // replaces bb
    cache.delete("c");
    cache.set("d", "ddddd"); // over the budget: never stored
    expect(removed).toEqual(["aa", "bb", "cc", "ddddd"]);
    expect(cache.stats()).toMatchObject({ entries: 1, bytes: 2 });
  });

  it("rejects a negative budget", () => {
    expect(() => new ByteLru({ maxBytes: -1, sizeOf: bytesOf })).toThrow(RangeError);
  });
});
