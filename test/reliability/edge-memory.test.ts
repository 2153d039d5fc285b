// The edge keeps nothing of a finished request. Every new image sends its preprocessed pixels to the GPU service
// (3 MiB per image on the hybrid model's 1024 input); an edge that let a finished call's state live on (workerd
// holds on to some AbortSignals, and an abort reason's stack holds its frames' closures) grew by that much per
// request (twice: the message and its encoded copy). Here workerd's memory over a run of new images must stay
// below half an image per request; the runtime itself and the bounded caches take far less.
// Nor of a stream its client hung up on: workerd ends such a request's I/O, and a GPU read still pending then
// never settles, keeping the call's streams, readers, headers and signals (14-35 KB per stream). The isolate's
// retained heap (snapshots) over a run of cancelled streams must stay under a few KB per stream.
// Nor does a phone photo cost what its frame would: a 12 MP JPEG is 36 MiB of RGB and a 48 MP one 140 MiB, over a
// Worker's 128 MB; streamed through the decoder, each upload (multipart, as apps send it) must peak well inside the
// isolate's limit and leave nothing in the isolate. (Its resident set after such uploads moves in steps of several
// MiB with the allocator and the collector, so what stays is read from heap snapshots, not from RSS.)
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IsolateHeap, peakRssGrowthBytes, postChat, readChatStream, workerdRssBytes, workerdRuntimePid } from "../../processes/index.ts";
import { pngPhoto } from "../support/crafted-images.ts";
import { askAboutPhoto, pillowPhoto } from "../support/phone-photos.ts";
import { startTestSystem, type TestSystem } from "../support/system.ts";

const WARM_UP = 6;
const MEASURED = 40;
const CANCELLED_WARM_UP = 50;
const CANCELLED_MEASURED = 150;
/** Uploads of each photo after the first, to see whether any of them stays. */
const PHOTO_REPEATS = 3;
const MiB = 2 ** 20;
/** The most the repeated uploads may leave in the isolate's heap (ArrayBuffer stores included), per upload. */
const PHOTO_RETAINED_BYTES = 256 * 1024;

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem();
});

afterAll(async () => {
  await system?.stop();
});

const workerdRss = () => workerdRssBytes(system.edge.process.pid!);

/** One completion about a new image (each index draws another), alternately JSON and SSE. */
async function describeNewImage(index: number): Promise<void> {
  const image = `data:image/png;base64,${Buffer.from(pngPhoto(48 + index, 40 + (index % 7), index + 1)).toString("base64")}`;
  const stream = index % 2 === 1;
  const response = await postChat(system.edge.url, system.apiKey, {
    model: system.model.manifest.name,
    messages: [
      {
        role: "user",
        content: [
          { type: "image_url", image_url: { url: image } },
          { type: "text", text: "Describe this." },
        ],
      },
    ],
    max_tokens: 4,
    ...(stream ? { stream: true } : {}),
  });
  expect(response.status).toBe(200);
  if (stream) expect((await readChatStream(response)).end).toBe("done");
  else await response.arrayBuffer();
}

/** A streamed completion whose client hangs up after the first chunks, while the GPU service still generates. */
async function hangUpOnStream(index: number): Promise<void> {
  const hangUp = new AbortController();
  const response = await postChat(
    system.edge.url,
    system.apiKey,
    {
      model: system.model.manifest.name,
      messages: [{ role: "user", content: "Tell me about the sea." }],
      max_tokens: 200,
      stream: true,
      temperature: 0.8,
      seed: index,
    },
    hangUp.signal,
  );
  expect(response.status).toBe(200);
  await readChatStream(response, (chunks) => chunks >= 3 && hangUp.abort()).catch(() => undefined);
  expect(hangUp.signal.aborted).toBe(true);
}

describe("edge memory", () => {
  it("does not keep the pixels of finished requests: workerd grows less than half an image per request", async () => {
    const pixelBytes = 3 * system.model.manifest.vision.imageSize ** 2;
    for (let i = 0; i < WARM_UP; i++) await describeNewImage(i);
    const before = workerdRss();
    for (let i = WARM_UP; i < WARM_UP + MEASURED; i++) await describeNewImage(i);
    const growthPerRequest = (workerdRss() - before) / MEASURED;
    expect(growthPerRequest, `workerd grew ${(growthPerRequest / 1024).toFixed(0)} KiB per request`).toBeLessThan(pixelBytes / 2);
  });

  it("keeps nothing of streams whose clients hung up: the isolate retains under 5 KB per cancelled stream", async () => {
    const heap = await IsolateHeap.connect(system.edge.inspectorPort);
    try {
      for (let i = 0; i < CANCELLED_WARM_UP; i++) await hangUpOnStream(i);
      const before = await heap.retainedBytes();
      for (let i = CANCELLED_WARM_UP; i < CANCELLED_WARM_UP + CANCELLED_MEASURED; i++) await hangUpOnStream(i);
      const retainedPerStream = ((await heap.retainedBytes()) - before) / CANCELLED_MEASURED;
      expect(retainedPerStream, `the isolate kept ${(retainedPerStream / 1024).toFixed(1)} KiB per cancelled stream`).toBeLessThan(
        5 * 1024,
      );
    } finally {
      heap.close();
    }
  });

  it("streams phone photos: a 12 MP upload peaks under 32 MiB of workerd, a 48 MP one under 64 MiB, and neither stays in the isolate", async () => {
    const dir = mkdtempSync(join(tmpdir(), "edge-memory-photos-"));
    try {
      const photos = [
        // The most each upload may raise workerd's resident set at its peak: the 12 MP frame alone would be 36 MiB,
        // the 48 MP one 140 MiB; the body (3.3 and 13.2 MB of multipart) is held once while the request lives.
        { name: "12 MP (4032x3024, EXIF 6)", file: pillowPhoto(dir, "12mp.jpg", 4032, 3024, { orientation: 6 }), peak: 32 * MiB },
        { name: "48 MP (8064x6048)", file: pillowPhoto(dir, "48mp.jpg", 8064, 6048), peak: 64 * MiB },
      ];
      const runtime = workerdRuntimePid(system.edge.process.pid!);
      const upload = async (file: Uint8Array) => expect((await askAboutPhoto(system, file)).status).toBe(200);
      // The isolate's own first use (the decoder module, the tokenizer) is not the photos' cost.
      await upload(pillowPhoto(dir, "small.jpg", 640, 480));
      for (const { name, file, peak: limit } of photos) {
        const peak = await peakRssGrowthBytes(runtime, () => upload(file));
        expect(peak, `${name}: workerd peaked ${(peak / MiB).toFixed(1)} MiB above its size before`).toBeLessThan(limit);
      }
      const heap = await IsolateHeap.connect(system.edge.inspectorPort);
      try {
        const before = await heap.retainedBytes();
        for (let i = 0; i < PHOTO_REPEATS; i++) for (const { file } of photos) await upload(file);
        const retained = ((await heap.retainedBytes()) - before) / (PHOTO_REPEATS * photos.length);
        expect(retained, `the isolate kept ${(retained / 1024).toFixed(1)} KiB per upload`).toBeLessThan(PHOTO_RETAINED_BYTES);
      } finally {
        heap.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
