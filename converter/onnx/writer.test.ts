import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GraphBuilder, type TensorSource } from "./graph.ts";
import { writeModel } from "./writer.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "onnx-writer-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A source that hands out its bytes in uneven chunks, as a checkpoint reader does. */
function chunked(values: Float32Array): TensorSource {
  const bytes = new Uint8Array(values.buffer);
  return {
    byteLength: bytes.byteLength,
    async writeTo(sink) {
      for (let i = 0; i < bytes.length; i += 7) await sink(bytes.subarray(i, i + 7));
    },
  };
}

// y = x W^T + b with W = [[1,2,3],[4,5,6]], b = [0.5, -1]; and z = y * 2 via a second weight.
function graph(): GraphBuilder {
  const g = new GraphBuilder("gemm");
  const x = g.input("x", "float32", ["n", 3]);
  const w = g.weight("w", "float32", [2, 3], chunked(Float32Array.of(1, 2, 3, 4, 5, 6)));
  const b = g.weight("b", "float32", [2], chunked(Float32Array.of(0.5, -1)));
  const two = g.weight("two", "float32", [], chunked(Float32Array.of(2)));
  g.output(g.op("Mul", [g.op("Gemm", [x, w, b], { transB: 1 }), two]), "z", "float32", ["n", 2]);
  return g;
}

async function run(path: string): Promise<number[]> {
  const session = await ort.InferenceSession.create(path);
  const out = await session.run({ x: new ort.Tensor("float32", Float32Array.of(1, 0, -1, 2, 2, 2), [2, 3]) });
  return [...(out.z!.data as Float32Array)];
}

// Hand computed: row (1,0,-1) -> (1-3+0.5, 4-6-1) * 2 = (-3, -6); row (2,2,2) -> (12.5, 29) * 2 = (25, 58).
const expected = [-3, -6, 25, 58];

describe("writeModel", () => {
  it("writes weights inline when the model is small", async () => {
    const path = join(dir, "inline.onnx");
    const written = await writeModel(graph(), path);
    expect(written.files).toEqual([path]);
    expect(written.bytes).toBe((await stat(path)).size);
    expect(await run(path)).toEqual(expected);
  });

  it("moves weights to <file>_data above the threshold, aligned, and ORT loads them", async () => {
    const path = join(dir, "external.onnx");
    const written = await writeModel(graph(), path, { externalDataThreshold: 16, externalAlignment: 64 });
    expect(written.files).toEqual([path, `${path}_data`]);
    // Three tensors at offsets 0, 64, 128; the last holds 4 bytes.
    expect((await stat(`${path}_data`)).size).toBe(132);
    expect(await run(path)).toEqual(expected);
    expect((await readdir(dir)).sort()).toContain("external.onnx_data");
  });

  it("points weights another graph stored (same name, type and dims) into that graph's data file", async () => {
    const first = join(dir, "first.onnx");
    const stored = await writeModel(graph(), first, { externalDataThreshold: 16, externalAlignment: 64 });
    // The same graph, but "two" is a [1] tensor here: its dims differ, so it is written again.
    const g = new GraphBuilder("gemm-shared");
    const x = g.input("x", "float32", ["n", 3]);
    const w = g.weight("w", "float32", [2, 3], chunked(Float32Array.of(1, 2, 3, 4, 5, 6)));
    const b = g.weight("b", "float32", [2], chunked(Float32Array.of(0.5, -1)));
    const two = g.weight("two", "float32", [1], chunked(Float32Array.of(2)));
    g.output(g.op("Mul", [g.op("Gemm", [x, w, b], { transB: 1 }), two]), "z", "float32", ["n", 2]);
    const second = join(dir, "second.onnx");
    const written = await writeModel(g, second, { externalDataThreshold: 16, sharedWeights: stored.externalWeights });
    expect(written.files).toEqual([second, `${second}_data`]);
    expect((await stat(`${second}_data`)).size).toBe(4);
    expect(await run(second)).toEqual(expected);
  });

  it("writes nothing of its own when every weight is shared", async () => {
    const stored = await writeModel(graph(), join(dir, "owner.onnx"), { externalDataThreshold: 16 });
    const path = join(dir, "borrower.onnx");
    const written = await writeModel(graph(), path, { externalDataThreshold: 16, sharedWeights: stored.externalWeights });
    expect(written.files).toEqual([path]);
    expect(written.externalWeights).toBeUndefined();
    expect(await run(path)).toEqual(expected);
  });

  it("refuses a source that produces fewer bytes than it declared", async () => {
    const g = new GraphBuilder("short");
    const x = g.input("x", "float32", [1]);
    const w = g.weight("w", "float32", [1], { byteLength: 4, writeTo: async (sink) => sink(new Uint8Array(2)) });
    g.output(g.op("Add", [x, w]), "y", "float32", [1]);
    await expect(writeModel(g, join(dir, "short.onnx"))).rejects.toThrow(/weight w: source produced 2 bytes, declared 4/);
  });
});
