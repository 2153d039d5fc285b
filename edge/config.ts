import { z } from "zod";
import { DEFAULT_MAX_PIXELS } from "./image/index.ts";

const MiB = 1024 * 1024;
const positiveInt = z.coerce.number().int().positive();

/**
 * The settings, each declared once: plain vars from wrangler.toml, secrets from `wrangler secret put`.
 * The Worker's bindings and the configuration's camelCase fields are derived from it.
 */
const Settings = z.object({
  /** Base URL of the GPU service's HTTP/1.1 port, e.g. https://gpu.example.com or http://127.0.0.1:8600. */
  GPU_SERVICE_URL: z.url({ protocol: /^https?$/ }).transform((url) => url.replace(/\/+$/, "")),
  /** Secret: shared with the GPU service (its GPU_SERVICE_SECRET). */
  GPU_SERVICE_SECRET: z.string().min(16),
  /** Secret: comma-separated client API keys. */
  API_KEYS: z
    .string()
    .transform((value) =>
      value
        .split(",")
        .map((key) => key.trim())
        .filter(Boolean),
    )
    .default([]),
  /** Secret: key for the operator routes under /v1/diagnostics; unset disables them. */
  ADMIN_API_KEY: z.string().min(16).optional(),
  /** Deadline of one call to the GPU service. */
  GPU_TIMEOUT_MS: positiveInt.default(120_000),
  /** Deadline of the health probe, so /healthz answers fast when the GPU service is down. */
  GPU_HEALTH_TIMEOUT_MS: positiveInt.default(1_500),
  /** Seconds clients are told to wait (Retry-After) when the GPU service is unavailable. */
  RETRY_AFTER_SECONDS: positiveInt.default(2),
  /** Largest request body accepted, in bytes. */
  MAX_BODY_BYTES: positiveInt.default(32 * MiB),
  /** Images one request may carry. */
  MAX_IMAGES: positiveInt.default(8),
  /** Largest width x height of an image, checked from its header before decoding. */
  MAX_IMAGE_PIXELS: positiveInt.default(DEFAULT_MAX_PIXELS),
  /** Largest `max_tokens` a client may ask for. */
  MAX_COMPLETION_TOKENS: positiveInt.default(2048),
  /** `max_tokens` when a client asks none (at most MAX_COMPLETION_TOKENS). */
  DEFAULT_COMPLETION_TOKENS: positiveInt.default(512),
  /** Where SigLIP features are computed: `gpu` (EncodeImages) or `edge` (onnxruntime-web in the Worker). */
  SIGLIP_PLACEMENT: z.enum(["gpu", "edge"]).default("gpu"),
  /** Remote images (https only): size cap. */
  IMAGE_FETCH_MAX_BYTES: positiveInt.default(16 * MiB),
  /** Remote images (https only): time cap. */
  IMAGE_FETCH_TIMEOUT_MS: positiveInt.default(10_000),
  /** Bytes of SigLIP features the isolate keeps in memory (the Cache API holds more). */
  FEATURE_CACHE_BYTES: z.coerce
    .number()
    .int()
    .nonnegative()
    .default(32 * MiB),
  /** Secret, optional: mixed into every cache key so tenants never share entries. */
  CACHE_KEY_SALT: z.string().default(""),
  /** Path prefix of the model files in the static assets (manifest.json, tokenizer.json, siglip_encoder.onnx). */
  MODEL_ASSETS_PATH: z
    .string()
    .startsWith("/")
    .default("/model")
    .transform((path) => path.replace(/\/+$/, "")),
});

type Settings = z.output<typeof Settings>;

/** Bindings the Worker reads: every setting as a string, and the static assets holding the model directory's files. */
export type Bindings = { [K in keyof z.input<typeof Settings>]?: string } & { ASSETS?: Fetcher };

type CamelTail<S extends string> = S extends `${infer Head}_${infer Rest}`
  ? `${Capitalize<Lowercase<Head>>}${CamelTail<Rest>}`
  : Capitalize<Lowercase<S>>;
/** GPU_SERVICE_URL -> gpuServiceUrl. */
type Camel<S extends string> = S extends `${infer Head}_${infer Rest}` ? `${Lowercase<Head>}${CamelTail<Rest>}` : Lowercase<S>;

/** The validated configuration: each setting under its camelCase name. */
export type EdgeConfig = { [K in keyof Settings as Camel<K>]: Settings[K] };

const camel = (name: string) => name.toLowerCase().replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());

function configOf(settings: Settings): EdgeConfig {
  // Every declared setting, an unset optional one included (as undefined).
  const names = Object.keys(Settings.shape) as (keyof Settings)[];
  const config = Object.fromEntries(names.map((name) => [camel(name), settings[name]])) as EdgeConfig;
  return { ...config, defaultCompletionTokens: Math.min(config.defaultCompletionTokens, config.maxCompletionTokens) };
}

/** Validated configuration, or the list of problems (the Worker answers 500 with them, never guesses). */
export function readConfig(env: Bindings): { config: EdgeConfig } | { problems: string[] } {
  // Only string settings: bindings (ASSETS) are not configuration.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => typeof value === "string" && value !== ""));
  const result = Settings.safeParse(present);
  if (!result.success) {
    return { problems: result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`) };
  }
  return { config: configOf(result.data) };
}
