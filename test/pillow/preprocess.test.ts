import { beforeAll, describe, expect, test } from "vitest";

import { preprocess, type RgbImage, resizeBicubic } from "../../edge/image/index.ts";
import { difference, type PillowRequest, type PillowResult, runPillow } from "./pillow.ts";
import { type Pattern, syntheticImage } from "./synthetic-images.ts";

// Byte-for-byte parity of edge/image with Debian's Pillow running the DeepSeek-VL pipeline.

interface ImageCase {
  readonly pattern: Pattern;
  readonly width: number;
  readonly height: number;
}

const PIPELINE_IMAGES: readonly ImageCase[] = [
  { pattern: "noise", width: 1, height: 1 },
  { pattern: "noise", width: 2, height: 1 },
  { pattern: "noise", width: 1, height: 2 },
  { pattern: "noise", width: 1, height: 500 },
  { pattern: "noise", width: 500, height: 1 },
  { pattern: "noise", width: 13, height: 900 },
  { pattern: "edges", width: 900, height: 13 },
  { pattern: "noise", width: 17, height: 19 },
  { pattern: "edges", width: 50, height: 100 },
  { pattern: "noise", width: 100, height: 50 },
  { pattern: "noise", width: 384, height: 384 },
  { pattern: "noise", width: 384, height: 250 },
  { pattern: "gradient", width: 250, height: 384 },
  { pattern: "gradient", width: 383, height: 385 },
  { pattern: "edges", width: 641, height: 479 },
  { pattern: "noise", width: 997, height: 991 },
  { pattern: "edges", width: 1024, height: 1024 },
  { pattern: "gradient", width: 1024, height: 600 },
  { pattern: "noise", width: 1025, height: 1023 },
  { pattern: "photo", width: 1999, height: 1409 },
  { pattern: "noise", width: 3000, height: 20 },
  { pattern: "gradient", width: 20, height: 3000 },
  { pattern: "photo", width: 4000, height: 3000 },
  { pattern: "noise", width: 2999, height: 4001 },
];

const MODELS = [
  { model: "1.3B", imageSize: 384, imageMean: [0.5, 0.5, 0.5] },
  { model: "7B", imageSize: 1024, imageMean: [0.48145466, 0.4578275, 0.40821073] },
] as const;

/** Plain resizes outside the pipeline's shapes: one pass only, mixed up/down, to 1 pixel, identity. */
const RESIZES: readonly (ImageCase & { readonly to: readonly [number, number] })[] = [
  { pattern: "noise", width: 50, height: 40, to: [50, 97] },
  { pattern: "noise", width: 50, height: 40, to: [13, 40] },
  { pattern: "edges", width: 300, height: 200, to: [700, 51] },
  { pattern: "edges", width: 200, height: 300, to: [51, 700] },
  { pattern: "noise", width: 7, height: 5, to: [3, 11] },
  { pattern: "noise", width: 1, height: 1, to: [5, 3] },
  { pattern: "edges", width: 31, height: 29, to: [1, 1] },
  { pattern: "noise", width: 1000, height: 3, to: [999, 2] },
  { pattern: "gradient", width: 256, height: 256, to: [255, 257] },
  { pattern: "noise", width: 64, height: 48, to: [64, 48] },
];

const label = (c: ImageCase) => `${c.pattern} ${c.width}x${c.height}`;

const images = new Map<string, RgbImage>();
let pillow: PillowResult[] = [];

beforeAll(() => {
  [...PIPELINE_IMAGES, ...RESIZES].forEach((c, seed) => {
    if (!images.has(label(c))) images.set(label(c), syntheticImage(c.pattern, c.width, c.height, seed + 1));
  });
  const requests: PillowRequest[] = [
    ...MODELS.flatMap((m) => PIPELINE_IMAGES.map((c): PillowRequest => ({ op: "pipeline", image: images.get(label(c))!, ...m }))),
    ...RESIZES.map(
      (c): PillowRequest => ({
        op: "resize",
        image: images.get(label(c))!,
        width: c.to[0],
        height: c.to[1],
      }),
    ),
  ];
  pillow = runPillow(requests);
});

describe.each(MODELS.map((m, index) => ({ ...m, index })))(
  "preprocess matches Pillow, $model (image_size $imageSize)",
  ({ imageSize, imageMean, index }) => {
    test.each(PIPELINE_IMAGES.map((c, i) => ({ ...c, name: label(c), i })))("$name", ({ name, i }) => {
      const expected = pillow[index * PIPELINE_IMAGES.length + i]!;
      const actual = preprocess(images.get(name)!, { imageSize, imageMean });
      expect([actual.size, actual.size]).toEqual([expected.width, expected.height]);
      expect(difference(actual.data, expected.data)).toBeNull();
    });
  },
);

describe("resizeBicubic matches Pillow's resize(size, BICUBIC)", () => {
  test.each(RESIZES.map((c, i) => ({ ...c, source: label(c), i })))("$source -> $to.0x$to.1", ({ to, source, i }) => {
    const expected = pillow[MODELS.length * PIPELINE_IMAGES.length + i]!;
    const actual = resizeBicubic(images.get(source)!, to[0], to[1]);
    expect([actual.width, actual.height]).toEqual([expected.width, expected.height]);
    expect(difference(actual.data, expected.data)).toBeNull();
  });
});
