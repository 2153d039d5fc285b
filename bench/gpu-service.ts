// GPU service benchmarks: the real service process (`node gpu-service/main.ts`, onnxruntime-node, default batching
// and cache settings) called over gRPC-web like the edge calls it, on random-weight model sets, on the CPU provider
// and on the WebGPU provider (here over the software Vulkan device, scripts/software-vulkan.sh: it measures the
// device path's host traffic and scheduling, not a GPU's speed; `npm run bench:gpu` does that on a GPU host). Per-token decode comes from the service's own timings in Generate's final message; throughput and
// request latency from the client's wall clock, so transport and streaming count as they do for a real caller.
import { join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { gpuClients, gpuMetric, randomSecret, softwareVulkanEnv, startGpuService } from "../processes/index.ts";
import { DataType, type GenerateRequestSchema, type Timings } from "../shared/gen/deepseek_vl/v1/inference_pb.js";
import type { Manifest } from "../shared/manifest/index.ts";
import { encodeTensor } from "../shared/tensor/index.ts";
import { noiseImage } from "./images.ts";
import { median } from "./median.ts";
import { BENCH_CACHE, benchModel } from "./models.ts";
import type { BenchmarkResult } from "./report.ts";
import { interleavedRounds } from "./rounds.ts";

type Fixture = { title: string; kind: "hybrid"; size: "tiny" | "vision"; description: string };

/** The model sets every benchmark here runs on: tiny (fast), and the real vision towers with a small LLM. */
const FIXTURES: readonly Fixture[] = [
  {
    title: "tiny",
    kind: "hybrid",
    size: "tiny",
    description: "tiny hybrid: tiny SAM/SigLIP, LLM hidden 16, 2 layers, vocab 102400 (fp32)",
  },
  {
    title: "full-size vision",
    kind: "hybrid",
    size: "vision",
    description: "full-size vision hybrid: SAM-B + SigLIP-L, LLM hidden 64, 2 layers, vocab 102400 (fp32)",
  },
];

const SETUP = "gpu-service process, gRPC-web client, greedy";

type Provider = "cpu" | "webgpu";

/** lavapipe takes ~0.4 s per decode step: the concurrency run there is shortened to stay within call deadlines. */
const SOFTWARE_DEVICE_TOKENS = 16;
const SOFTWARE_DEVICE_ROUNDS = 3;

/** The runs of each benchmark: CPU on both model sets; WebGPU over lavapipe on the tiny one (its towers take minutes there). */
const RUNS: readonly { fixture: Fixture; provider: Provider }[] = [
  ...FIXTURES.map((fixture) => ({ fixture, provider: "cpu" as const })),
  { fixture: FIXTURES[0]!, provider: "webgpu" },
];

type Inference = ReturnType<typeof gpuClients>["inference"];
type Request = MessageInitShape<typeof GenerateRequestSchema>;
type Service = { inference: Inference; manifest: Manifest; metric(name: string): Promise<number> };

/** Runs `work` against a freshly started service on the fixture's model set (converted once, then reused). */
async function withService<T>(
  fixture: Fixture,
  provider: Provider,
  work: (service: Service) => Promise<T>,
  env: Record<string, string> = {},
): Promise<T> {
  const { dir, manifest } = await benchModel(join(BENCH_CACHE, `${fixture.kind}-${fixture.size}`), fixture);
  const secret = randomSecret();
  const device = provider === "webgpu" ? softwareVulkanEnv() : {};
  // Prefix reuse off unless a benchmark asks for it: the others repeat prompts and measure cold prefills.
  const base = { MODEL_DIR: dir, GPU_SERVICE_EXECUTION_PROVIDERS: provider, GPU_SERVICE_PREFIX_CACHE_BYTES: "0" };
  const gpu = await startGpuService({ secret, env: { ...device, ...base, ...env } });
  const metric = (name: string) => gpuMetric(gpu.url, name);
  try {
    return await work({ inference: gpuClients(gpu.url, secret).inference, manifest, metric });
  } finally {
    await gpu.stop();
  }
}

type Outcome = { completionTokens: number; timings: Timings; wallMs: number };

/** One Generate call to its end: the service's usage and timings, and the client's wall time. */
async function generate(inference: Inference, request: Request): Promise<Outcome> {
  const started = performance.now();
  let finished;
  for await (const message of inference.generate(request)) {
    if (message.event.case === "finished") finished = message.event.value;
  }
  if (!finished?.usage || !finished.timings) throw new Error(`Generate ${request.requestId} ended without usage and timings`);
  return { completionTokens: finished.usage.completionTokens, timings: finished.timings, wallMs: performance.now() - started };
}

/** Decode time per token: the first token comes from the prefill, every further one from a decode step. */
const decodeMsPerToken = (outcome: Outcome) => outcome.timings.decodeMs / (outcome.completionTokens - 1);

const greedy = (maxNewTokens: number): Request["sampling"] => ({ temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, maxNewTokens });

/** BOS then `length - 1` copies of an ordinary text id. */
const textPrompt = (manifest: Manifest, length: number, id = 300) => [manifest.tokens.bos, ...new Array<number>(length - 1).fill(id)];

const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 1)} ms`;
const ratio = (value: number) => `${value.toFixed(2)}x`;

async function repeat<T>(runs: number, run: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < runs; i++) results.push(await run(i));
  return results;
}

export type DecodeContextOptions = { runs?: number; contexts?: [short: number, long: number]; maxNewTokens?: number };

/**
 * Per-token decode time with a long prompt against a short one (goal: at most 1.1x), and the bytes each decode
 * step moves between host memory and the decoder (goal: the same at both contexts).
 */
export async function decodeContextBenchmark(options: DecodeContextOptions = {}): Promise<BenchmarkResult> {
  const { runs = 9, contexts = [128, 2048], maxNewTokens = 64 } = options;
  const rows: BenchmarkResult["rows"] = [
    ["setup", `${SETUP}; text-only prompts, ${maxNewTokens} new tokens, median of ${runs} interleaved rounds after 1 warm-up`],
  ];
  for (const { fixture, provider } of RUNS) {
    const title = `${fixture.title}, ${provider}`;
    rows.push([title, fixture.description]);
    await withService(fixture, provider, async ({ inference, manifest, metric }) => {
      const hostBytes: Record<number, number> = {};
      const perToken = async (context: number) => {
        const [bytes, steps] = [await metric("gpu_service_decode_host_bytes_total"), await metric("gpu_service_decode_steps_total")];
        const outcome = await generate(inference, {
          requestId: `context-${context}`,
          inputIds: textPrompt(manifest, context),
          sampling: greedy(maxNewTokens),
        });
        hostBytes[context] =
          ((await metric("gpu_service_decode_host_bytes_total")) - bytes) / ((await metric("gpu_service_decode_steps_total")) - steps);
        return decodeMsPerToken(outcome);
      };
      const figures = await interleavedRounds(runs, { short: () => perToken(contexts[0]), long: () => perToken(contexts[1]) });
      const [short, long] = [median(figures.short), median(figures.long)];
      rows.push([`${title}: decode per token, prompt ${contexts[0]}`, ms(short)]);
      rows.push([`${title}: decode per token, prompt ${contexts[1]}`, ms(long)]);
      rows.push([`${title}: ratio ${contexts[1]} / ${contexts[0]} (goal <= 1.1x)`, ratio(long / short)]);
      rows.push([
        `${title}: host bytes per decode step, prompt ${contexts[0]} / ${contexts[1]}`,
        `${hostBytes[contexts[0]]} / ${hostBytes[contexts[1]]}`,
      ]);
    });
  }
  return { name: "GPU service: decode per token and host bytes vs context", rows };
}

export type ConcurrencyOptions = { runs?: number; streams?: number; promptTokens?: number; maxNewTokens?: number };

/** Aggregate generated tokens/s of concurrent streams against one stream (goal: at least 2x for 4). */
export async function concurrencyBenchmark(options: ConcurrencyOptions = {}): Promise<BenchmarkResult> {
  const { runs = 9, streams = 4, promptTokens = 128, maxNewTokens = 128 } = options;
  const rows: BenchmarkResult["rows"] = [
    [
      "setup",
      `${SETUP}; ${promptTokens}-token prompts, ${maxNewTokens} new tokens each; tokens/s = all tokens / wall time from first send to last final message; median of ${runs} interleaved rounds after 1 warm-up`,
    ],
  ];
  for (const { fixture, provider } of RUNS) {
    const title = `${fixture.title}, ${provider}`;
    rows.push([title, fixture.description]);
    await withService(fixture, provider, async ({ inference, manifest }) => {
      const together = async (count: number) => {
        const started = performance.now();
        const outcomes = await Promise.all(
          Array.from({ length: count }, (_, i) =>
            generate(inference, {
              requestId: `stream-${i}`,
              inputIds: textPrompt(manifest, promptTokens, 300 + i),
              sampling: greedy(provider === "webgpu" ? SOFTWARE_DEVICE_TOKENS : maxNewTokens),
            }),
          ),
        );
        const tokens = outcomes.reduce((sum, outcome) => sum + outcome.completionTokens, 0);
        return tokens / ((performance.now() - started) / 1000);
      };
      const rounds = provider === "webgpu" ? SOFTWARE_DEVICE_ROUNDS : runs;
      const figures = await interleavedRounds(rounds, { one: () => together(1), many: () => together(streams) });
      const [one, many] = [median(figures.one), median(figures.many)];
      rows.push([`${title}: 1 stream, aggregate`, `${one.toFixed(1)} tokens/s`]);
      rows.push([`${title}: ${streams} streams, aggregate`, `${many.toFixed(1)} tokens/s`]);
      rows.push([`${title}: aggregate ratio ${streams} / 1 (goal >= 2.5x)`, ratio(many / one)]);
    });
  }
  return { name: `GPU service: ${streams} concurrent streams vs 1`, rows };
}

export type EncoderCacheOptions = { hits?: number; tinyMisses?: number; visionMisses?: number };

/** Latency of a one-image request whose image is new (pixels sent, encoders run) against one sent by key (cache hit). */
export async function encoderCacheBenchmark(options: EncoderCacheOptions = {}): Promise<BenchmarkResult> {
  const { hits = 5, tinyMisses = 5, visionMisses = 2 } = options;
  const rows: BenchmarkResult["rows"] = [
    ["setup", `${SETUP}; BOS + one image (576 tokens) + 3 text tokens, 1 new token; latency = client wall time of the call`],
  ];
  for (const fixture of FIXTURES) {
    const misses = fixture.size === "tiny" ? tinyMisses : visionMisses;
    rows.push([fixture.title, fixture.description]);
    await withService(fixture, "cpu", async ({ inference, manifest }) => {
      const { imageSize, imageTokens } = manifest.vision;
      const inputIds = [manifest.tokens.bos, ...new Array<number>(imageTokens).fill(manifest.tokens.image), 300, 301, 302];
      const withPixels = (key: string, seed: number): Request => ({
        requestId: key,
        inputIds,
        images: [{ key, pixels: encodeTensor(DataType.UINT8, [3, imageSize, imageSize], noiseImage(imageSize, seed)) }],
        sampling: greedy(1),
      });
      const byKey = (key: string): Request => ({ requestId: key, inputIds, images: [{ key }], sampling: greedy(1) });
      // The service's readiness check already ran a one-image request through every graph: the misses need
      // no warm-up of their own (on the full-size towers each costs ~20 s), the hits one.
      const missed = await repeat(misses, (i) => generate(inference, withPixels(`image-${i}`, i)));
      await generate(inference, byKey("image-0"));
      const hit = await repeat(hits, () => generate(inference, byKey("image-0")));
      const missMs = median(missed.map((o) => o.wallMs));
      const hitMs = median(hit.map((o) => o.wallMs));
      const vision = (outcomes: Outcome[]) => ms(median(outcomes.map((o) => o.timings.visionMs)));
      rows.push([`${fixture.title}: miss (pixels sent), median of ${misses}`, `${ms(missMs)}  (service vision ${vision(missed)})`]);
      rows.push([`${fixture.title}: hit (key only), median of ${hits}`, `${ms(hitMs)}  (service vision ${vision(hit)})`]);
      rows.push([`${fixture.title}: miss / hit`, ratio(missMs / hitMs)]);
    });
  }
  return { name: "GPU service: encoder cache hit vs miss, request latency (CPU)", rows };
}

export type PrefillGapOptions = { promptTokens?: number; chunkTokens?: number };

/**
 * The largest gap between two tokens of a running stream while another request's long prompt is prefilled,
 * with the prompt prefilled in chunks against in one call (goal: at most 3 decode steps' time when chunked).
 */
export async function prefillGapBenchmark(options: PrefillGapOptions = {}): Promise<BenchmarkResult> {
  const { promptTokens = 4000, chunkTokens = 512 } = options;
  const rows: BenchmarkResult["rows"] = [
    ["setup", `${SETUP}; a stream decoding while a ${promptTokens}-token prompt arrives; gap = client-side time between two tokens`],
  ];
  for (const { fixture, provider } of RUNS) {
    const title = `${fixture.title}, ${provider}`;
    rows.push([title, fixture.description]);
    for (const chunk of [chunkTokens, promptTokens]) {
      await withService(
        fixture,
        provider,
        async ({ inference, manifest }) => {
          const arrivals: number[] = [];
          const stop = new AbortController();
          const running = (async () => {
            const request = { requestId: "running", inputIds: textPrompt(manifest, 16), sampling: greedy(4000) };
            for await (const message of inference.generate(request, { signal: stop.signal })) {
              if (message.event.case === "token") arrivals.push(performance.now());
            }
          })().catch(() => undefined);
          while (arrivals.length < 100) await new Promise((resolve) => setTimeout(resolve, 5));
          const before = arrivals.length;
          await generate(inference, { requestId: "long", inputIds: textPrompt(manifest, promptTokens, 301), sampling: greedy(1) });
          // The tokens the prefill held back arrive after it: wait for some before looking at the gaps.
          const after = arrivals.length;
          while (arrivals.length < after + 20) await new Promise((resolve) => setTimeout(resolve, 5));
          const during = arrivals.slice(before - 1);
          stop.abort();
          await running;
          const gaps = during.slice(1).map((at, i) => at - during[i]!);
          const steady = arrivals.slice(1, before).map((at, i) => at - arrivals[i]!);
          const step = median(steady);
          const worst = Math.max(...gaps);
          const label = chunk === promptTokens ? "one call" : `chunks of ${chunk}`;
          rows.push([
            `${title}: prefill in ${label}: largest gap`,
            `${ms(worst)} = ${(worst / step).toFixed(1)} decode steps (step ${ms(step)})`,
          ]);
        },
        { GPU_SERVICE_PREFILL_CHUNK_TOKENS: String(chunk) },
      );
    }
  }
  return { name: "GPU service: a running stream's largest token gap during a long prefill", rows };
}

export type PrefixReuseOptions = { reuseRuns?: number; tinyColdRuns?: number; visionColdRuns?: number };

/**
 * Time to first token of a conversation's second turn (one image) when the service holds the first turn (prompt
 * and answer, prefix reuse) against the same turn sent cold: a new image key with its pixels, a new namespace
 * (goal: at most 0.3x).
 */
export async function prefixReuseBenchmark(options: PrefixReuseOptions = {}): Promise<BenchmarkResult> {
  const { reuseRuns = 5, tinyColdRuns = 5, visionColdRuns = 2 } = options;
  const rows: BenchmarkResult["rows"] = [
    [
      "setup",
      `${SETUP}; turn 1 = BOS + one image (576 tokens) + 24 text tokens, 48 new tokens; turn 2 = turn 1 + its answer + 24 text tokens; TTFT = the service's admission to first token`,
    ],
  ];
  for (const fixture of FIXTURES) {
    rows.push([fixture.title, fixture.description]);
    const coldRuns = fixture.size === "tiny" ? tinyColdRuns : visionColdRuns;
    await withService(
      fixture,
      "cpu",
      async ({ inference, manifest }) => {
        const { imageSize, imageTokens } = manifest.vision;
        const pixels = (seed: number) => encodeTensor(DataType.UINT8, [3, imageSize, imageSize], noiseImage(imageSize, seed));
        const text = (from: number) => Array.from({ length: 24 }, (_, i) => from + i);
        const turn1 = [manifest.tokens.bos, ...new Array<number>(imageTokens).fill(manifest.tokens.image), ...text(300)];
        const answer: number[] = [];
        for await (const message of inference.generate({
          requestId: "turn-1",
          cacheNamespace: "conversation",
          inputIds: turn1,
          images: [{ key: "conversation-image", pixels: pixels(1) }],
          sampling: greedy(48),
        })) {
          if (message.event.case === "token") answer.push(message.event.value.tokenId);
        }
        const turn2 = [...turn1, ...answer, ...text(400)];
        // Turn 2 in a namespace, its image by key (held by the encoder cache) or with its pixels under a new key.
        const turn2In = (requestId: string, cacheNamespace: string, image: NonNullable<Request["images"]>[number]) =>
          generate(inference, { requestId, cacheNamespace, inputIds: turn2, images: [image], sampling: greedy(1) });
        const reused = await repeat(reuseRuns, (i) => turn2In(`reuse-${i}`, "conversation", { key: "conversation-image" }));
        const cold = await repeat(coldRuns, (i) => turn2In(`cold-${i}`, `cold-${i}`, { key: `cold-image-${i}`, pixels: pixels(1) }));
        // The image still in the encoder cache, no prefix held: what the KV reuse alone saves.
        const encoded = await repeat(reuseRuns, (i) => turn2In(`encoded-${i}`, `encoded-${i}`, { key: "conversation-image" }));
        const ttft = (outcomes: Outcome[]) => median(outcomes.map((o) => o.timings.timeToFirstTokenMs));
        const share = (value: number) => `${value.toPrecision(2)}x`;
        rows.push([`${fixture.title}: turn 2 with turn 1 held, median of ${reuseRuns}`, ms(ttft(reused))]);
        rows.push([`${fixture.title}: turn 2 cold, median of ${coldRuns}`, ms(ttft(cold))]);
        rows.push([`${fixture.title}: turn 2, image in the encoder cache, no prefix, median of ${reuseRuns}`, ms(ttft(encoded))]);
        rows.push([`${fixture.title}: held / cold (goal <= 0.3x)`, share(ttft(reused) / ttft(cold))]);
        rows.push([`${fixture.title}: held / image cached`, share(ttft(reused) / ttft(encoded))]);
      },
      { GPU_SERVICE_PREFIX_CACHE_BYTES: String(256 * 1024 * 1024) },
    );
  }
  return { name: "GPU service: time to first token of turn 2, prefix held vs cold (CPU)", rows };
}
