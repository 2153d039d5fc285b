// The edge keeps nothing of a finished request. Every new image sends its preprocessed pixels to the GPU service
// (3 MiB per image on the hybrid model's 1024 input); an edge that let a finished call's state live on (workerd
// holds on to some AbortSignals, and an abort reason's stack holds its frames' closures) grew by that much per
// request (twice: the message and its encoded copy). Here workerd's memory over a run of new images must stay
// below half an image per request; the runtime itself and the bounded caches take far less.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postChat, readChatStream, workerdRssBytes } from "../../processes/index.ts";
import { pngPhoto } from "../support/crafted-images.ts";
import { startTestSystem, type TestSystem } from "../support/system.ts";

const WARM_UP = 6;
const MEASURED = 40;

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
    messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: image } }, { type: "text", text: "Describe this." }] }],
    max_tokens: 4,
    ...(stream ? { stream: true } : {}),
  });
  expect(response.status).toBe(200);
  if (stream) expect((await readChatStream(response)).end).toBe("done");
  else await response.arrayBuffer();
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
});
