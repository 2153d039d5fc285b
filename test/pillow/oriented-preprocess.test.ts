import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, describe, expect, test } from "vitest";
import { decodeImage, preprocess, preprocessImage, resizeBicubic } from "../../edge/image/index.ts";
import { nodeCodecWasm } from "../../processes/index.ts";
import { difference, generateWithPillow } from "./pillow.ts";

// Byte-for-byte parity with Pillow of decoded images that carry an EXIF orientation: preprocess and
// resizeBicubic read the stored pixels through the turn (never turned as a whole), which must give
// what Pillow gives after `ImageOps.exif_transpose`, for every orientation and every decoder.

const SCRIPT = fileURLToPath(new URL("./oriented_pipeline.py", import.meta.url));
const MODELS = [
  { imageSize: 384, imageMean: [0.5, 0.5, 0.5] },
  { imageSize: 1024, imageMean: [0.48145466, 0.4578275, 0.40821073] },
] as const;
/** oriented_pipeline.py's RESIZE. */
const RESIZE = [101, 67] as const;

interface Case {
  readonly name: string;
  readonly file: string;
  readonly width: number;
  readonly height: number;
  readonly pipeline: Readonly<Record<string, string>>;
  readonly resize: string;
}

const dir = mkdtempSync(join(tmpdir(), "pillow-oriented-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cases = generateWithPillow<Case>(SCRIPT, dir);
const wasm = nodeCodecWasm();
const read = (file: string) => new Uint8Array(readFileSync(join(dir, file)));
/** A fresh decode: its pixels not yet turned, as the chat route hands it to preprocess. */
const decode = (c: Case) => decodeImage(read(c.file), { wasm });

test("the generated set covers every orientation, both axis orders and every decoder", () => {
  const orientations = new Set(cases.map((c) => Number(c.name.at(-1))));
  expect([...orientations].sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  expect(new Set(cases.map((c) => c.name.split("-").at(-2)))).toEqual(new Set(["jpeg", "png", "cmyk", "webp"]));
});

describe.each(MODELS)("decodeImage then preprocess matches Pillow's exif_transpose then the pipeline, image_size $imageSize", (model) => {
  test.each(cases.map((c) => ({ ...c, label: c.name })))("$label", async (c) => {
    const image = await decode(c);
    expect([image.width, image.height]).toEqual([c.width, c.height]);
    const actual = preprocess(image, model);
    expect(difference(actual.data, read(c.pipeline[model.imageSize]!))).toBeNull();
  });
});

describe.each(MODELS)(
  "preprocessImage (JPEG rows streamed through the turn and the resize) matches the same pipeline, image_size $imageSize",
  (model) => {
    test.each(cases.map((c) => ({ ...c, label: c.name })))("$label", async (c) => {
      const actual = await preprocessImage(read(c.file), { wasm, ...model });
      expect(difference(actual.data, read(c.pipeline[model.imageSize]!))).toBeNull();
    });
  },
);

describe("decodeImage then resizeBicubic matches Pillow's exif_transpose then resize", () => {
  test.each(cases.map((c) => ({ ...c, label: c.name })))("$label", async (c) => {
    const actual = resizeBicubic(await decode(c), ...RESIZE);
    expect(difference(actual.data, read(c.resize))).toBeNull();
  });
});
