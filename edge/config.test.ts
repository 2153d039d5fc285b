import { describe, expect, it } from "vitest";
import { readConfig } from "./config.ts";

const base = { GPU_SERVICE_URL: "http://127.0.0.1:8600/", GPU_SERVICE_SECRET: "0123456789abcdef" };

describe("readConfig", () => {
  it("applies defaults and normalizes the GPU URL", () => {
    const result = readConfig(base);
    expect("config" in result && result.config).toMatchObject({
      gpuServiceUrl: "http://127.0.0.1:8600",
      apiKeys: [],
      adminApiKey: undefined,
      gpuHealthTimeoutMs: 1500,
      maxBodyBytes: 32 * 1024 * 1024,
    });
  });

  it("splits API keys on commas and ignores blanks", () => {
    const result = readConfig({ ...base, API_KEYS: "sk-a, sk-b,,  " });
    expect("config" in result && result.config.apiKeys).toEqual(["sk-a", "sk-b"]);
  });

  it("lists every problem instead of guessing", () => {
    const result = readConfig({ GPU_SERVICE_URL: "ftp://example.com", GPU_SERVICE_SECRET: "short", GPU_TIMEOUT_MS: "soon" });
    expect("problems" in result).toBe(true);
    const problems = "problems" in result ? result.problems.join("\n") : "";
    for (const name of ["GPU_SERVICE_URL", "GPU_SERVICE_SECRET", "GPU_TIMEOUT_MS"]) expect(problems).toContain(name);
  });
});
