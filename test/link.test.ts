// The edge <-> GPU link end to end: the real gpu-service process and the real Worker in workerd.
import { createHash, randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Running, randomSecret, startEdge, startGpuService } from "../processes/index.ts";
import { DataType, ServingStatus, TensorSchema } from "../shared/gen/deepseek_vl/v1/inference_pb.js";
import { encodeTensor } from "../shared/tensor/index.ts";
import { codeOf, gpuClients, type Protocol } from "./support/gpu-client.ts";
import { readJson } from "./support/json.ts";

const MiB = 1024 * 1024;
const secret = randomSecret();
const adminKey = randomSecret();
let gpu: Running & { grpcPort: number };
let edge: Running;

beforeAll(async () => {
  gpu = await startGpuService({ secret, env: { GPU_SERVICE_READ_MAX_BYTES: String(8 * MiB) } });
  edge = await startEdge({ GPU_SERVICE_URL: gpu.url, GPU_SERVICE_SECRET: secret, ADMIN_API_KEY: adminKey });
});

afterAll(async () => {
  await Promise.all([edge?.stop(), gpu?.stop()]);
});

const admin = { authorization: `Bearer ${adminKey}` };
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

const clients = (protocol: Protocol, token: string | undefined) =>
  gpuClients(protocol === "grpc" ? `http://127.0.0.1:${gpu.grpcPort}` : gpu.url, token, protocol);

describe("health", () => {
  it("round-trips edge -> GPU service and reports the service's own state", async () => {
    const response = await fetch(`${edge.url}/healthz`);
    const body = await readJson(response);
    expect(body.edge.status).toBe("ok");
    expect(body.gpu.replicas[0].reachable).toBe(true);
    // No MODEL_DIR: the service is up and says so; the edge is not ready to serve completions.
    expect(body.gpu.replicas[0].status).toBe("no_model");
    expect(body.gpu.replicas[0].message).toContain("MODEL_DIR is not set");
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toMatch(/^\d+$/);
  });

  it("answers Health over gRPC-web, Connect and gRPC (h2c), and ModelInfo says no model is loaded", async () => {
    for (const kind of ["grpc-web", "connect", "grpc"] as const) {
      const { inference } = clients(kind, secret);
      expect((await inference.health({})).status).toBe(ServingStatus.NO_MODEL);
      const error = ConnectError.from(await inference.modelInfo({}).catch((e: unknown) => e));
      expect(error.code).toBe(Code.Unavailable);
      expect(error.rawMessage).toContain("no model loaded");
    }
  });
});

describe("tensors across the link", () => {
  it("carries a 4 MiB tensor edge -> GPU -> edge intact, checksummed both ways", async () => {
    const payload = new Uint8Array(randomBytes(4 * MiB));
    const response = await fetch(`${edge.url}/v1/diagnostics/echo`, { method: "POST", headers: admin, body: payload });
    expect(response.status).toBe(200);
    const body = await readJson(response);
    const expected = sha256(payload);
    expect(body).toMatchObject({ bytes: 4 * MiB, sha256: expected, gpu_sha256: expected, returned_sha256: expected, intact: true });
  });

  it("refuses a message over the service's read limit with RESOURCE_EXHAUSTED, and the edge says 413", async () => {
    const big = encodeTensor(DataType.UINT8, [9 * MiB], new Uint8Array(9 * MiB));
    expect(await codeOf(clients("grpc-web", secret).diagnostics.echo({ tensors: [big] }))).toBe(Code.ResourceExhausted);
    expect(await codeOf(clients("grpc", secret).diagnostics.echo({ tensors: [big] }))).toBe(Code.ResourceExhausted);

    const response = await fetch(`${edge.url}/v1/diagnostics/echo`, { method: "POST", headers: admin, body: new Uint8Array(9 * MiB) });
    expect(response.status).toBe(413);
    expect((await readJson(response)).error).toMatchObject({ code: "request_too_large", type: "invalid_request_error" });
  });

  it("refuses a tensor whose bytes do not match its shape with INVALID_ARGUMENT naming the numbers", async () => {
    const lying = create(TensorSchema, { dtype: DataType.FLOAT32, shape: [3, 5], data: new Uint8Array(59) });
    const error = ConnectError.from(
      await clients("grpc-web", secret)
        .diagnostics.echo({ tensors: [lying] })
        .catch((e: unknown) => e),
    );
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain("59 bytes");
    expect(error.rawMessage).toContain("60");
  });
});

describe("server streams", () => {
  it("arrive message by message through the edge, not buffered", async () => {
    const response = await fetch(`${edge.url}/v1/diagnostics/ticks?count=3&interval_ms=1500`, { headers: admin });
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    const arrivals: { index: number; sentAtMs: number; arrivedAtMs: number }[] = [];
    let text = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
      for (const match of text.matchAll(/event: tick\ndata: (.*)\n/g)) {
        const tick = JSON.parse(match[1]!);
        if (!arrivals.some((a) => a.index === tick.index))
          arrivals.push({ index: tick.index, sentAtMs: tick.sent_at_ms, arrivedAtMs: Date.now() });
      }
    }
    expect(arrivals.map((a) => a.index)).toEqual([0, 1, 2]);
    expect(text).toContain("data: [DONE]");
    // Causality, not speed: the first tick reached the client before the service had even sent the last.
    expect(arrivals[0]!.arrivedAtMs).toBeLessThan(arrivals[2]!.sentAtMs);
  });
});

describe("authentication", () => {
  it("answers UNAUTHENTICATED to a missing or wrong secret on every protocol", async () => {
    for (const kind of ["grpc-web", "connect", "grpc"] as const) {
      expect(await codeOf(clients(kind, undefined).inference.health({}))).toBe(Code.Unauthenticated);
      expect(await codeOf(clients(kind, `${secret}x`).inference.health({}))).toBe(Code.Unauthenticated);
      expect(await codeOf(clients(kind, secret).inference.health({}))).toBe("ok");
    }
  });

  it("refuses the raw sink without the secret", async () => {
    const response = await fetch(`${gpu.url}/diagnostics/sink`, { method: "POST", body: "x" });
    expect(response.status).toBe(401);
  });

  it("makes an edge holding the wrong secret report the misconfiguration, not serve", async () => {
    const misconfigured = await startEdge({ GPU_SERVICE_URL: gpu.url, GPU_SERVICE_SECRET: randomSecret(), ADMIN_API_KEY: adminKey });
    try {
      const response = await fetch(`${misconfigured.url}/v1/diagnostics/echo`, { method: "POST", headers: admin, body: "abc" });
      expect(response.status).toBe(502);
      expect((await readJson(response)).error.code).toBe("gpu_auth_failed");
    } finally {
      await misconfigured.stop();
    }
  });

  it("keeps the diagnostics routes behind the admin key", async () => {
    const response = await fetch(`${edge.url}/v1/diagnostics/echo`, { method: "POST", body: "abc" });
    expect(response.status).toBe(401);
    expect((await readJson(response)).error).toMatchObject({ type: "authentication_error", code: "invalid_admin_key" });
  });
});

describe("GPU service down", () => {
  it("answers 503 with Retry-After within 2 s, then recovers when the service returns", async () => {
    const port = gpu.port;
    const grpcPort = gpu.grpcPort;
    expect(await gpu.stop()).toBe(0);

    const health = await fetch(`${edge.url}/healthz`, { signal: AbortSignal.timeout(2000) });
    expect(health.status).toBe(503);
    expect(health.headers.get("retry-after")).toMatch(/^\d+$/);
    expect((await readJson(health)).gpu.replicas[0].reachable).toBe(false);

    const upstream = await fetch(`${edge.url}/v1/diagnostics/echo`, {
      method: "POST",
      headers: admin,
      body: "abc",
      signal: AbortSignal.timeout(2000),
    });
    expect(upstream.status).toBe(503);
    expect(upstream.headers.get("retry-after")).toMatch(/^\d+$/);
    expect((await readJson(upstream)).error).toMatchObject({ code: "gpu_unavailable", type: "server_error" });

    gpu = await startGpuService({ secret, port, grpcPort, env: { GPU_SERVICE_READ_MAX_BYTES: String(8 * MiB) } });
    const recovered = await readJson(await fetch(`${edge.url}/healthz`));
    expect(recovered.gpu.replicas[0].reachable).toBe(true);
    const echo = await fetch(`${edge.url}/v1/diagnostics/echo`, { method: "POST", headers: admin, body: "abc" });
    expect((await readJson(echo)).intact).toBe(true);
  });
});
