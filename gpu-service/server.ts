import { createHash } from "node:crypto";
import { createServer as createHttp1Server, type Server } from "node:http";
import { createServer as createHttp2Server, type Http2Server, type ServerHttp2Session } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { type ConnectNodeAdapterOptions, connectNodeAdapter } from "@connectrpc/connect-node";

import { bearerToken, secretsEqual } from "../shared/auth/index.ts";
import { DiagnosticsService } from "../shared/gen/deepseek_vl/v1/diagnostics_pb.js";
import { InferenceService, ServingStatus } from "../shared/gen/deepseek_vl/v1/inference_pb.js";
import { admitCall, countCalls, logFailures } from "./calls.ts";
import type { GpuServiceConfig } from "./config.ts";
import type { Logger } from "./log.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import { openModelDirectory } from "./model/index.ts";
import { startRuntime } from "./runtime/index.ts";
import { diagnosticsService, inferenceService } from "./services/index.ts";
import { ServingState } from "./serving-state.ts";

export type GpuService = {
  state: ServingState;
  /** Bound ports (differ from the configured ones when those were 0). */
  port: number;
  grpcPort: number | undefined;
  /** Stops admitting calls, lets in-flight ones finish for up to the grace period, ends the rest, closes. */
  shutdown(): Promise<void>;
};

/** Starts both listeners, then loads the model directory; Health says "starting" until that ends. */
export async function startGpuService(config: GpuServiceConfig, log: Logger): Promise<GpuService> {
  const state = new ServingState();
  const metrics = createMetrics({
    queued: () => state.runtime?.engine.queued ?? 0,
    active: () => state.runtime?.engine.active ?? 0,
    encoderCache: () => state.runtime?.vision.cache.stats(),
    visionRuns: () => state.runtime?.vision.runs,
    kvCacheBytes: () => state.runtime?.engine.kvCacheBytes ?? 0,
    prefixCache: () => state.runtime?.engine.prefixCacheStats(),
  });
  const shutdownSignal = new AbortController();
  const handler = connectNodeAdapter({
    routes(router) {
      router.service(InferenceService, inferenceService(state, config, metrics, log));
      router.service(DiagnosticsService, diagnosticsService(config));
    },
    readMaxBytes: config.readMaxBytes,
    writeMaxBytes: config.writeMaxBytes,
    maxTimeoutMs: config.maxTimeoutMs,
    shutdownSignal: shutdownSignal.signal,
    requestGate: admitCall(config.secret, state),
    interceptors: [countCalls(metrics), logFailures(log)],
    fallback: (request, response) => void plainHttp(config, state, metrics, request, response),
  });

  // In flight until the response is fully written: what a drain must wait for.
  const tracked: typeof handler = (request, response) => {
    state.callStarted();
    response.once("close", () => state.callEnded());
    handler(request, response);
  };
  // A client that declares a body and then stalls must not hold a socket for Node's default 5 minutes.
  const http1 = createHttp1Server({ headersTimeout: 10_000, requestTimeout: 60_000 }, tracked);
  const http2 = config.grpcPort === 0 ? undefined : createHttp2Server(tracked);
  const http2Sessions = new Set<ServerHttp2Session>();
  http2?.on("session", (session) => {
    http2Sessions.add(session);
    session.once("close", () => http2Sessions.delete(session));
  });
  const port = await listen(http1, config.port, config.host);
  const grpcPort = http2 && (await listen(http2, config.grpcPort, config.host));

  if (config.modelDir === undefined) {
    state.noModel("MODEL_DIR is not set");
  } else {
    try {
      const directory = await openModelDirectory(config.modelDir);
      state.serve(
        await startRuntime(directory, config, log, {
          onTokens: (count) => metrics.tokens.inc(count),
          onDecodeStep: (batch) => {
            metrics.decodeSteps.inc();
            metrics.decodeBatch.observe(batch);
          },
          onDecodeHostBytes: (bytes) => metrics.decodeHostBytes.inc(bytes),
          onPrefillChunk: () => metrics.prefillChunks.inc(),
        }),
      );
    } catch (error) {
      state.noModel((error as Error).message);
      log.error("model not loaded", { reason: (error as Error).message });
    }
  }
  log.info("ready", { status: ServingStatus[state.status], detail: state.message, port, grpcPort });

  return {
    state,
    port,
    grpcPort,
    async shutdown() {
      state.drain();
      log.info("draining", { inFlight: state.inFlight, graceMs: config.shutdownGraceMs });
      const closed = Promise.all([close(http1), http2 && close(http2)]);
      http1.closeIdleConnections();
      const graceOver = new Promise<"timeout">((resolve) => setTimeout(resolve, config.shutdownGraceMs, "timeout").unref());
      if ((await Promise.race([state.idle(), graceOver])) === "timeout") {
        log.warn("grace period over: ending calls still in flight", { inFlight: state.inFlight });
        shutdownSignal.abort(new ConnectError("service shut down before the call finished", Code.Unavailable));
        await Promise.race([state.idle(), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
      }
      http1.closeAllConnections();
      for (const session of http2Sessions) session.close();
      await closed;
      log.info("stopped");
    },
  };
}

/**
 * Plain HTTP beside the RPCs: an unauthenticated liveness probe for load balancers and Docker,
 * Prometheus metrics, and
 * the raw-POST sink the edge's link benchmark compares gRPC-web against.
 */
async function plainHttp(
  config: GpuServiceConfig,
  state: ServingState,
  metrics: Metrics,
  ...[request, response]: Parameters<NonNullable<ConnectNodeAdapterOptions["fallback"]>>
) {
  const path = new URL(request.url ?? "/", "http://service").pathname;
  const reply = (status: number, body: object) => {
    response.statusCode = status;
    response.setHeader("content-type", "application/json");
    response.end(JSON.stringify(body));
  };
  // /healthz: alive (200 unless draining; a service without a model is alive and says why). /readyz: 200 only
  // while serving, so a load balancer or Kubernetes sends calls only to a replica that can take them.
  if (request.method === "GET" && (path === "/healthz" || path === "/readyz")) {
    const ok = path === "/healthz" ? state.status !== ServingStatus.DRAINING : state.status === ServingStatus.SERVING;
    const providers = state.runtime?.model.providers;
    return reply(ok ? 200 : 503, { status: ServingStatus[state.status].toLowerCase(), message: state.message, providers });
  }
  if (request.method === "GET" && path === "/metrics") {
    response.statusCode = 200;
    response.setHeader("content-type", metrics.registry.contentType);
    response.end(await metrics.registry.metrics());
    return;
  }
  if (request.method === "POST" && path === "/diagnostics/sink") {
    const token = bearerToken(request.headers.authorization);
    if (token === undefined || !(await secretsEqual(token, config.secret))) return reply(401, { error: "unauthenticated" });
    const hash = createHash("sha256");
    let bytes = 0;
    for await (const chunk of request as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > config.readMaxBytes) return reply(413, { error: `body over ${config.readMaxBytes} bytes` });
      hash.update(chunk);
    }
    return reply(200, { bytes, sha256: hash.digest("hex") });
  }
  reply(404, { error: "not found" });
}

function listen(server: Server | Http2Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
}

function close(server: Server | Http2Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
