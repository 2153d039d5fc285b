// Vision encodes per distinct image across GPU service replicas: the edge's cache-affine routing (rendezvous on the
// image's content key) against random routing of the same requests, on 3 replicas of the tiny hybrid model (CPU).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureDefaultModel } from "../converter/index.ts";
import {
  encodePng,
  gpuClients,
  postChat,
  prepareEdgeAssets,
  type Running,
  randomSecret,
  startEdge,
  startGpuService,
} from "../processes/index.ts";
import { DataType } from "../shared/gen/deepseek_vl/v1/inference_pb.js";
import { encodeTensor } from "../shared/tensor/index.ts";
import { noiseImage } from "./images.ts";
import { BENCH_CACHE } from "./models.ts";
import type { BenchmarkResult } from "./report.ts";

const SAM_ENCODES = 'gpu_service_vision_images_encoded{graph="sam"}';

async function samEncodes(gpus: readonly Running[]): Promise<number> {
  let total = 0;
  for (const gpu of gpus) {
    const text = await (await fetch(`${gpu.url}/metrics`)).text();
    const line = text.split("\n").find((row) => row.startsWith(`${SAM_ENCODES} `));
    total += Number(line?.slice(line.lastIndexOf(" ") + 1) ?? 0);
  }
  return total;
}

/** An RGB image as a PNG data URL, different for each seed. */
function photo(seed: number): string {
  const size = 96;
  const chw = noiseImage(size, seed);
  const rgb = new Uint8Array(chw.length);
  for (let i = 0; i < size * size; i++) for (let c = 0; c < 3; c++) rgb[i * 3 + c] = chw[c * size * size + i]!;
  return `data:image/png;base64,${Buffer.from(encodePng(rgb, size, size)).toString("base64")}`;
}

export type ReplicaAffinityOptions = { replicas?: number; images?: number; sends?: number };

export async function replicaAffinityBenchmark(options: ReplicaAffinityOptions = {}): Promise<BenchmarkResult> {
  const { replicas = 3, images = 10, sends = 3 } = options;
  const dir = join(BENCH_CACHE, "tiny-hybrid");
  const manifest = await ensureDefaultModel(dir, { kind: "hybrid" });
  const assets = await mkdtemp(join(tmpdir(), "bench-edge-assets-"));
  const secret = randomSecret();
  const apiKey = `sk-bench-${randomSecret()}`;
  const started: Running[] = [];
  try {
    await prepareEdgeAssets(dir, assets);
    const env = { MODEL_DIR: dir, GPU_SERVICE_EXECUTION_PROVIDERS: "cpu" };
    const gpus = await Promise.all(Array.from({ length: replicas }, () => startGpuService({ secret, env })));
    started.push(...gpus);
    const vars = {
      GPU_SERVICE_URLS: gpus.map((gpu) => gpu.url).join(","),
      GPU_SERVICE_SECRET: secret,
      API_KEYS: apiKey,
      CACHE_KEY_SALT: randomSecret(),
    };
    const edge = await startEdge(vars, { assetsDir: assets });
    started.push(edge);

    // Affinity: each image sent `sends` times through the edge, each time in a new conversation.
    let before = await samEncodes(gpus);
    for (let send = 0; send < sends; send++) {
      for (let image = 0; image < images; image++) {
        const messages = [
          {
            role: "user",
            content: [
              { type: "text", text: `Conversation ${send}: what is this?` },
              { type: "image_url", image_url: { url: photo(image) } },
            ],
          },
        ];
        const response = await postChat(edge.url, apiKey, { model: manifest.name, messages, max_tokens: 1 });
        if (response.status !== 200) throw new Error(`the edge answered ${response.status}: ${await response.text()}`);
        await response.arrayBuffer();
      }
    }
    const affine = (await samEncodes(gpus)) - before;

    // Random: the same sends, each to a replica drawn at random (each replica encodes an image the first time it
    // sees it, and holds it after), new keys so that nothing from the run above is reused.
    before = await samEncodes(gpus);
    const { imageSize, imageTokens } = manifest.vision;
    const inputIds = [manifest.tokens.bos, ...new Array<number>(imageTokens).fill(manifest.tokens.image), 300, 301];
    for (let send = 0; send < sends; send++) {
      for (let image = 0; image < images; image++) {
        const gpu = gpus[Math.floor(Math.random() * gpus.length)]!;
        const pixels = encodeTensor(DataType.UINT8, [3, imageSize, imageSize], noiseImage(imageSize, 1000 + image));
        for await (const _ of gpuClients(gpu.url, secret).inference.generate({
          requestId: `random-${send}-${image}`,
          cacheNamespace: `random-${send}`,
          inputIds,
          images: [{ key: `random-image-${image}`, pixels }],
          sampling: { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, maxNewTokens: 1 },
        })) {
          // drained
        }
      }
    }
    const random = (await samEncodes(gpus)) - before;
    const expected = replicas * (1 - ((replicas - 1) / replicas) ** sends);
    return {
      name: `replicas: vision encodes per distinct image, ${replicas} GPU service replicas`,
      rows: [
        ["setup", `${images} distinct images, each sent ${sends} times (new conversation each time); SAM encodes summed over replicas`],
        ["cache-affine routing (the edge), goal 1", (affine / images).toFixed(2)],
        ["random routing", `${(random / images).toFixed(2)}  (expected ${expected.toFixed(2)})`],
      ],
    };
  } finally {
    await Promise.all(started.map((process) => process.stop()));
    await rm(assets, { recursive: true, force: true });
  }
}
