// Faults between the edge (real workerd) and the GPU service (real process, tiny model) on loopback: the
// service killed mid-stream, a service that accepts and never answers, a client that hangs up, and SIGTERM
// with streams in flight. Every stream a client sees ends with `[DONE]` or an error event, never silently.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ChatStream,
  postChat,
  prepareEdgeAssets,
  type Running,
  randomSecret,
  readChatStream,
  startEdge,
  startGpuService,
} from "../../processes/index.ts";
import type { Manifest } from "../../shared/manifest/index.ts";
import { readJson } from "../support/json.ts";
import { gpuMetric, waitFor } from "../support/metrics.ts";
import { tinyModel } from "../support/models.ts";
import { type StalledServer, startStalledServer } from "../support/stalled-server.ts";

/** On SIGTERM, in-flight calls may run on this long: short streams finish within it, long ones cannot. */
const SHUTDOWN_GRACE_MS = 3000;
/** Long enough to outlive any step of these tests (the tiny model decodes a few hundred tokens a second here). */
const LONG = 2000;

const secret = randomSecret();
const apiKey = `sk-test-${randomSecret()}`;
let model: { dir: string; manifest: Manifest };
let assets: string;
let gpu: Running & { grpcPort: number };
let edge: Running;

/** (Re)starts the GPU service; a restart takes the same ports, so the running edge finds it again. */
function startGpu(ports?: { port: number; grpcPort: number }) {
  return startGpuService({
    secret,
    ...(ports && { port: ports.port, grpcPort: ports.grpcPort }),
    env: { MODEL_DIR: model.dir, GPU_SERVICE_EXECUTION_PROVIDERS: "cpu", GPU_SERVICE_SHUTDOWN_GRACE_MS: String(SHUTDOWN_GRACE_MS) },
  });
}

beforeAll(async () => {
  model = await tinyModel("hybrid");
  assets = await mkdtemp(join(tmpdir(), "edge-assets-faults-"));
  await prepareEdgeAssets(model.dir, assets);
  gpu = await startGpu();
  edge = await startEdge({ GPU_SERVICE_URL: gpu.url, GPU_SERVICE_SECRET: secret, API_KEYS: apiKey }, { assetsDir: assets });
});

afterAll(async () => {
  await Promise.all([edge?.stop(), gpu?.stop()]);
  if (assets) await rm(assets, { recursive: true, force: true });
});

const chat = (maxTokens: number, extra: object = {}) => ({
  model: model.manifest.name,
  messages: [{ role: "user", content: "Tell me a long story about the sea." }],
  max_tokens: maxTokens,
  ...extra,
});
const streamed = (maxTokens: number) => chat(maxTokens, { stream: true, stream_options: { include_usage: true } });
const metric = (name: string) => gpuMetric(gpu.url, name);

/** A request served end to end: the edge works with the GPU service as it is now. */
async function expectServing(): Promise<void> {
  const response = await postChat(edge.url, apiKey, chat(4), AbortSignal.timeout(30_000));
  expect(response.status).toBe(200);
  expect((await readJson(response)).usage.completion_tokens).toBe(4);
  const stream = await readChatStream(await postChat(edge.url, apiKey, streamed(4), AbortSignal.timeout(30_000)));
  expect(stream).toMatchObject({ end: "done", usage: { completion_tokens: 4 } });
}

/** A stream the protocol allows: `[DONE]` after a finish reason, or an error event, and nothing after either. */
function expectTerminated(stream: ChatStream): void {
  expect(stream.end).not.toBe("truncated");
  expect(stream.eventsAfterEnd).toBe(0);
  if (stream.end === "done") expect(stream.finishReason).not.toBeNull();
}

describe("a client that disconnects", () => {
  it("stops the GPU loop: no more tokens are generated for it and no sequence stays active", async () => {
    const before = await metric("gpu_service_generated_tokens_total");
    const hangUp = new AbortController();
    const response = await postChat(edge.url, apiKey, streamed(LONG), hangUp.signal);
    let received = 0;
    await readChatStream(response, (chunks) => {
      received = chunks;
      if (chunks === 5) hangUp.abort();
    }).catch((error: unknown) => {
      if (!hangUp.signal.aborted) throw error;
    });
    // Events already read when the abort landed are still counted: at least the five.
    expect(received).toBeGreaterThanOrEqual(5);

    await waitFor(async () => (await metric("gpu_service_sequences_active")) === 0, "the sequence to leave the batch");
    const stopped = await metric("gpu_service_generated_tokens_total");
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await metric("gpu_service_generated_tokens_total")).toBe(stopped);
    expect(await metric("gpu_service_queue_depth")).toBe(0);
    // The stream ended long before its max_tokens: the hang-up, not the length, stopped it.
    expect(stopped - before).toBeLessThan(LONG);
    await expectServing();
  });
});

describe("SIGTERM with streams in flight", () => {
  it("finishes the streams that fit in the grace period, ends the rest with an error event, truncates none", async () => {
    const lengths = [40, 40, LONG, LONG];
    const firstChunks: Promise<void>[] = [];
    const streams = lengths.map(async (maxTokens) => {
      let arrived!: () => void;
      firstChunks.push(new Promise((resolve) => (arrived = resolve)));
      const response = await postChat(edge.url, apiKey, streamed(maxTokens), AbortSignal.timeout(60_000));
      expect(response.status).toBe(200);
      return readChatStream(response, arrived);
    });
    try {
      // Every stream has a token out (or has already ended), then the signal.
      await Promise.all(firstChunks.map((first, i) => Promise.race([first, streams[i]!.then(() => undefined)])));
      process.kill(-gpu.process.pid!, "SIGTERM");
      await waitFor(async () => (await fetch(`${gpu.url}/healthz`).catch(() => undefined))?.status !== 200, "the service to drain");
      // Draining: new work is refused with 503 and Retry-After.
      const refused = await postChat(edge.url, apiKey, chat(4), AbortSignal.timeout(30_000));
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
      expect((await readJson(refused)).error).toMatchObject({ code: "gpu_unavailable", type: "server_error" });

      const ended = await Promise.all(streams);
      ended.forEach(expectTerminated);
      ended.forEach((stream, i) => {
        if (lengths[i] === LONG) {
          expect(stream.end).toBe("error");
          expect(stream.error).toMatchObject({ code: "gpu_unavailable", type: "server_error" });
        } else {
          expect(stream.end).toBe("done");
          expect(stream.usage?.completion_tokens).toBe(lengths[i]);
        }
      });
      expect(await gpu.stop()).toBe(0);
    } finally {
      await gpu.stop();
      gpu = await startGpu(gpu);
    }
    await expectServing();
  });
});

describe("the GPU service killed mid-stream", () => {
  it("ends the client's stream with an error event within 2 s, and the edge serves again once the service is back", async () => {
    const hang = new AbortController();
    const response = await postChat(edge.url, apiKey, streamed(LONG), hang.signal);
    expect(response.status).toBe(200);
    let stream: ChatStream;
    try {
      stream = await readChatStream(response, (chunks) => {
        if (chunks !== 3) return;
        process.kill(-gpu.process.pid!, "SIGKILL");
        // The hang guard: a stream still open 2 s after the kill fails the test here.
        setTimeout(() => hang.abort(new Error("the stream did not end within 2 s of the kill")), 2000).unref();
      });
    } finally {
      await gpu.stop();
      gpu = await startGpu(gpu);
    }
    expectTerminated(stream);
    expect(stream.chunks).toBeGreaterThanOrEqual(3);
    await expectServing();
    // A connection lost mid-call is UNAVAILABLE (gRPC statuscodes.md), which the edge reports as 503 gpu_unavailable.
    expect(stream.end).toBe("error");
    expect(stream.error).toMatchObject({ code: "gpu_unavailable", type: "server_error" });
  });
});

describe("a GPU service that accepts connections and never answers (edge deadline GPU_TIMEOUT_MS 1500)", () => {
  let stalled: StalledServer;
  let stalledEdge: Running;
  const guard = () => AbortSignal.timeout(30_000);

  beforeAll(async () => {
    stalled = await startStalledServer();
    stalledEdge = await startEdge(
      { GPU_SERVICE_URL: stalled.url, GPU_SERVICE_SECRET: secret, API_KEYS: apiKey, GPU_TIMEOUT_MS: "1500", GPU_HEALTH_TIMEOUT_MS: "1000" },
      { assetsDir: assets },
    );
  });

  afterAll(async () => {
    await stalledEdge?.stop();
    await stalled?.close();
  });

  it("answers a completion 504 gpu_timeout at the deadline", async () => {
    const response = await postChat(stalledEdge.url, apiKey, chat(8), guard());
    expect(response.status).toBe(504);
    expect((await readJson(response)).error).toMatchObject({ code: "gpu_timeout", type: "server_error" });
    // The edge did reach the stalled server: the 504 is its deadline, not a refused connection.
    expect(stalled.connections()).toBeGreaterThan(0);
  });

  it("answers a streaming completion 504 too: the deadline passes before the first token, before any byte of the stream", async () => {
    const response = await postChat(stalledEdge.url, apiKey, streamed(8), guard());
    expect(response.status).toBe(504);
    expect((await readJson(response)).error).toMatchObject({ code: "gpu_timeout", type: "server_error" });
  });

  it("answers /healthz 503 with Retry-After at the health deadline", async () => {
    const health = await fetch(`${stalledEdge.url}/healthz`, { signal: guard() });
    expect(health.status).toBe(503);
    expect(health.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
    expect((await readJson(health)).gpu.replicas[0].reachable).toBe(false);
  });
});
