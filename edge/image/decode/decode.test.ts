import { describe, expect, test } from "vitest";

import { ImageError } from "../errors.ts";
import { createCodecInstances, decodeImage, readImageHeader } from "./index.ts";
import { workerdCodecWasm } from "./workerd-wasm.ts";

// Runs inside workerd: the codecs' .wasm arrive as module imports and are instantiated without
// compiling bytes. Parity with Pillow over a varied image set lives in test/pillow (Node + Python);
// the expected pixels below are Pillow 9.4's `ImageOps.exif_transpose(Image.open(f)).convert("RGB")`.

const base64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

/** 4x3 RGB noise, quality 90, 4:2:0, EXIF orientation 6 (stored 4x3, upright 3x4). */
const JPEG = base64(
  "/9j/4AAQSkZJRgABAQAAAQABAAD/4QAiRXhpZgAATU0AKgAAAAgAAQESAAMAAAABAAYAAAAAAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQERMUFRUVDA8XGBYUGBIUFRT/2wBDAQMEBAUEBQkFBQkUDQsNFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBT/wAARCAADAAQDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDxD4l+NdVGtadMWtHkudIsLiQyWED/ADvbRltoKYVcnhVwo7AUUUV8q82zGn7sMRNJdpS/zPqq2GoqbtBa2ey3au36t6vzP//Z",
);
const JPEG_PIXELS = [
  90, 42, 4, 239, 173, 234, 150, 84, 145, 203, 155, 117, 193, 127, 188, 215, 149, 210, 132, 89, 57, 34, 114, 141, 56, 136, 163, 91, 48, 16,
  80, 160, 187, 17, 97, 124,
];

/** 4x3 RGB noise, quality 90, 4:2:0, EXIF orientation 5 (transpose; stored 4x3, upright 3x4). */
const JPEG_TRANSPOSE = base64(
  "/9j/4AAQSkZJRgABAQAAAQABAAD/4QAiRXhpZgAATU0AKgAAAAgAAQESAAMAAAABAAUAAAAAAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQERMUFRUVDA8XGBYUGBIUFRT/2wBDAQMEBAUEBQkFBQkUDQsNFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBT/wAARCAADAAQDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwD1DVvBmhahcmW80izvHVpI0NzCsojRZXVUQMDsUAfdXAyScZJJKKK/R8Bh6P1Sl7i+FdF2P4R4uzLG0uIMbTp15qKqSslJpLXorn//2Q==",
);
const JPEG_TRANSPOSE_PIXELS = [
  114, 130, 68, 179, 195, 133, 187, 188, 180, 158, 174, 112, 153, 169, 107, 143, 144, 136, 122, 225, 204, 17, 120, 99, 77, 234, 243, 7, 110,
  89, 89, 192, 171, 47, 204, 213,
];

/** 4x3 RGB noise, quality 90, 4:2:0, EXIF orientation 7 (transverse; stored 4x3, upright 3x4). */
const JPEG_TRANSVERSE = base64(
  "/9j/4AAQSkZJRgABAQAAAQABAAD/4QAiRXhpZgAATU0AKgAAAAgAAQESAAMAAAABAAcAAAAAAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQERMUFRUVDA8XGBYUGBIUFRT/2wBDAQMEBAUEBQkFBQkUDQsNFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBT/wAARCAADAAQDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDznxXql3deLNekknfK6neW6hDtVY4biSGJQowAFjjReP7vrk0UUV9Hh8PR9hT9xfDHouyDBYejOgnKCerWy2TaS9ElZdlof//Z",
);
const JPEG_TRANSVERSE_PIXELS = [
  59, 87, 134, 116, 74, 96, 135, 93, 115, 85, 113, 160, 93, 51, 73, 119, 77, 99, 40, 45, 22, 77, 201, 89, 113, 237, 125, 177, 182, 159, 110,
  234, 122, 49, 173, 61,
];

/** 4x3 grey + alpha, eXIf orientation 3. */
const PNG = base64(
  "iVBORw0KGgoAAAANSUhEUgAAAAQAAAADCAQAAAAe/WZNAAAAGmVYSWZNTQAqAAAACAABARIAAwAAAAEAAwAAAAAAAIRfZM4AAAAkSURBVHicY+j2evpxpSPbAiYuBcd9wj0rXZnO9j95urjzyUMAnkYNDL7iCdIAAAAASUVORK5CYII=",
);
const PNG_GREYS = [147, 95, 10, 98, 175, 188, 38, 149, 6, 169, 229, 139];

/** 4x3 RGB noise, lossy, quality 80. */
const WEBP_LOSSY = base64(
  "UklGRl4AAABXRUJQVlA4IFIAAACwAgCdASoEAAMAAUAmJbACdGuAwQD9AJ1ABsACyCAA/q2y/r9g//Kb4is/fhN9nN0uEL1JBn1HbVH302P4/6iNOCnTdu3vuvyUJlm/2+DbqAAA",
);
const WEBP_LOSSY_PIXELS = [
  155, 89, 157, 196, 166, 222, 81, 121, 153, 18, 94, 114, 224, 170, 213, 171, 140, 176, 89, 107, 126, 106, 147, 158, 76, 45, 37, 190, 159,
  152, 114, 86, 77, 79, 51, 42,
];

/** 4x3 RGBA (alpha 128), lossless. */
const WEBP_LOSSLESS = base64(
  "UklGRnAAAABXRUJQVlA4TGQAAAAvA4AAEF+gNLLVaAaPpEE8raAo8sqd+LShKJKk5pKF83DKeaMCAWjIGRwoim2DikEFQbSQQNR/B+tXwG4Ag/N3Bz2I9c03JYugX08C1QMJNDJTB4IAEoBMAllhnhmWj+h/LPQC",
);
const WEBP_LOSSLESS_PIXELS = [
  139, 74, 229, 241, 169, 65, 6, 160, 149, 106, 38, 175, 188, 205, 175, 229, 98, 249, 10, 148, 95, 86, 147, 198, 66, 39, 106, 213, 171, 45,
  167, 57, 69, 81, 55, 14,
];

// Shared, as an isolate shares them: a failed decode must not leave a broken instance to the next.
const codecs = createCodecInstances();
const decode = (bytes: Uint8Array) => decodeImage(bytes, { wasm: workerdCodecWasm, codecs });

describe("decodeImage in workerd", () => {
  test("JPEG through MozJPEG, turned upright by its EXIF orientation 6", async () => {
    expect(readImageHeader(JPEG)).toEqual({ format: "jpeg", width: 4, height: 3, orientation: 6 });
    const image = await decode(JPEG);
    expect([image.width, image.height]).toEqual([3, 4]);
    expect([...image.data]).toEqual(JPEG_PIXELS);
  });

  test.each([
    [5, JPEG_TRANSPOSE, JPEG_TRANSPOSE_PIXELS],
    [7, JPEG_TRANSVERSE, JPEG_TRANSVERSE_PIXELS],
  ])("JPEG with EXIF orientation %i: width and height swapped, mirrored as Pillow does", async (orientation, bytes, pixels) => {
    expect(readImageHeader(bytes)).toEqual({ format: "jpeg", width: 4, height: 3, orientation });
    const image = await decode(bytes);
    expect([image.width, image.height]).toEqual([3, 4]);
    expect([...image.data]).toEqual(pixels);
  });

  test("PNG through DecompressionStream: grey + alpha to RGB, eXIf orientation 3", async () => {
    const image = await decode(PNG);
    expect([image.width, image.height]).toEqual([4, 3]);
    expect([...image.data]).toEqual(PNG_GREYS.flatMap((g) => [g, g, g]));
  });

  test("WebP through libwebp, lossy and lossless with alpha", async () => {
    expect([...(await decode(WEBP_LOSSY)).data]).toEqual(WEBP_LOSSY_PIXELS);
    expect([...(await decode(WEBP_LOSSLESS)).data]).toEqual(WEBP_LOSSLESS_PIXELS);
  });

  test("a libjpeg error becomes an ImageError, and the next JPEG decodes on a fresh instance", async () => {
    const bad = JPEG.slice();
    // The first Huffman table (after FFC4, length, class/id): two 1-bit codes and four 3-bit ones
    // instead of one 2-bit and five 3-bit codes, so the code space overflows (libjpeg's JERR_BAD_HUFF_TABLE).
    const dht = bad.findIndex((b, i) => b === 0xff && bad[i + 1] === 0xc4);
    expect([...bad.subarray(dht + 5, dht + 8)]).toEqual([0, 1, 5]);
    bad.set([2, 0, 4], dht + 5);
    // The instance cached for the JPEG WebAssembly: kept across good decodes, replaced after a failed one.
    // (The poisoned instance would still decode JPEG correctly, so only its identity tells.)
    const instance = () => codecs.get(workerdCodecWasm.jpeg);
    await decode(JPEG);
    const before = instance();
    expect(before).toBeDefined();
    await decode(JPEG);
    expect(instance()).toBe(before);
    await expect(decode(bad)).rejects.toThrow(/JPEG could not be decoded: Bogus Huffman table definition/);
    await expect(decode(bad)).rejects.toBeInstanceOf(ImageError);
    expect([...(await decode(JPEG)).data]).toEqual(JPEG_PIXELS);
    expect(instance()).toBeDefined();
    expect(instance()).not.toBe(before);
  });
});

describe("formats phones write instead of JPEG", () => {
  /** An ISO-BMFF `ftyp` box: size, "ftyp", the major brand, a minor version, compatible brands; then junk. */
  const ftyp = (major: string, ...compatible: string[]) => {
    const brands = [major, "\0\0\0\0", ...compatible].join("");
    const size = 8 + brands.length;
    return Uint8Array.from([0, 0, 0, size, ...Array.from(`ftyp${brands}`, (c) => c.charCodeAt(0)), 1, 2, 3, 4]);
  };

  test.each([
    { name: "HEIC (an iPhone's default)", bytes: ftyp("heic", "mif1", "heic"), format: /^HEIC\/HEIF images are not supported/ },
    { name: "HEIF by its compatible brand", bytes: ftyp("abcd", "mif1"), format: /^HEIC\/HEIF images are not supported/ },
    { name: "AVIF", bytes: ftyp("avif", "mif1", "miaf"), format: /^AVIF images are not supported/ },
  ])("$name is refused naming the format and how to send a JPEG", async ({ bytes, format }) => {
    const error = await decodeImage(bytes, { wasm: workerdCodecWasm }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageError);
    expect((error as ImageError).code).toBe("unsupported_format");
    expect((error as ImageError).message).toMatch(format);
    expect((error as ImageError).message).toContain("jpegData(compressionQuality:)");
  });

  test("another ISO-BMFF file (an MP4 video) is just not an image", async () => {
    const error = await decodeImage(ftyp("isom", "mp41"), { wasm: workerdCodecWasm }).catch((e: unknown) => e);
    expect((error as ImageError).message).toBe("not a JPEG, PNG or WebP image");
  });
});
