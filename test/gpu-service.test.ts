// The GPU service process on its own: configuration errors, graceful drain on SIGTERM.
import { spawnSync } from "node:child_process";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ROOT, randomSecret, startGpuService } from "../processes/index.ts";
import { gpuClients } from "./support/gpu-client.ts";
import { readJson } from "./support/json.ts";
import { tinyModel } from "./support/models.ts";

const diagnostics = (url: string, secret: string) => gpuClients(url, secret).diagnostics;

function runWithEnv(env: Record<string, string>) {
  const { GPU_SERVICE_SECRET: _drop, ...base } = process.env;
  return spawnSync(`${ROOT}node_modules/.bin/node`, ["gpu-service/main.ts"], {
    cwd: ROOT,
    env: { ...base, ...env },
    encoding: "utf8",
    timeout: 30_000,
  });
}

describe("configuration", () => {
  it("refuses to start without a secret, or with invalid values, naming each variable", () => {
    const missing = runWithEnv({});
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("GPU_SERVICE_SECRET");

    const invalid = runWithEnv({ GPU_SERVICE_SECRET: "short", GPU_SERVICE_PORT: "70000", GPU_SERVICE_READ_MAX_BYTES: "-1" });
    expect(invalid.status).toBe(2);
    for (const name of ["GPU_SERVICE_SECRET", "GPU_SERVICE_PORT", "GPU_SERVICE_READ_MAX_BYTES"]) expect(invalid.stderr).toContain(name);
  });

  it("prints its configuration at start without revealing the secret, and reports a bad model directory clearly", async () => {
    const secret = randomSecret();
    const service = await startGpuService({ secret, env: { MODEL_DIR: "/nonexistent/model" } });
    try {
      expect(service.output()).toContain("gpu-service configuration:");
      expect(service.output()).not.toContain(secret);
      const health = await readJson(await fetch(`${service.url}/healthz`));
      expect(health.status).toBe("no_model");
      expect(health.message).toContain("manifest.json");
      // Alive, but not ready: a load balancer must not send it calls.
      const ready = await fetch(`${service.url}/readyz`);
      expect(ready.status).toBe(503);
      expect((await readJson(ready)).status).toBe("no_model");
    } finally {
      await service.stop();
    }
  });
});

describe("SIGTERM", () => {
  it("lets in-flight streams finish within the grace period, then exits 0", async () => {
    const secret = randomSecret();
    const service = await startGpuService({ secret, env: { GPU_SERVICE_SHUTDOWN_GRACE_MS: "20000" } });
    const received: number[] = [];
    for await (const tick of diagnostics(service.url, secret).ticks({ count: 4, intervalMs: 300 })) {
      received.push(tick.index);
      if (tick.index === 0) process.kill(-service.process.pid!, "SIGTERM");
    }
    expect(received).toEqual([0, 1, 2, 3]);
    expect(await service.stop()).toBe(0);
    expect(service.output()).toContain('"message":"draining"');
  });

  it("is ready while serving and not while draining", async () => {
    const secret = randomSecret();
    const { dir } = await tinyModel("hybrid");
    const env = { MODEL_DIR: dir, GPU_SERVICE_EXECUTION_PROVIDERS: "cpu", GPU_SERVICE_SHUTDOWN_GRACE_MS: "20000" };
    const service = await startGpuService({ secret, env });
    try {
      expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
      const ticks = diagnostics(service.url, secret).ticks({ count: 3, intervalMs: 400 });
      for await (const tick of ticks) {
        if (tick.index !== 0) continue;
        process.kill(-service.process.pid!, "SIGTERM");
        await new Promise((resolve) => setTimeout(resolve, 200));
        // Draining closes the listener: a probe is refused, so no new call is routed here.
        await expect(fetch(`${service.url}/readyz`)).rejects.toThrow();
      }
    } finally {
      await service.stop();
    }
  });

  it("ends streams still running after the grace period with UNAVAILABLE, never a silent truncation", async () => {
    const secret = randomSecret();
    const service = await startGpuService({ secret, env: { GPU_SERVICE_SHUTDOWN_GRACE_MS: "300" } });
    const received: number[] = [];
    let failure: ConnectError | undefined;
    try {
      for await (const tick of diagnostics(service.url, secret).ticks({ count: 50, intervalMs: 200 })) {
        received.push(tick.index);
        if (tick.index === 0) process.kill(-service.process.pid!, "SIGTERM");
      }
    } catch (error) {
      failure = ConnectError.from(error);
    }
    expect(received.length).toBeLessThan(50);
    expect(failure?.code).toBe(Code.Unavailable);
    expect(failure?.rawMessage).toContain("shut down");
    expect(await service.stop()).toBe(0);
  });
});
