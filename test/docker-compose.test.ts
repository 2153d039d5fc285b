// docker-compose.yml: the single-host default and the multi-replica profile agree with the service and the edge.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadConfig } from "../gpu-service/config.ts";
import { ROOT } from "../processes/index.ts";

const text = readFileSync(join(ROOT, "docker-compose.yml"), "utf8");
const compose = parse(text, { merge: true }) as { services: Record<string, any> };
const gpuServices = Object.entries(compose.services).filter(([, service]) => service.build?.dockerfile === "gpu-service/Dockerfile");
const graceMs = loadConfig({ GPU_SERVICE_SECRET: "0123456789abcdef" }).shutdownGraceMs;

describe("docker-compose.yml", () => {
  it("runs one GPU service by default and two more in the replicas profile, each on its own GPU", () => {
    expect(gpuServices.filter(([, service]) => service.profiles === undefined).map(([name]) => name)).toEqual(["gpu-service"]);
    expect(gpuServices.filter(([, service]) => service.profiles?.includes("replicas"))).toHaveLength(2);
    const devices = gpuServices.map(([, service]) => service.deploy.resources.reservations.devices[0].device_ids.join());
    expect(new Set(devices).size).toBe(gpuServices.length);
  });

  it("gives every replica the secret, the model read-only and a stop grace over the drain", () => {
    for (const [, service] of gpuServices) {
      expect(service.environment.GPU_SERVICE_SECRET).toContain("GPU_SERVICE_SECRET");
      expect(service.volumes).toEqual([expect.stringMatching(/:\/model:ro$/)]);
      expect(Number.parseInt(service.stop_grace_period, 10) * 1000).toBeGreaterThan(graceMs);
    }
  });

  it("documents a GPU_SERVICE_URLS for the profile that names every replica, and the edge reads it", () => {
    const documented = /GPU_SERVICE_URLS=(\S+)/.exec(text)?.[1]?.split(",");
    expect(documented).toEqual(gpuServices.map(([name]) => `http://${name}:8600`));
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose's own interpolation, read as text
    expect(compose.services.edge.environment.GPU_SERVICE_URLS).toBe("${GPU_SERVICE_URLS:-http://gpu-service:8600}");
    expect(compose.services.edge.command).toContain("--var GPU_SERVICE_URLS:$${GPU_SERVICE_URLS}");
  });
});
