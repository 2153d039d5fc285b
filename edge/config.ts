import { z } from "zod";
import { DEFAULT_MAX_PIXELS } from "./image/index.ts";

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
  /** Images one request may carry. */
  MAX_IMAGES?: string;
  /** Largest width x height of an image, checked from its header before decoding. */
  MAX_IMAGE_PIXELS?: string;
  /** Largest `max_tokens` a client may ask for, and the default when it asks none. */
  MAX_COMPLETION_TOKENS?: string;
  DEFAULT_COMPLETION_TOKENS?: string;
  /** Where SigLIP features are computed: `gpu` (EncodeImages) or `edge` (onnxruntime-web in the Worker). */
  SIGLIP_PLACEMENT?: string;
  /** Remote images (https only): size and time caps. */
  IMAGE_FETCH_MAX_BYTES?: string;
  IMAGE_FETCH_TIMEOUT_MS?: string;
  /** Bytes of SigLIP features the isolate keeps in memory (the Cache API holds more). */
  FEATURE_CACHE_BYTES?: string;
  /** Secret, optional: mixed into every cache key so tenants never share entries. */
  CACHE_KEY_SALT?: string;
  /** Path prefix of the model files in the static assets (manifest.json, tokenizer.json, siglip_encoder.onnx). */
  MODEL_ASSETS_PATH?: string;
  /** Static assets binding: the model directory's files. */
  ASSETS?: Fetcher;
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
  MAX_IMAGES: positiveInt.default(8),
  MAX_IMAGE_PIXELS: positiveInt.default(DEFAULT_MAX_PIXELS),
  MAX_COMPLETION_TOKENS: positiveInt.default(2048),
  DEFAULT_COMPLETION_TOKENS: positiveInt.default(512),
  SIGLIP_PLACEMENT: z.enum(["gpu", "edge"]).default("gpu"),
  IMAGE_FETCH_MAX_BYTES: positiveInt.default(16 * MiB),
  IMAGE_FETCH_TIMEOUT_MS: positiveInt.default(10_000),
  FEATURE_CACHE_BYTES: z.coerce.number().int().nonnegative().default(32 * MiB),
  CACHE_KEY_SALT: z.string().default(""),
  MODEL_ASSETS_PATH: z.string().startsWith("/").default("/model"),
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
  maxImages: number;
  maxImagePixels: number;
  maxCompletionTokens: number;
  defaultCompletionTokens: number;
  siglipPlacement: "gpu" | "edge";
  imageFetchMaxBytes: number;
  imageFetchTimeoutMs: number;
  featureCacheBytes: number;
  cacheKeySalt: string;
  modelAssetsPath: string;
};

/** Validated configuration, or the list of problems (the Worker answers 500 with them, never guesses). */
export function readConfig(env: Bindings): { config: EdgeConfig } | { problems: string[] } {
  // Only string settings: bindings (ASSETS) are not configuration.
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
      maxImages: c.MAX_IMAGES,
      maxImagePixels: c.MAX_IMAGE_PIXELS,
      maxCompletionTokens: c.MAX_COMPLETION_TOKENS,
      defaultCompletionTokens: Math.min(c.DEFAULT_COMPLETION_TOKENS, c.MAX_COMPLETION_TOKENS),
      siglipPlacement: c.SIGLIP_PLACEMENT,
      imageFetchMaxBytes: c.IMAGE_FETCH_MAX_BYTES,
      imageFetchTimeoutMs: c.IMAGE_FETCH_TIMEOUT_MS,
      featureCacheBytes: c.FEATURE_CACHE_BYTES,
      cacheKeySalt: c.CACHE_KEY_SALT,
      modelAssetsPath: c.MODEL_ASSETS_PATH.replace(/\/+$/, ""),
    },
  };
}
