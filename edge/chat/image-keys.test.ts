import { describe, expect, test } from "vitest";

import type { Manifest } from "../../shared/manifest/index.ts";
import { workerdCodecWasm } from "../image/decode/workerd-wasm.ts";
import { createCodecInstances } from "../image/index.ts";
import { createFileKeys, prepareImage } from "./image-keys.ts";

// Runs inside workerd. Content keys name an image across requests, caches and GPU hosts, so the tenant salt
// (CACHE_KEY_SALT) must take part in every one of them: the pixels' key and the file -> key table alike.

/** 4x3 grey + alpha PNG (the decode tests' fixture). */
const PNG = Uint8Array.from(
  atob(
    "iVBORw0KGgoAAAANSUhEUgAAAAQAAAADCAQAAAAe/WZNAAAAGmVYSWZNTQAqAAAACAABARIAAwAAAAEAAwAAAAAAAIRfZM4AAAAkSURBVHicY+j2evpxpSPbAiYuBcd9wj0rXZnO9j95urjzyUMAnkYNDL7iCdIAAAAASUVORK5CYII=",
  ),
  (c) => c.charCodeAt(0),
);
// prepareImage reads only the revision and the preprocessing geometry.
const MANIFEST = { revision: "ab".repeat(32), vision: { imageSize: 8, minSize: 4, imageMean: [0.5, 0.5, 0.5] } } as Manifest;
const DECODING = { wasm: workerdCodecWasm, codecs: createCodecInstances() };

const keyOf = async (salt: string, fileKeys = createFileKeys()) => (await prepareImage(fileKeys, PNG, 0, MANIFEST, DECODING, salt)).key;

async function sha256Hex(text: string, data: Uint8Array): Promise<string> {
  const prefix = new TextEncoder().encode(text);
  const message = new Uint8Array([...prefix, ...data]);
  return Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", message)), (b) => b.toString(16).padStart(2, "0")).join("");
}

describe("image content keys and CACHE_KEY_SALT", () => {
  test("the key is SHA-256 over the preprocessing version, revision, salt and pixels", async () => {
    const prepared = await prepareImage(createFileKeys(), PNG, 0, MANIFEST, DECODING, "tenant-a");
    const pixels = await prepared.pixels();
    expect(pixels.length).toBe(3 * 8 * 8);
    expect(prepared.key).toBe(await sha256Hex(`pillow-bicubic-pad-v1\n${MANIFEST.revision}\ntenant-a\n`, pixels));
  });

  test("the same image under the same salt keeps its key, also when remembered by its file", async () => {
    const fileKeys = createFileKeys();
    const first = await keyOf("tenant-a", fileKeys);
    expect(await keyOf("tenant-a", fileKeys)).toBe(first);
    expect(await keyOf("tenant-a")).toBe(first);
  });

  test("another salt gives another key, also through a file -> key table filled under the first salt", async () => {
    const fileKeys = createFileKeys();
    const [a, b] = [await keyOf("tenant-a", fileKeys), await keyOf("tenant-b", fileKeys)];
    expect(b).not.toBe(a);
    expect(b).toBe(await keyOf("tenant-b"));
    expect(await keyOf("", fileKeys)).not.toBe(a);
  });
});
