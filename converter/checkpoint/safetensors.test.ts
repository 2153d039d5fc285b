import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Checkpoint } from "./checkpoint.ts";
import { readSafetensorsHeader } from "./safetensors.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "safetensors-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A safetensors file built by hand: header JSON text, then the data bytes. */
async function file(name: string, header: unknown, data: Uint8Array, declaredLength?: bigint): Promise<string> {
  const json = Buffer.from(typeof header === "string" ? header : JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(declaredLength ?? BigInt(json.length));
  const path = join(dir, name);
  await writeFile(path, Buffer.concat([prefix, json, data]));
  return path;
}

const f32 = (...values: number[]) => new Uint8Array(Float32Array.from(values).buffer);

describe("readSafetensorsHeader", () => {
  it("reads names, dtypes, shapes and absolute data offsets", async () => {
    const header = {
      __metadata__: { format: "pt" },
      b: { dtype: "F32", shape: [2], data_offsets: [8, 16] },
      a: { dtype: "F16", shape: [2, 2], data_offsets: [0, 8] },
    };
    const path = await file("ok.safetensors", header, new Uint8Array(16));
    const { tensors, metadata } = await readSafetensorsHeader(path);
    const length = JSON.stringify(header).length;
    expect(metadata).toEqual({ format: "pt" });
    expect(tensors.find((t) => t.name === "a")).toMatchObject({ dtype: "F16", shape: [2, 2], begin: 8 + length, byteLength: 8 });
    expect(tensors.find((t) => t.name === "b")).toMatchObject({ begin: 8 + length + 8, byteLength: 8 });
  });

  it.each([
    [
      "a header length beyond the file",
      { a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } },
      4,
      10_000n,
      /truncated or corrupt safetensors header/,
    ],
    ["invalid JSON", "{not json", 0, undefined, /invalid JSON/],
    ["an unknown dtype", { a: { dtype: "Q4", shape: [1], data_offsets: [0, 1] } }, 1, undefined, /tensor a: unknown dtype "Q4"/],
    [
      "a size that does not match the shape",
      { a: { dtype: "F32", shape: [3], data_offsets: [0, 8] } },
      8,
      undefined,
      /tensor a: 8 data bytes do not match F32\[3\] \(12 bytes\)/,
    ],
    [
      "data beyond the end of the file",
      { a: { dtype: "F32", shape: [4], data_offsets: [0, 16] } },
      8,
      undefined,
      /tensor a: data ends at byte 16 beyond the file's 8 data bytes/,
    ],
    [
      "overlapping tensors",
      { a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [1], data_offsets: [4, 8] } },
      8,
      undefined,
      /overlaps/,
    ],
    [
      "a hole between tensors",
      { a: { dtype: "F32", shape: [1], data_offsets: [0, 4] }, b: { dtype: "F32", shape: [1], data_offsets: [8, 12] } },
      12,
      undefined,
      /tensor b leaves a hole/,
    ],
    ["trailing bytes", { a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, 6, undefined, /2 trailing bytes/],
  ])("rejects %s", async (_, header, dataBytes, declared, message) => {
    const path = await file(`bad-${Math.random()}.safetensors`, header, new Uint8Array(dataBytes), declared);
    await expect(readSafetensorsHeader(path)).rejects.toThrow(message);
  });

  it("rejects a file too short to hold the header length", async () => {
    const path = join(dir, "tiny.safetensors");
    await writeFile(path, new Uint8Array(5));
    await expect(readSafetensorsHeader(path)).rejects.toThrow(/truncated safetensors file \(5 bytes/);
  });
});

describe("Checkpoint", () => {
  async function collect(checkpoint: Checkpoint, name: string, target: "float32" | "float16"): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    await checkpoint.source(name, target).writeTo(async (c) => void chunks.push(c.slice()));
    return new Uint8Array(Buffer.concat(chunks)); // a copy with its own ArrayBuffer
  }

  it("streams tensors converted to the target dtype", async () => {
    const sub = await mkdtemp(join(dir, "single-"));
    const bf16 = Uint16Array.of(0x3f80, 0xc040); // 1, -3
    const f16 = Uint16Array.of(0x3c00, 0x3800); // 1, 0.5
    const header = {
      w32: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
      wbf: { dtype: "BF16", shape: [2], data_offsets: [8, 12] },
      w16: { dtype: "F16", shape: [2], data_offsets: [12, 16] },
      ids: { dtype: "I64", shape: [1], data_offsets: [16, 24] },
    };
    const data = Buffer.concat([f32(1.5, -0.25), new Uint8Array(bf16.buffer), new Uint8Array(f16.buffer), new Uint8Array(8)]);
    const json = Buffer.from(JSON.stringify(header));
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(json.length));
    await writeFile(join(sub, "model.safetensors"), Buffer.concat([prefix, json, data]));
    const checkpoint = await Checkpoint.open(sub);
    try {
      expect(new Uint16Array((await collect(checkpoint, "w32", "float16")).buffer)).toEqual(Uint16Array.of(0x3e00, 0xb400));
      expect(new Float32Array((await collect(checkpoint, "wbf", "float32")).buffer)).toEqual(Float32Array.of(1, -3));
      expect(new Float32Array((await collect(checkpoint, "w16", "float32")).buffer)).toEqual(Float32Array.of(1, 0.5));
      expect(new Uint16Array((await collect(checkpoint, "wbf", "float16")).buffer)).toEqual(Uint16Array.of(0x3c00, 0xc200));
      expect(() => checkpoint.source("ids", "float32")).toThrow(/tensor ids: dtype I64 is not a float type/);
      expect(() => checkpoint.entry("nope")).toThrow(/missing tensor nope/);
    } finally {
      await checkpoint.close();
    }
  });

  it("checks the shard index against the shards", async () => {
    const sub = await mkdtemp(join(dir, "sharded-"));
    const shard = async (name: string, tensor: string) => {
      const json = Buffer.from(JSON.stringify({ [tensor]: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }));
      const prefix = Buffer.alloc(8);
      prefix.writeBigUInt64LE(BigInt(json.length));
      await writeFile(join(sub, name), Buffer.concat([prefix, json, f32(1)]));
    };
    await shard("model-00001-of-00002.safetensors", "a");
    await shard("model-00002-of-00002.safetensors", "b");
    const index = (map: Record<string, string>) =>
      writeFile(join(sub, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: map }));
    await index({ a: "model-00001-of-00002.safetensors", b: "model-00002-of-00002.safetensors" });
    const checkpoint = await Checkpoint.open(sub);
    expect([...checkpoint.tensors.keys()].sort()).toEqual(["a", "b"]);
    await checkpoint.close();
    await index({ a: "model-00002-of-00002.safetensors", b: "model-00002-of-00002.safetensors" });
    await expect(Checkpoint.open(sub)).rejects.toThrow(
      /tensor a: listed in model.safetensors.index.json for model-00002-of-00002.safetensors but absent from that file/,
    );
    await index({ a: "model-00001-of-00002.safetensors", b: "model-00002-of-00002.safetensors", c: "model-00003-of-00003.safetensors" });
    await expect(Checkpoint.open(sub)).rejects.toThrow(/shard model-00003-of-00003.safetensors is missing/);
  });
});
