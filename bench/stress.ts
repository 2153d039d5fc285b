// `npm run stress [-- --minutes 10 --concurrency 4 --sample-seconds 5 --warmup-minutes 1 --max-growth 10 --control-seconds 60
//   --provider cpu|webgpu]`:
// a soak of the whole system on loopback (the real GPU service process and the edge Worker in workerd, on the
// embedded tiny model). Mixed traffic through the edge — text and images (new and repeated), JSON and SSE,
// some streams cancelled mid-way — for a fixed time, with the RSS of the GPU service and of workerd sampled
// throughout, and the Worker isolate's own memory (JavaScript heap and ArrayBuffer stores, through the inspector):
// what the edge's code holds, sampled every second and, exactly, from heap snapshots after the warm-up and at the end. The local runtime (workerd under wrangler) grows by itself with every request,
// whatever the Worker, so workerd's RSS is reported beside a control run of a trivial Worker in the same runtime,
// not judged. Prints the samples, the requests by outcome, and a verdict: the GPU service's RSS is flat when the
// mean of the last third of the post-warm-up samples is within --max-growth % of the first third's, the isolate
// when its retained memory at the end is within --max-growth % of that after the warm-up, and workerd never
// restarts (a restart would hide growth). Never part of `npm test`; it stops by
// itself at the end of its time.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ensureDefaultModel } from "../converter/index.ts";
import {
  descendantPids,
  encodePng,
  IsolateHeap,
  postChat,
  prepareEdgeAssets,
  ROOT,
  type Running,
  randomSecret,
  readChatStream,
  rssBytes,
  softwareVulkanEnv,
  startEdge,
  startGpuService,
  totalRssBytes,
  workerdRssBytes,
} from "../processes/index.ts";
import type { Manifest } from "../shared/manifest/index.ts";
import { noiseImage } from "./images.ts";

const { values: flags } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    concurrency: { type: "string", default: "4" },
    "sample-seconds": { type: "string", default: "5" },
    "warmup-minutes": { type: "string", default: "1" },
    "max-growth": { type: "string", default: "10" },
    "control-seconds": { type: "string", default: "60" },
    /** The GPU service's execution provider; webgpu runs here over the software Vulkan device (device-resident KV). */
    provider: { type: "string", default: "cpu" },
  },
});
const provider = flags.provider;
if (provider !== "cpu" && provider !== "webgpu") {
  console.error(`stress: --provider must be cpu or webgpu, got ${provider}`);
  process.exit(2);
}

const options = {
  durationMs: Number(flags.minutes) * 60_000,
  concurrency: Number(flags.concurrency),
  sampleMs: Number(flags["sample-seconds"]) * 1000,
  warmupMs: Number(flags["warmup-minutes"]) * 60_000,
  maxGrowthPercent: Number(flags["max-growth"]),
  controlMs: Number(flags["control-seconds"]) * 1000,
};
for (const [name, value] of Object.entries(options)) {
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`stress: ${name} must be a positive number, got ${value}`);
    process.exit(2);
  }
}
if (options.warmupMs >= options.durationMs) {
  console.error("stress: --warmup-minutes must be shorter than --minutes");
  process.exit(2);
}

/** The longest any one request may take before it counts as hung (and is abandoned). */
const REQUEST_GUARD_MS = 120_000;
/** The isolate's memory is the lowest reading over this long: garbage collection runs at least that often. */
const ISOLATE_WINDOW_MS = 30_000;
/** Images the "repeated" traffic draws from: after their first use they travel as keys. */
const REPEATED_IMAGES = 4;
/** Caches small enough to fill during warm-up, so their growth is not mistaken for a leak afterwards. */
const GPU_ENCODER_CACHE_BYTES = 4 * 1024 * 1024;
const EDGE_FEATURE_CACHE_BYTES = 2 * 1024 * 1024;

type Kind = "text" | "text-stream" | "new-image" | "repeated-image" | "cancelled-stream";
/** Share of each kind of request in the traffic (sums to 1). */
const MIX: [Kind, number][] = [
  ["text", 0.3],
  ["text-stream", 0.2],
  ["new-image", 0.15],
  ["repeated-image", 0.2],
  ["cancelled-stream", 0.15],
];

/** A small seeded generator (mulberry32): the same traffic on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const dataUrl = (size: number, seed: number) =>
  `data:image/png;base64,${Buffer.from(encodePng(noiseImage(size, seed), size, size)).toString("base64")}`;

type Sample = {
  atMs: number;
  gpuRss: number;
  workerdRss: number;
  isolateMemory: number;
  workerdRestarts: number;
  finished: number;
  inFlight: number;
};

class Soak {
  readonly outcomes = new Map<string, number>();
  readonly samples: Sample[] = [];
  finished = 0;
  inFlight = 0;
  readonly #edge: Running;
  readonly #manifest: Manifest;
  readonly #apiKey: string;
  readonly #repeated = Array.from({ length: REPEATED_IMAGES }, (_, i) => dataUrl(160 + 32 * i, 10_000 + i));
  #newImages = 0;

  constructor(edge: Running, manifest: Manifest, apiKey: string) {
    this.#edge = edge;
    this.#manifest = manifest;
    this.#apiKey = apiKey;
  }

  count(outcome: string): void {
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
  }

  /** One worker: requests back to back until the deadline. */
  async worker(id: number, deadline: number): Promise<void> {
    const next = random(id + 1);
    while (Date.now() < deadline) {
      const pick = next();
      let sum = 0;
      const kind = MIX.find(([, share]) => (sum += share) > pick)?.[0] ?? "text";
      this.inFlight++;
      try {
        this.count(await this.request(kind, next));
      } catch (error) {
        this.count(`${kind}: client error ${(error as Error).name}: ${(error as Error).message}`);
      } finally {
        this.inFlight--;
        this.finished++;
      }
    }
  }

  /** One request of `kind`; resolves with its outcome label. */
  async request(kind: Kind, next: () => number): Promise<string> {
    const image =
      kind === "new-image"
        ? dataUrl(96 + Math.floor(next() * 224), 1 + this.#newImages++)
        : kind === "repeated-image"
          ? this.#repeated[Math.floor(next() * REPEATED_IMAGES)]!
          : undefined;
    const stream = kind === "text-stream" || kind === "cancelled-stream" || (image !== undefined && next() < 0.5);
    const content =
      image === undefined
        ? "Tell me about the sea."
        : [
            { type: "image_url", image_url: { url: image } },
            { type: "text", text: "Describe this." },
          ];
    const sampled = next() < 0.5;
    const body = {
      model: this.#manifest.name,
      messages: [{ role: "user", content }],
      max_tokens: kind === "cancelled-stream" ? 400 : 8 + Math.floor(next() * 40),
      ...(sampled ? { temperature: 0.8, seed: Math.floor(next() * 1e9) } : {}),
      ...(stream ? { stream: true } : {}),
    };
    const cancel = new AbortController();
    const signal = AbortSignal.any([cancel.signal, AbortSignal.timeout(REQUEST_GUARD_MS)]);
    const response = await postChat(this.#edge.url, this.#apiKey, body, signal);
    const label = `${kind}${stream ? " (SSE)" : ""}: ${response.status}`;
    if (response.status !== 200 || !stream) {
      await response.arrayBuffer();
      return label;
    }
    const cancelAfter = kind === "cancelled-stream" ? 2 + Math.floor(next() * 5) : Infinity;
    try {
      const ended = await readChatStream(response, (chunks) => chunks >= cancelAfter && cancel.abort());
      return `${label} ${ended.end === "error" ? `error event ${ended.error?.code}` : ended.end}`;
    } catch (error) {
      if (cancel.signal.aborted) return `${label} cancelled by the client`;
      throw error;
    }
  }
}

/** Mean of the first and last thirds of `values`, and the growth between them in %. */
function growth(values: number[]): { first: number; last: number; percent: number } {
  const third = Math.max(1, Math.floor(values.length / 3));
  const mean = (part: number[]) => part.reduce((sum, value) => sum + value, 0) / part.length;
  const first = mean(values.slice(0, third));
  const last = mean(values.slice(-third));
  return { first, last, percent: ((last - first) / first) * 100 };
}

/** Least-squares slope of memory over requests done: bytes per request. */
function bytesPerRequest(points: [requests: number, bytes: number][]): number {
  const n = points.length;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  const covariance = points.reduce((sum, [x, y]) => sum + (x - meanX) * (y - meanY), 0);
  const variance = points.reduce((sum, [x]) => sum + (x - meanX) ** 2, 0);
  return variance === 0 ? 0 : covariance / variance;
}

/**
 * What the runtime itself grows per request: the benchmarks' Worker answering 404 to GETs, at the soak's
 * concurrency, its workerd RSS sampled as the edge's is (the first fifth of the run is warm-up).
 */
async function runtimeControl({ controlMs, concurrency, sampleMs }: typeof options): Promise<number> {
  const control = await startEdge({}, { config: "bench/worker/wrangler.toml" });
  try {
    let done = 0;
    const points: [number, number][] = [];
    const started = Date.now();
    const sampler = setInterval(
      () => {
        if (Date.now() - started >= controlMs / 5) points.push([done, workerdRssBytes(control.process.pid!)]);
      },
      Math.min(sampleMs, controlMs / 10),
    );
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (Date.now() - started < controlMs) {
          await (await fetch(`${control.url}/`, { signal: AbortSignal.timeout(REQUEST_GUARD_MS) })).arrayBuffer();
          done++;
        }
      }),
    );
    clearInterval(sampler);
    return bytesPerRequest(points);
  } finally {
    await control.stop();
  }
}

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const kib = (bytes: number) => (bytes / 1024).toFixed(1);
const signed = (percent: number) => `${percent >= 0 ? "+" : ""}${percent.toFixed(1)}`;
const clock = (ms: number) =>
  `${String(Math.floor(ms / 60_000)).padStart(2, "0")}:${String(Math.floor((ms % 60_000) / 1000)).padStart(2, "0")}`;

async function main(): Promise<boolean> {
  const modelDir = join(ROOT, ".cache/default-model");
  const manifest = await ensureDefaultModel(modelDir);
  const assets = await mkdtemp(join(tmpdir(), "stress-edge-assets-"));
  await prepareEdgeAssets(modelDir, assets);
  const secret = randomSecret();
  const apiKey = `sk-stress-${randomSecret()}`;
  const running: Running[] = [];
  const stopAll = async () => {
    await Promise.all(running.map((each) => each.stop()));
    await rm(assets, { recursive: true, force: true });
  };
  // The processes run detached (their own process groups): stop them when this runner is interrupted.
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void stopAll().then(() => process.exit(130)));

  try {
    const gpu = await startGpuService({
      secret,
      env: {
        ...(provider === "webgpu" ? softwareVulkanEnv() : {}),
        MODEL_DIR: modelDir,
        GPU_SERVICE_EXECUTION_PROVIDERS: provider,
        GPU_SERVICE_ENCODER_CACHE_BYTES: String(GPU_ENCODER_CACHE_BYTES),
      },
    });
    running.push(gpu);
    const edge = await startEdge(
      { GPU_SERVICE_URL: gpu.url, GPU_SERVICE_SECRET: secret, API_KEYS: apiKey, FEATURE_CACHE_BYTES: String(EDGE_FEATURE_CACHE_BYTES) },
      { assetsDir: assets },
    );
    running.push(edge);
    // wrangler runs workerd processes (its entry proxy and the Worker's runtime) and may replace them: they
    // are looked up at every sample, and a pid that disappears counts as a restart.
    const seenWorkerd = new Set(descendantPids(edge.process.pid!, "workerd"));
    if (seenWorkerd.size === 0) throw new Error("no workerd process found under wrangler");
    let workerdRestarts = 0;
    const workerdRss = () => {
      const current = descendantPids(edge.process.pid!, "workerd");
      for (const pid of seenWorkerd) {
        if (current.includes(pid)) continue;
        workerdRestarts++;
        seenWorkerd.delete(pid);
      }
      for (const pid of current) seenWorkerd.add(pid);
      return totalRssBytes(current);
    };

    // The isolate's memory (heap and ArrayBuffer stores), read every second; a sample is the lowest reading
    // of the last 30 s, which is close to what survives garbage collection.
    const heap = await IsolateHeap.connect(edge.inspectorPort);
    const heapReadings: { atMs: number; bytes: number }[] = [];
    const readHeap = async () => {
      const usage = await heap.usage();
      const now = Date.now();
      heapReadings.push({ atMs: now, bytes: usage.usedBytes + usage.backingStoreBytes });
      while (heapReadings[0]!.atMs < now - ISOLATE_WINDOW_MS) heapReadings.shift();
    };
    const heapLow = () => Math.min(...heapReadings.map((reading) => reading.bytes));
    await readHeap();
    const heapReader = setInterval(() => void readHeap().catch(() => undefined), 1000);

    console.log(
      `stress: ${flags.minutes} min, ${options.concurrency} concurrent clients, RSS every ${flags["sample-seconds"]} s, warm-up ${flags["warmup-minutes"]} min`,
    );
    console.log(`model ${manifest.name} on ${provider}; GPU service pid ${gpu.process.pid}; workerd pids ${[...seenWorkerd].join(", ")}`);
    console.log(`traffic: ${MIX.map(([kind, share]) => `${kind} ${Math.round(share * 100)}%`).join(", ")}\n`);
    console.log("  time   GPU RSS MiB  workerd RSS MiB  isolate MiB  workerd restarts  requests done  in flight");

    const soak = new Soak(edge, manifest, apiKey);
    const started = Date.now();
    const sample = () => {
      const entry = {
        atMs: Date.now() - started,
        gpuRss: rssBytes(gpu.process.pid!) ?? 0,
        workerdRss: workerdRss(),
        isolateMemory: heapLow(),
        workerdRestarts,
        finished: soak.finished,
        inFlight: soak.inFlight,
      };
      soak.samples.push(entry);
      const phase = entry.atMs < options.warmupMs ? "  (warm-up)" : "";
      console.log(
        `  ${clock(entry.atMs)}  ${mib(entry.gpuRss).padStart(11)}  ${mib(entry.workerdRss).padStart(15)}  ${mib(entry.isolateMemory).padStart(11)}  ${String(entry.workerdRestarts).padStart(16)}  ` +
          `${String(entry.finished).padStart(13)}  ${String(entry.inFlight).padStart(9)}${phase}`,
      );
    };
    sample();
    const sampler = setInterval(sample, options.sampleMs);
    const deadline = started + options.durationMs;
    // What the isolate retains (after a full collection) when the warm-up ends, and again at the end.
    const retainedAfterWarmUp = new Promise<number>((resolve, reject) =>
      setTimeout(() => heap.retainedBytes().then(resolve, reject), options.warmupMs),
    );
    await Promise.all(Array.from({ length: options.concurrency }, (_, id) => soak.worker(id, deadline)));
    const retained = { first: await retainedAfterWarmUp, last: await heap.retainedBytes() };
    clearInterval(sampler);
    sample();
    clearInterval(heapReader);
    heap.close();

    const health = await fetch(`${edge.url}/healthz`, { signal: AbortSignal.timeout(10_000) });
    const measured = soak.samples.filter((entry) => entry.atMs >= options.warmupMs);
    const gpuRss = growth(measured.map((entry) => entry.gpuRss));
    const isolatePercent = ((retained.last - retained.first) / retained.first) * 100;
    const verdicts = [gpuRss.percent <= options.maxGrowthPercent, isolatePercent <= options.maxGrowthPercent];
    console.log(
      `  GPU service  first third ${mib(gpuRss.first)} MiB, last third ${mib(gpuRss.last)} MiB: ${signed(gpuRss.percent)}% ${verdicts[0] ? "flat" : "GROWING"}`,
    );
    console.log(
      `  isolate      retained after a full collection: ${mib(retained.first)} MiB after warm-up, ${mib(retained.last)} MiB at the end: ` +
        `${signed(isolatePercent)}% ${verdicts[1] ? "flat" : "GROWING"}`,
    );
    const workerd = growth(measured.map((entry) => entry.workerdRss));
    const edgePerRequest = bytesPerRequest(measured.map((entry) => [entry.finished, entry.workerdRss]));
    console.log(`\ncontrol: a trivial Worker in the same runtime for ${flags["control-seconds"]} s ...`);
    const controlPerRequest = await runtimeControl(options);
    console.log(
      `  workerd      first third ${mib(workerd.first)} MiB, last third ${mib(workerd.last)} MiB: ${signed(workerd.percent)}%, ` +
        `${kib(edgePerRequest)} KiB per request; the runtime alone: ${kib(controlPerRequest)} KiB per request (reported, not judged)` +
        `${workerdRestarts > 0 ? `; RESTARTED ${workerdRestarts} time(s)` : ""}`,
    );
    verdicts.push(workerdRestarts === 0);

    console.log(`\nrequests by outcome (${soak.finished} in ${clock(Date.now() - started)}):`);
    for (const [outcome, count] of [...soak.outcomes].sort((a, b) => b[1] - a[1]))
      console.log(`  ${String(count).padStart(6)}  ${outcome}`);
    const truncated = [...soak.outcomes.keys()].filter((outcome) => outcome.endsWith(" truncated"));
    const warnings = [
      ...new Set(
        edge
          .output()
          .split("\n")
          .filter((line) => /error|exceeded|crash|restart|memory|fatal/i.test(line)),
      ),
    ];
    if (warnings.length > 0)
      console.log(
        `\nwrangler/workerd log lines worth a look (${warnings.length}):\n${warnings
          .slice(0, 20)
          .map((line) => `  ${line.slice(0, 300)}`)
          .join("\n")}`,
      );
    console.log(`\nedge /healthz at the end: ${health.status}`);
    const flat = verdicts.every(Boolean);
    const verdict = flat && health.status === 200 && truncated.length === 0;
    console.log(
      `verdict: ${verdict ? "PASS" : "FAIL"} — GPU service and isolate memory ${flat ? "flat" : "growing, or workerd restarted,"} after warm-up (allowed +${options.maxGrowthPercent}%), ` +
        `${truncated.length === 0 ? "no stream truncated" : "truncated streams"}, edge ${health.status === 200 ? "healthy" : "unhealthy"}`,
    );
    return verdict;
  } finally {
    await stopAll();
  }
}

process.exit((await main()) ? 0 : 1);
