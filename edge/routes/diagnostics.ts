import { ConnectError } from "@connectrpc/connect";
import { type Context, Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { DataType } from "../../shared/gen/deepseek_vl/v1/inference_pb.js";
import { decodeTensor, encodeTensor } from "../../shared/tensor/index.ts";
import { requireAdmin } from "../auth/index.ts";
import { sha256Hex } from "../digest.ts";
import type { EdgeEnv } from "../env.ts";
import { ApiError, errorBody, toApiError } from "../errors.ts";
import type { GpuReplica } from "../gpu/index.ts";
import { readBodyBytes } from "./body.ts";

/** A cold 7B image on the wire: uint8 pixels [3,1024,1024] and fp16 SigLIP features [576,1024]. */
const PIXELS_SHAPE = [3, 1024, 1024];
const FEATURES_SHAPE = [576, 1024];
const MAX_BENCHMARK_RUNS = 50;
const WARM_UP_RUNS = 3;
const MAX_ECHO_BYTES = 64 * 1024 * 1024;

/**
 * Operator routes that check the edge -> GPU link itself: integrity (echo), unbuffered streaming
 * (ticks) and throughput against a raw HTTP POST (link-benchmark), of one replica (`?replica=N`, default 0).
 * Off unless ADMIN_API_KEY is set.
 */
export function diagnosticsRoutes() {
  return new Hono<EdgeEnv>()
    .use(requireAdmin)
    .post("/echo", async (c) => {
      const bytes = await readBodyBytes(c.req.raw, { maxBytes: MAX_ECHO_BYTES, idleMs: c.var.config.bodyIdleTimeoutMs });
      if (bytes.length === 0) throw new ApiError(400, "empty_body", "Send the bytes to echo as the request body");
      const { config } = c.var;
      const response = await replicaOf(c).clients.diagnostics.echo(
        { tensors: [encodeTensor(DataType.UINT8, [bytes.length], bytes)], returnTensors: true },
        { timeoutMs: config.gpuTimeoutMs },
      );
      const returned = response.tensors[0];
      const returnedSha256 = returned ? await sha256Hex(decodeTensor(returned, { dtype: DataType.UINT8 }).values) : null;
      const sha256 = await sha256Hex(bytes);
      return c.json({
        bytes: bytes.length,
        sha256,
        gpu_sha256: response.sha256[0] ?? null,
        returned_sha256: returnedSha256,
        intact: response.sha256[0] === sha256 && returnedSha256 === sha256,
      });
    })
    .get("/ticks", (c) => {
      const count = integerParam(c.req.query("count"), "count", 5);
      const intervalMs = integerParam(c.req.query("interval_ms"), "interval_ms", 200);
      const { config } = c.var;
      const { diagnostics } = replicaOf(c).clients;
      return streamSSE(c, async (stream) => {
        const abort = new AbortController();
        stream.onAbort(() => abort.abort());
        try {
          for await (const tick of diagnostics.ticks({ count, intervalMs }, { signal: abort.signal, timeoutMs: config.gpuTimeoutMs })) {
            await stream.writeSSE({ event: "tick", data: JSON.stringify({ index: tick.index, sent_at_ms: tick.sentAtMs }) });
          }
          await stream.writeSSE({ data: "[DONE]" });
        } catch (error) {
          if (!abort.signal.aborted) {
            await stream.writeSSE({ event: "error", data: JSON.stringify(errorBody(toApiError(error, c))) });
          }
        }
      });
    })
    .post("/link-benchmark", async (c) => {
      const runs = integerParam(c.req.query("runs"), "runs", 7);
      if (runs > MAX_BENCHMARK_RUNS)
        throw new ApiError(400, "invalid_parameter", `runs must be at most ${MAX_BENCHMARK_RUNS}`, { param: "runs" });
      const { config } = c.var;
      const replica = replicaOf(c);
      const { secret } = config.gpuReplicas[replica.index]!;
      const pixels = randomBytes(PIXELS_SHAPE.reduce((a, b) => a * b));
      const features = randomBytes(FEATURES_SHAPE.reduce((a, b) => a * b) * 2);
      const tensors = [
        encodeTensor(DataType.UINT8, PIXELS_SHAPE, pixels),
        encodeTensor(DataType.FLOAT16, FEATURES_SHAPE, new Uint16Array(features.buffer)),
      ];
      const raw = new Uint8Array(pixels.length + features.length);
      raw.set(pixels);
      raw.set(features, pixels.length);
      const viaConnect = async () => {
        await replica.clients.diagnostics.echo({ tensors }, { timeoutMs: config.gpuTimeoutMs });
      };
      const viaRawPost = async () => {
        const response = await fetch(`${replica.url}/diagnostics/sink`, {
          method: "POST",
          headers: { authorization: `Bearer ${secret}`, "content-type": "application/octet-stream" },
          body: raw,
          redirect: "manual",
        }).catch((error: unknown) => {
          // A failed POST to the GPU service is an upstream failure, as a failed gRPC-web call is.
          throw ConnectError.from(error);
        });
        if (!response.ok) throw new ApiError(502, "gpu_error", `raw POST answered ${response.status}`);
        await response.arrayBuffer();
      };
      const connectMs = await timeRuns(viaConnect, runs);
      const rawMs = await timeRuns(viaRawPost, runs);
      const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
      return c.json({
        bytes: raw.length,
        runs,
        grpc_web_ms: connectMs,
        raw_post_ms: rawMs,
        grpc_web_median_ms: median(connectMs),
        raw_post_median_ms: median(rawMs),
        // Throughput of gRPC-web relative to a raw POST of the same bytes (1 = no overhead).
        throughput_ratio: median(rawMs) / Math.max(median(connectMs), 1e-3),
      });
    });
}

/** The replica a diagnostics call checks: `?replica=N`, its place in the configuration (default the first). */
function replicaOf(c: Context<EdgeEnv>): GpuReplica {
  const { all } = c.var.gpu;
  const index = integerParam(c.req.query("replica"), "replica", 0);
  const replica = all[index];
  if (!replica) throw new ApiError(400, "invalid_parameter", `replica must be below ${all.length}`, { param: "replica" });
  return replica;
}

function integerParam(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 0) {
    throw new ApiError(400, "invalid_parameter", `${name} must be a non-negative integer`, { param: name });
  }
  return number;
}

/** Warm-up calls (JIT, connection pool), then `runs` timed ones. Workers' clock advances across I/O, which is what is timed. */
async function timeRuns(run: () => Promise<void>, runs: number): Promise<number[]> {
  for (let i = 0; i < WARM_UP_RUNS; i++) await run();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  return times;
}

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65536) crypto.getRandomValues(bytes.subarray(offset, offset + 65536));
  return bytes;
}
