import { describe, expect, it } from "vitest";
import { readConfig } from "./config.ts";

const base = { GPU_SERVICE_URL: "http://127.0.0.1:8600/", GPU_SERVICE_SECRET: "0123456789abcdef" };

describe("readConfig", () => {
  it("applies defaults and normalizes the GPU URL", () => {
    const result = readConfig(base);
    expect("config" in result && result.config).toMatchObject({
      gpuReplicas: [{ url: "http://127.0.0.1:8600", secret: "0123456789abcdef" }],
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

  it("reads replicas from GPU_SERVICE_URLS, with one secret for all or one each", () => {
    const urls = "https://gpu-0.example.com/, https://gpu-1.example.com";
    const shared = readConfig({ GPU_SERVICE_URLS: urls, GPU_SERVICE_SECRET: "0123456789abcdef" });
    expect("config" in shared && shared.config.gpuReplicas).toEqual([
      { url: "https://gpu-0.example.com", secret: "0123456789abcdef" },
      { url: "https://gpu-1.example.com", secret: "0123456789abcdef" },
    ]);
    const each = readConfig({ GPU_SERVICE_URLS: urls, GPU_SERVICE_SECRETS: "secret-of-gpu-zero,secret-of-gpu-one" });
    expect("config" in each && each.config.gpuReplicas.map((replica) => replica.secret)).toEqual([
      "secret-of-gpu-zero",
      "secret-of-gpu-one",
    ]);
  });

  it("lets the list forms replace the single ones (wrangler.toml names a default GPU_SERVICE_URL)", () => {
    const result = readConfig({
      GPU_SERVICE_URL: "http://127.0.0.1:8600",
      GPU_SERVICE_URLS: "http://a.example,http://b.example",
      GPU_SERVICE_SECRET: "0123456789abcdef",
      GPU_SERVICE_SECRETS: "secret-of-replica-a,secret-of-replica-b",
    });
    expect("config" in result && result.config.gpuReplicas).toEqual([
      { url: "http://a.example", secret: "secret-of-replica-a" },
      { url: "http://b.example", secret: "secret-of-replica-b" },
    ]);
  });

  it("refuses incomplete or duplicated replica settings, naming the variable and never a secret", () => {
    const problemsOf = (env: Record<string, string>) => {
      const result = readConfig(env);
      return "problems" in result ? result.problems.join("\n") : "";
    };
    const secret = { GPU_SERVICE_SECRET: "0123456789abcdef" };
    expect(problemsOf(secret)).toContain("GPU_SERVICE_URL");
    expect(problemsOf({ ...secret, GPU_SERVICE_URLS: "http://a.example,http://a.example/" })).toContain("twice");
    const mismatch = problemsOf({ GPU_SERVICE_URLS: "http://a.example,http://b.example", GPU_SERVICE_SECRETS: "only-one-secret-here" });
    expect(mismatch).toContain("GPU_SERVICE_SECRETS: has 1 secrets for 2 replicas");
    const short = problemsOf({ GPU_SERVICE_URLS: "http://a.example", GPU_SERVICE_SECRETS: "tiny" });
    expect(short).toContain("GPU_SERVICE_SECRETS");
    expect(short).not.toContain("tiny");
    expect(problemsOf({ GPU_SERVICE_URLS: "http://a.example,ftp://b.example", ...secret })).toContain("GPU_SERVICE_URLS");
  });
});
