// A repeat-image chat request against a cold one, end to end through the real system (openai client -> edge in
// workerd -> GPU service on the tiny hybrid model, CPU), and the bytes each sends to the GPU service, counted by a
// TCP proxy between the two. Cold: a photo never seen (the edge preprocesses it, EncodeImages computes its SigLIP
// features, Generate carries pixels and features). Repeat: the same photo in a follow-up turn (features cached at
// the edge, the GPU service holds the image: Generate carries its key).
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { ensureDefaultModel } from "../converter/index.ts";
import { prepareEdgeAssets, type Running, randomSecret, startEdge, startGpuService } from "../processes/index.ts";
import { InferenceService } from "../shared/gen/deepseek_vl/v1/inference_pb.js";
import { type ByteCounter, startByteCounter, type Traffic } from "./byte-counter.ts";
import { median } from "./median.ts";
import { BENCH_CACHE } from "./models.ts";
import { benchPhoto } from "./pillow.ts";
import type { BenchmarkResult } from "./report.ts";

type Message = OpenAI.Chat.ChatCompletionMessageParam;
type Exchange = { ms: number; traffic: Traffic };

const PHOTO = { width: 4032, height: 3024 };
const ENCODE_IMAGES = `/${InferenceService.typeName}/${InferenceService.method.encodeImages.name}`;
/** The 7B's SigLIP features per image: [576, 1024] fp16 (the tiny model's are [576, featureDim]). */
const FEATURES_7B_BYTES = 576 * 1024 * 2;

const firstTurn = (dataUrl: string): Message[] => [
  {
    role: "user",
    content: [
      { type: "image_url", image_url: { url: dataUrl } },
      { type: "text", text: "What is in this photo?" },
    ],
  },
];
const followUp = (dataUrl: string): Message[] => [
  ...firstTurn(dataUrl),
  { role: "assistant", content: "A landscape." },
  { role: "user", content: "Tell me more." },
];
/** The follow-up without the photo: what the request costs when no image work is done anywhere. */
const textOnly: Message[] = [
  { role: "user", content: "What is in this photo?" },
  { role: "assistant", content: "A landscape." },
  { role: "user", content: "Tell me more." },
];

const kib = (bytes: number) => (bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(3)} MiB` : `${(bytes / 1024).toFixed(2)} KiB`);
const ms = (value: number) => `${value.toFixed(0)} ms`;
const byPath = (traffic: Traffic) =>
  [...traffic.byPath].map(([path, bytes]) => `${path.slice(path.lastIndexOf("/") + 1)} ${kib(bytes)}`).join(" + ");

export type RepeatImageOptions = { photos?: number; repeats?: number };

export async function repeatImageBenchmark(options: RepeatImageOptions = {}): Promise<BenchmarkResult> {
  const { photos = 5, repeats = 2 } = options;
  const dir = join(BENCH_CACHE, "tiny-hybrid");
  const manifest = await ensureDefaultModel(dir, { kind: "hybrid" });
  // Seed 1 (the preprocessing benchmark's photo) warms the system up; the others are each seen once cold.
  const paths = [];
  for (let seed = 1; seed <= photos + 1; seed++) paths.push(await benchPhoto({ ...PHOTO, seed }));
  const dataUrls = await Promise.all(paths.map(async (path) => `data:image/jpeg;base64,${(await readFile(path)).toString("base64")}`));

  const assets = await mkdtemp(join(tmpdir(), "bench-edge-assets-"));
  const secret = randomSecret();
  const apiKey = `sk-bench-${randomSecret()}`;
  let gpu: Running | undefined;
  let counter: ByteCounter | undefined;
  let edge: Running | undefined;
  try {
    await prepareEdgeAssets(dir, assets);
    gpu = await startGpuService({ secret, env: { MODEL_DIR: dir, GPU_SERVICE_EXECUTION_PROVIDERS: "cpu" } });
    counter = await startByteCounter({ host: "127.0.0.1", port: gpu.port });
    // A salt of its own gives every run new content keys: wrangler dev keeps the Cache API's entries (SigLIP
    // features) between runs, and a photo found there would not be cold.
    // The photos are 12 MP: above the edge's default pixel cap (sized for a Worker's 128 MB), so the local edge lifts it.
    const vars = {
      GPU_SERVICE_URL: counter.url,
      GPU_SERVICE_SECRET: secret,
      API_KEYS: apiKey,
      CACHE_KEY_SALT: randomSecret(),
      MAX_IMAGE_PIXELS: "16777216",
    };
    edge = await startEdge(vars, { assetsDir: assets });
    const client = new OpenAI({ baseURL: `${edge.url}/v1`, apiKey, maxRetries: 0 });
    const bytes = counter;

    const ask = async (messages: Message[]): Promise<Exchange> => {
      bytes.take();
      const started = performance.now();
      await client.chat.completions.create({ model: manifest.name, messages, max_tokens: 1 });
      return { ms: performance.now() - started, traffic: bytes.take() };
    };
    const cold: Exchange[] = [];
    const repeat: Exchange[] = [];
    const text: Exchange[] = [];
    for (const [i, url] of dataUrls.entries()) {
      const first = await ask(firstTurn(url));
      const again: Exchange[] = [];
      for (let r = 0; r < repeats; r++) again.push(await ask(followUp(url)));
      const plain = await ask(textOnly);
      if (i === 0) continue; // warm-up: the isolate loads the model files, the tokenizer and the codecs
      if (!first.traffic.byPath.has(ENCODE_IMAGES)) throw new Error(`photo ${i} was not cold: the edge did not call EncodeImages`);
      cold.push(first);
      repeat.push(...again);
      text.push(plain);
    }

    const coldUp = median(cold.map((e) => e.traffic.upstream));
    const repeatUp = median(repeat.map((e) => e.traffic.upstream));
    const [coldMs, repeatMs] = [median(cold.map((e) => e.ms)), median(repeat.map((e) => e.ms))];
    const { imageSize, imageTokens, featureDim } = manifest.vision;
    const cold7b = coldUp + (FEATURES_7B_BYTES - imageTokens * featureDim * 2);
    return {
      name: "edge: repeat-image request vs cold, end to end, and bytes to the GPU service",
      rows: [
        [
          "setup",
          `openai client -> edge (workerd) -> byte-counting TCP proxy -> GPU service (${manifest.name}, CPU); SIGLIP_PLACEMENT gpu; max_tokens 1, non-streaming`,
        ],
        [
          "photos",
          `${photos} distinct ${PHOTO.width}x${PHOTO.height} JPEGs (EXIF orientation 6) as data: URLs, after 1 warm-up photo; ${repeats} follow-ups each`,
        ],
        [
          "what travels",
          `cold: pixels uint8 [3,${imageSize},${imageSize}] to EncodeImages, then again to Generate with the fp16 features [${imageTokens},${featureDim}]; repeat: the key`,
        ],
        [`cold, end to end (median of ${cold.length})`, ms(coldMs)],
        [`repeat, end to end (median of ${repeat.length})`, ms(repeatMs)],
        ["repeat / cold time", `${(repeatMs / coldMs).toFixed(2)}x`],
        [`the follow-up without the photo, end to end (median of ${text.length})`, ms(median(text.map((e) => e.ms)))],
        ["cold, bytes to the GPU service (HTTP/1.1 + gRPC-web, EncodeImages included)", `${kib(coldUp)}  (${byPath(cold[0]!.traffic)})`],
        ["repeat, bytes to the GPU service", `${kib(repeatUp)}  (${byPath(repeat[0]!.traffic)})`],
        ["repeat / cold bytes (goal <= 1 %)", `${((100 * repeatUp) / coldUp).toFixed(3)} %`],
        [
          "bytes back from the GPU service: cold / repeat",
          `${kib(median(cold.map((e) => e.traffic.downstream)))} / ${kib(median(repeat.map((e) => e.traffic.downstream)))}`,
        ],
        [
          `cold with the 7B's [576,1024] features instead (computed)`,
          `${kib(cold7b)}; repeat / cold ${((100 * repeatUp) / cold7b).toFixed(3)} %`,
        ],
      ],
    };
  } finally {
    await Promise.all([edge?.stop(), gpu?.stop(), counter?.close()]);
    await rm(assets, { recursive: true, force: true });
  }
}
