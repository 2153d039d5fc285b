import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { EchoRequestSchema } from "../../shared/gen/deepseek_vl/v1/diagnostics_pb.js";
import { DataType, EncodeImagesRequestSchema, GenerateRequestSchema } from "../../shared/gen/deepseek_vl/v1/inference_pb.js";
import { encodeTensor } from "../../shared/tensor/index.ts";
import { encodeSegments, VIEW_MIN_BYTES } from "./segments.ts";

const joined = (parts: Uint8Array[]) => {
  const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
};

/** Byte equality without a diff (vitest's deep equality of megabyte arrays is far too slow). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function noise(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed * 17) & 0xff;
  return bytes;
}

describe("encodeSegments", () => {
  it("writes exactly toBinary's bytes for a Generate request with a 7B image, the tensors as the caller's own arrays", () => {
    const pixels = noise(3 * 1024 * 1024, 1);
    const features = new Uint16Array(noise(576 * 1024 * 2, 2).buffer);
    const message = create(GenerateRequestSchema, {
      requestId: "req-1",
      cacheNamespace: "tenant",
      inputIds: [100000, ...new Array<number>(576).fill(100015), 300, 301],
      images: [
        {
          key: "a".repeat(64),
          pixels: encodeTensor(DataType.UINT8, [3, 1024, 1024], pixels),
          siglipFeatures: encodeTensor(DataType.FLOAT16, [576, 1024], features),
        },
        { key: "held-image-key" },
      ],
      sampling: { temperature: 0.7, topK: 50, topP: 0.9, repetitionPenalty: 1.1, seed: 42n, maxNewTokens: 64, stopTokenIds: [7, 8] },
    });
    const segments = encodeSegments(GenerateRequestSchema, message);
    const expected = toBinary(GenerateRequestSchema, message);
    expect(segments.byteLength).toBe(expected.length);
    expect(sameBytes(joined(segments.parts), expected)).toBe(true);
    expect(segments.parts).toContain(message.images[0]!.pixels!.data);
    expect(segments.parts).toContain(message.images[0]!.siglipFeatures!.data);
  });

  it("matches toBinary around the view threshold, for several images and echo requests with unknown fields", () => {
    for (const length of [1, 127, 128, VIEW_MIN_BYTES - 1, VIEW_MIN_BYTES, VIEW_MIN_BYTES + 1, 300_000]) {
      const tensors = [length, 5, length + 3].map((size, i) => encodeTensor(DataType.UINT8, [size], noise(size, i)));
      const echo = create(EchoRequestSchema, { tensors, returnTensors: length % 2 === 0 });
      echo.$unknown = [{ no: 99, wireType: 0, data: Uint8Array.of(5) }];
      expect(sameBytes(joined(encodeSegments(EchoRequestSchema, echo).parts), toBinary(EchoRequestSchema, echo))).toBe(true);
      const images = create(EncodeImagesRequestSchema, {
        images: tensors.map((pixels, i) => ({ key: `image-${i}`, pixels })),
      });
      const expected = toBinary(EncodeImagesRequestSchema, images);
      expect(sameBytes(joined(encodeSegments(EncodeImagesRequestSchema, images).parts), expected)).toBe(true);
    }
  });

  it("leaves a message without large bytes to toBinary, in one part", () => {
    const message = create(GenerateRequestSchema, { requestId: "small", inputIds: [1, 2, 3] });
    const segments = encodeSegments(GenerateRequestSchema, message);
    expect(segments.parts).toHaveLength(1);
    expect(segments.parts[0]).toEqual(toBinary(GenerateRequestSchema, message));
  });
});
