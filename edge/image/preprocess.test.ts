import { describe, expect, test } from "vitest";

import { ImageError, padColour, preprocess, type RgbImage, resizeBicubic, targetSize } from "./index.ts";
import { expandToSquare, fromPlanar } from "./square.ts";

// Runs inside workerd. Byte parity with Pillow over many images lives in test/pillow (Node + Python);
// the Pillow outputs below were produced by Pillow 9.4 `Image.resize(size, Image.BICUBIC)`.

const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];

/** A 5x3 image with bytes `(i * 97 + 13) % 256`. */
const SOURCE: RgbImage = { data: Uint8Array.from({ length: 45 }, (_, i) => (i * 97 + 13) % 256), width: 5, height: 3 };

describe("padColour", () => {
  test("truncates mean * 255 (reference §2.1)", () => {
    expect(padColour([0.5, 0.5, 0.5])).toEqual([127, 127, 127]);
    expect(padColour(CLIP_MEAN)).toEqual([122, 116, 104]);
  });

  test("rejects a mean that is not three numbers in [0, 1]", () => {
    expect(() => padColour([0.5, 0.5])).toThrow(ImageError);
    expect(() => padColour([0.5, 0.5, 1.5])).toThrow(/imageMean must be 3 numbers in \[0, 1\]/);
    expect(() => padColour([0.5, Number.NaN, 0.5])).toThrow(ImageError);
  });
});

describe("targetSize", () => {
  test.each([
    [4000, 3000, 1024, 1024, 768],
    [640, 480, 384, 384, 288],
    [100, 50, 384, 384, 192],
    [1, 1, 384, 384, 384],
    [1, 500, 384, 14, 384],
    [13, 900, 384, 14, 384],
    [3000, 20, 1024, 1024, 14],
  ])("%i x %i at %i -> %i x %i", (width, height, imageSize, outWidth, outHeight) => {
    expect(targetSize(width, height, imageSize)).toEqual({ width: outWidth, height: outHeight });
  });

  test("divides before multiplying, as the reference does: 29/50*100 truncates to 57, not 58", () => {
    expect(targetSize(29, 50, 100)).toEqual({ width: 57, height: 100 });
  });

  test("rejects non-positive or fractional sizes", () => {
    expect(() => targetSize(0, 10, 384)).toThrow(ImageError);
    expect(() => targetSize(10, 10, 383.5)).toThrow(/imageSize must be a positive integer/);
  });
});

describe("expandToSquare", () => {
  const colour = [9, 8, 7] as const;
  const pad = [...colour];

  test("landscape: pasted at y = (w - h) // 2, the odd pad row goes to the bottom", () => {
    const image = { data: Uint8Array.from([1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]), width: 4, height: 1 };
    const square = expandToSquare(image, colour);
    expect(square.width).toBe(4);
    const padRow = [...pad, ...pad, ...pad, ...pad];
    expect([...square.data]).toEqual([...padRow, ...image.data, ...padRow, ...padRow]);
  });

  test("portrait: pasted at x = (h - w) // 2, the odd pad column goes to the right", () => {
    const image = { data: Uint8Array.from([1, 1, 1, 2, 2, 2, 3, 3, 3]), width: 1, height: 3 };
    const square = expandToSquare(image, colour);
    expect([...square.data]).toEqual([...pad, 1, 1, 1, ...pad, ...pad, 2, 2, 2, ...pad, ...pad, 3, 3, 3, ...pad]);
    const wider = expandToSquare({ data: new Uint8Array(2 * 5 * 3).fill(200), width: 2, height: 5 }, colour);
    expect([...wider.data.subarray(0, 15)]).toEqual([...pad, 200, 200, 200, 200, 200, 200, ...pad, ...pad]);
  });
});

describe("resizeBicubic", () => {
  test("downscale matches Pillow", () => {
    const out = resizeBicubic(SOURCE, 3, 2);
    expect([...out.data]).toEqual([93, 86, 199, 69, 153, 124, 103, 213, 80, 157, 157, 82, 134, 78, 152, 167, 96, 150]);
  });

  test("upscale matches Pillow, including clipping to 0..255", () => {
    const out = resizeBicubic(SOURCE, 7, 4);
    expect([...out.data]).toEqual([
      2, 112, 209, 20, 131, 246, 52, 159, 191, 87, 184, 12, 113, 209, 29, 140, 237, 71, 159, 255, 98, 126, 45, 160, 157, 63, 185, 130, 96,
      184, 20, 135, 136, 40, 160, 172, 73, 188, 111, 92, 207, 22, 168, 87, 88, 199, 112, 106, 172, 110, 139, 62, 63, 178, 82, 85, 217, 115,
      116, 152, 134, 135, 63, 101, 211, 39, 119, 248, 58, 151, 193, 86, 186, 14, 111, 212, 31, 135, 239, 67, 170, 255, 86, 197,
    ]);
  });

  test("same size returns an equal copy", () => {
    const out = resizeBicubic(SOURCE, 5, 3);
    expect(out.data).not.toBe(SOURCE.data);
    expect([...out.data]).toEqual([...SOURCE.data]);
  });

  test("rejects data of the wrong length", () => {
    expect(() => resizeBicubic({ data: new Uint8Array(44), width: 5, height: 3 }, 2, 2)).toThrow(/must hold 45 bytes, got 44/);
  });
});

describe("preprocess", () => {
  test("a 4x2 image at imageSize 4 is not resized, padded top and bottom, and laid out CHW", () => {
    const data = Uint8Array.from({ length: 24 }, (_, i) => 10 + i);
    const out = preprocess({ data, width: 4, height: 2 }, { imageSize: 4, imageMean: [0.5, 0.5, 0.5], minSize: 1 });
    expect(out.size).toBe(4);
    const p = 127;
    const red = [10, 13, 16, 19, 22, 25, 28, 31];
    const green = red.map((v) => v + 1);
    const blue = red.map((v) => v + 2);
    expect([...out.data]).toEqual([
      ...[p, p, p, p, ...red, p, p, p, p],
      ...[p, p, p, p, ...green, p, p, p, p],
      ...[p, p, p, p, ...blue, p, p, p, p],
    ]);
  });

  test("the 7B configuration gives a [3, 1024, 1024] tensor with the CLIP-mean padding", () => {
    const out = preprocess(SOURCE, { imageSize: 1024, imageMean: CLIP_MEAN });
    expect(out.size).toBe(1024);
    expect(out.data.length).toBe(3 * 1024 * 1024);
    // 5x3 -> 1024x614 pasted at y = 205: rows 0..204 and 819..1023 are padding.
    const plane = 1024 * 1024;
    expect([out.data[0], out.data[plane], out.data[2 * plane]]).toEqual([122, 116, 104]);
    expect([out.data[204 * 1024], out.data[819 * 1024 + 5], out.data[1023 * 1024 + 1023]]).toEqual([122, 122, 122]);
  });
});

describe("fromPlanar", () => {
  test("interleaves a 2x2 square's planes back into RGB pixels", () => {
    const planes = Uint8Array.from([1, 2, 3, 4, 11, 12, 13, 14, 21, 22, 23, 24]);
    const image = fromPlanar(planes, 2);
    expect([image.width, image.height]).toEqual([2, 2]);
    expect([...image.data]).toEqual([1, 11, 21, 2, 12, 22, 3, 13, 23, 4, 14, 24]);
  });
});
