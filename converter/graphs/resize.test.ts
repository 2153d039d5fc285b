import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { GraphBuilder, writeModel } from "../onnx/index.ts";
import { antialiasBilinearMatrix, bilinearMatrix } from "./resize.ts";

const row = (m: Float32Array, inSize: number, i: number) => [...m.subarray(i * inSize, (i + 1) * inSize)];

describe("antialiasBilinearMatrix", () => {
  it("matches hand-computed torch weights for 1024 -> 384 (first output)", () => {
    // scale 8/3, center 4/3, support 8/3: inputs 0..3 with triangle weights 0.6875, 0.9375, 0.5625, 0.1875 / 2.375.
    const m = antialiasBilinearMatrix(1024, 384);
    const first = row(m, 1024, 0);
    expect(first.slice(0, 4).map((w) => Number(w.toFixed(6)))).toEqual([0.289474, 0.394737, 0.236842, 0.078947]);
    expect(first.slice(4).every((w) => w === 0)).toBe(true);
    for (let i = 0; i < 384; i++) expect(row(m, 1024, i).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it("is the identity when the size does not change", () => {
    const m = antialiasBilinearMatrix(5, 5);
    for (let i = 0; i < 5; i++) expect(row(m, 5, i)).toEqual([0, 1, 2, 3, 4].map((j) => (j === i ? 1 : 0)));
  });
});

describe("bilinearMatrix", () => {
  it("matches hand-computed align_corners=False weights for 64 -> 96", () => {
    const m = bilinearMatrix(64, 96);
    // out 0: src = max(2/3 * 0.5 - 0.5, 0) = 0 -> all weight on input 0.
    expect(row(m, 64, 0)[0]).toBe(1);
    // out 1: src = 2/3 * 1.5 - 0.5 = 0.5 -> half and half on inputs 0 and 1.
    expect(
      row(m, 64, 1)
        .slice(0, 2)
        .map((w) => Number(w.toFixed(6))),
    ).toEqual([0.5, 0.5]);
    // out 2: src = 2/3 * 2.5 - 0.5 = 7/6 -> inputs 1 and 2 with 5/6 and 1/6.
    expect(
      row(m, 64, 2)
        .slice(1, 3)
        .map((w) => Number(w.toFixed(5))),
    ).toEqual([0.83333, 0.16667]);
    // last output clamps to the last input.
    expect(row(m, 64, 95)[63]).toBeCloseTo(1, 6);
  });
});

/** ONNX Resize (ORT's own implementation) vs the matrices, on a random [1,1,in,in] image. */
async function compareWithResize(inSize: number, outSize: number, antialias: boolean): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), "resize-"));
  try {
    const g = new GraphBuilder("resize");
    const x = g.input("x", "float32", [1, 1, inSize, inSize]);
    const sizes = g.int64s([1, 1, outSize, outSize]);
    const attrs = {
      mode: "linear",
      coordinate_transformation_mode: "half_pixel",
      ...(antialias ? { antialias: 1, exclude_outside: 1 } : {}),
    };
    g.output(g.op("Resize", [x, "", "", sizes], attrs), "y", "float32", [1, 1, outSize, outSize]);
    const path = join(dir, "resize.onnx");
    await writeModel(g, path);
    const image = Float32Array.from({ length: inSize * inSize }, (_, i) => Math.sin(i * 12.9898) * 0.5 + 0.5);
    const session = await ort.InferenceSession.create(path);
    const { y } = await session.run({ x: new ort.Tensor("float32", image, [1, 1, inSize, inSize]) });
    const expected = y!.data as Float32Array;
    const m = antialias ? antialiasBilinearMatrix(inSize, outSize) : bilinearMatrix(inSize, outSize);
    let worst = 0;
    for (let r = 0; r < outSize; r++) {
      for (let c = 0; c < outSize; c++) {
        let sum = 0;
        for (let i = 0; i < inSize; i++)
          for (let j = 0; j < inSize; j++) sum += m[r * inSize + i]! * image[i * inSize + j]! * m[c * inSize + j]!;
        worst = Math.max(worst, Math.abs(sum - expected[r * outSize + c]!));
      }
    }
    return worst;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("resize matrices against ONNX Resize", () => {
  it("antialiased bilinear downsample 64 -> 24 (same scale as 1024 -> 384)", async () => {
    expect(await compareWithResize(64, 24, true)).toBeLessThan(1e-5);
  });
  it("bilinear upsample 16 -> 24 (same scale as 64 -> 96)", async () => {
    expect(await compareWithResize(16, 24, false)).toBeLessThan(1e-5);
  });
});
