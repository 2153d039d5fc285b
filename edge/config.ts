import { z } from "zod";

/** Bindings the Worker reads: plain vars from wrangler.toml, secrets from `wrangler secret put`. */
export type Bindings = {
  /** Base URL of the GPU service's HTTP/1.1 port, e.g. https://gpu.example.com or http://127.0.0.1:8600. */
  GPU_SERVICE_URL?: string;
  /** Secret: shared with the GPU service (its GPU_SERVICE_SECRET). */
  GPU_SERVICE_SECRET?: string;
  /** Secret: comma-separated client API keys. */
  API_KEYS?: string;
  /** Secret: key for the operator routes under /v1/diagnostics; unset disables them. */
  ADMIN_API_KEY?: string;
  /** Deadline of one call to the GPU service. */
  GPU_TIMEOUT_MS?: string;
  /** Deadline of the health probe, so /healthz answers fast when the GPU service is down. */
  GPU_HEALTH_TIMEOUT_MS?: string;
  /** Seconds clients are told to wait (Retry-After) when the GPU service is unavailable. */
  RETRY_AFTER_SECONDS?: string;
  /** Largest request body accepted, in bytes. */
  MAX_BODY_BYTES?: string;
};

const MiB = 1024 * 1024;
const positiveInt = z.coerce.number().int().positive();

const ConfigSchema = z.object({
  GPU_SERVICE_URL: z.url({ protocol: /^https?$/ }),
  GPU_SERVICE_SECRET: z.string().min(16),
  API_KEYS: z
    .string()
    .transform((value) => value.split(",").map((key) => key.trim()).filter(Boolean))
    .default([]),
  ADMIN_API_KEY: z.string().min(16).optional(),
  GPU_TIMEOUT_MS: positiveInt.default(120_000),
  GPU_HEALTH_TIMEOUT_MS: positiveInt.default(1_500),
  RETRY_AFTER_SECONDS: positiveInt.default(2),
  MAX_BODY_BYTES: positiveInt.default(32 * MiB),
});

export type EdgeConfig = {
  gpuServiceUrl: string;
  gpuServiceSecret: string;
  apiKeys: string[];
  adminApiKey: string | undefined;
  gpuTimeoutMs: number;
  gpuHealthTimeoutMs: number;
  retryAfterSeconds: number;
  maxBodyBytes: number;
};

/** Validated configuration, or the list of problems (the Worker answers 500 with them, never guesses). */
export function readConfig(env: Bindings): { config: EdgeConfig } | { problems: string[] } {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => typeof value === "string" && value !== ""));
  const result = ConfigSchema.safeParse(present);
  if (!result.success) {
    return { problems: result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`) };
  }
  const c = result.data;
  return {
    config: {
      gpuServiceUrl: c.GPU_SERVICE_URL.replace(/\/+$/, ""),
      gpuServiceSecret: c.GPU_SERVICE_SECRET,
      apiKeys: c.API_KEYS,
      adminApiKey: c.ADMIN_API_KEY,
      gpuTimeoutMs: c.GPU_TIMEOUT_MS,
      gpuHealthTimeoutMs: c.GPU_HEALTH_TIMEOUT_MS,
      retryAfterSeconds: c.RETRY_AFTER_SECONDS,
      maxBodyBytes: c.MAX_BODY_BYTES,
    },
  };
}
