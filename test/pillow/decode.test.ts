import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, describe, expect, test } from "vitest";

import { type CodecWasm, decodeImage, ImageError, type ImageErrorCode, readImageHeader } from "../../edge/image/index.ts";
import { nodeCodecWasm } from "../../processes/index.ts";
import { generateWithPillow } from "./pillow.ts";

// Byte-for-byte parity of edge/image/decode with Debian's Pillow: decode_images.py writes a varied
// set of JPEG, PNG and WebP files and Pillow's `ImageOps.exif_transpose(Image.open(f)).convert("RGB")`
// of each; every file is decoded here and compared.

const SCRIPT = fileURLToPath(new URL("./decode_images.py", import.meta.url));

type Reference =
  | { readonly error: string }
  | {
      readonly size: readonly [number, number];
      readonly mode: string;
      readonly orientation: number | null;
      readonly width: number;
      readonly height: number;
      readonly rgb: string;
    };

interface Case {
  readonly name: string;
  readonly file: string;
  readonly pillow: Reference;
}

const dir = mkdtempSync(join(tmpdir(), "pillow-decode-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cases = generateWithPillow<Case>(SCRIPT, dir);
const wasm = nodeCodecWasm();
const bytesOf = (c: Case) => new Uint8Array(readFileSync(join(dir, c.file)));

/** Files Pillow decodes that the edge refuses by design, and why. */
const REFUSED: Readonly<Record<string, { code: ImageErrorCode; message: RegExp }>> = {
  // Pillow shows the first frame; the codec decodes still images only.
  "webp-animated": { code: "unsupported_format", message: /animated WebP is not supported/ },
};

const decodable = cases.filter((c) => !("error" in c.pillow) && !(c.name in REFUSED));
const broken = cases.filter((c) => "error" in c.pillow);

/** How two byte arrays differ: count, largest and mean absolute difference; null when equal. */
function difference(actual: Uint8Array, expected: Uint8Array): string | null {
  if (actual.length !== expected.length) return `length ${actual.length}, Pillow ${expected.length}`;
  let count = 0;
  let max = 0;
  let sum = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    if (d === 0) continue;
    count++;
    sum += d;
    max = Math.max(max, d);
  }
  if (count === 0) return null;
  return `${count} of ${actual.length} bytes differ, max ${max}, mean ${(sum / actual.length).toFixed(4)}`;
}

function reference(c: Case) {
  if ("error" in c.pillow) throw new Error(`Pillow refused ${c.name}: ${c.pillow.error}`);
  return c.pillow;
}

test("the generated set covers every format, Pillow mode and orientation it is meant to", () => {
  const formats = new Set(decodable.map((c) => c.name.split("-")[0]));
  expect([...formats].sort()).toEqual(["jpeg", "png", "webp"]);
  const modes = new Set(decodable.map((c) => reference(c).mode));
  expect([...modes].sort()).toEqual(["1", "CMYK", "I", "L", "LA", "P", "RGB", "RGBA"]);
  const orientations = new Set(decodable.map((c) => reference(c).orientation));
  expect([...orientations].sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, null]);
  expect(broken.length).toBeGreaterThanOrEqual(9);
});

describe("decodeImage matches Pillow's exif_transpose(open(f)).convert('RGB')", () => {
  test.each(decodable.map((c) => ({ ...c, label: c.name })))("$label", async (c) => {
    const expected = reference(c);
    const image = await decodeImage(bytesOf(c), { wasm });
    expect([image.width, image.height]).toEqual([expected.width, expected.height]);
    expect(difference(image.data, new Uint8Array(readFileSync(join(dir, expected.rgb))))).toBeNull();
  });
});

describe("readImageHeader agrees with Image.open's size and the orientation exif_transpose applies", () => {
  test.each(decodable.map((c) => ({ ...c, label: c.name })))("$label", (c) => {
    const { size, orientation } = reference(c);
    expect(readImageHeader(bytesOf(c))).toEqual({
      format: c.name.split("-")[0],
      width: size[0],
      height: size[1],
      ...(orientation !== null && { orientation }),
    });
  });
});

describe("files Pillow refuses are refused with an ImageError", () => {
  test.each(broken.map((c) => ({ ...c, label: c.name })))("$label", async (c) => {
    const error = await decodeImage(bytesOf(c), { wasm }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageError);
    expect(["corrupt_image", "unsupported_format"]).toContain((error as ImageError).code);
  });

  test.each(Object.entries(REFUSED).map(([name, refusal]) => ({ name, ...refusal })))(
    "$name (Pillow decodes it; refused by design)",
    async ({ name, code, message }) => {
      const c = cases.find((x) => x.name === name)!;
      expect("error" in c.pillow).toBe(false);
      const error = await decodeImage(bytesOf(c), { wasm }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ImageError);
      expect((error as ImageError).code).toBe(code);
      expect((error as ImageError).message).toMatch(message);
    },
  );
});

describe("the pixel cap is checked from the header, before any decoding", () => {
  /** Codecs that fail the test if touched: a refusal with these proves nothing was decoded. */
  const untouchable = {
    get jpeg(): WebAssembly.Module {
      throw new Error("the JPEG codec was used");
    },
    get webp(): WebAssembly.Module {
      throw new Error("the WebP codec was used");
    },
  } satisfies CodecWasm;

  const u32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  const le32 = (n: number) => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255];
  const ascii = (s: string) => Array.from(s, (ch) => ch.charCodeAt(0));

  /** PNG signature, an IHDR for 100000 x 100000 RGB (its CRC from Python's zlib.crc32), then junk. */
  const hugePng = Uint8Array.from([
    0x89,
    0x50,
    0x4e,
    0x47,
    0x0d,
    0x0a,
    0x1a,
    0x0a,
    ...u32(13),
    ...ascii("IHDR"),
    ...u32(100000),
    ...u32(100000),
    8,
    2,
    0,
    0,
    0,
    ...u32(0x27309c9f),
    ...u32(4),
    ...ascii("IDAT"),
    1,
    2,
    3,
    4,
    0,
    0,
    0,
    0,
  ]);
  /** SOI and a baseline frame header for 65535 x 65535, three components, then junk. */
  const hugeJpeg = Uint8Array.from([
    0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, 0xff, 0xff, 0xff, 0xff, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xff, 0xda, 0, 2, 1, 2, 3,
  ]);
  /** RIFF/WEBP with a VP8X chunk declaring a 100000 x 100000 canvas (24-bit sizes minus one), then junk. */
  const hugeWebp = Uint8Array.from([
    ...ascii("RIFF"),
    ...le32(30),
    ...ascii("WEBP"),
    ...ascii("VP8X"),
    ...le32(10),
    0,
    0,
    0,
    0,
    ...le32(99999).slice(0, 3),
    ...le32(99999).slice(0, 3),
    ...ascii("VP8 "),
    ...le32(0),
  ]);

  test.each([
    { format: "png", bytes: hugePng, width: 100000, height: 100000 },
    { format: "jpeg", bytes: hugeJpeg, width: 65535, height: 65535 },
    { format: "webp", bytes: hugeWebp, width: 100000, height: 100000 },
  ])("$format declaring $width x $height in $bytes.length bytes", async ({ format, bytes, width, height }) => {
    expect(readImageHeader(bytes)).toEqual({ format, width, height });
    const error = await decodeImage(bytes, { wasm: untouchable, maxPixels: 50_000_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageError);
    expect((error as ImageError).code).toBe("too_many_pixels");
    expect((error as ImageError).message).toBe(`image is ${width}x${height} = ${width * height} pixels, over the limit of 50000000`);
  });

  test("maxPixels must be a positive integer", async () => {
    const bytes = bytesOf(cases.find((x) => x.name === "jpeg-7x5-420")!);
    for (const maxPixels of [0, -1, 1.5, Number.NaN]) {
      const refusal = decodeImage(bytes, { wasm: untouchable, maxPixels });
      await expect(refusal).rejects.toMatchObject({ code: "invalid_option" });
    }
  });

  test("the cap is inclusive: exactly maxPixels decodes, one pixel less refuses", async () => {
    const c = cases.find((x) => x.name === "jpeg-7x5-420")!;
    const bytes = bytesOf(c);
    await expect(decodeImage(bytes, { wasm, maxPixels: 35 })).resolves.toMatchObject({ width: 7, height: 5 });
    const refusal = decodeImage(bytes, { wasm: untouchable, maxPixels: 34 });
    await expect(refusal).rejects.toThrow(/= 35 pixels, over the limit of 34/);
  });
});
