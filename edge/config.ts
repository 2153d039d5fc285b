import { z } from "zod";
import { DEFAULT_MAX_JPEG_PIXELS, DEFAULT_MAX_PIXELS } from "./image/index.ts";

const MiB = 1024 * 1024;
const positiveInt = z.coerce.number().int().positive();

const gpuUrl = z.url({ protocol: /^https?$/ }).transform((url) => url.replace(/\/+$/, ""));
const commaList = z.string().transform((value) =>
  value
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean),
);

/**
 * The settings, each declared once: plain vars from wrangler.toml, secrets from `wrangler secret put`.
 * The Worker's bindings and the configuration's camelCase fields are derived from it.
 */
const Settings = z
  .object({
    /** Base URL of the GPU service's HTTP/1.1 port, e.g. https://gpu.example.com or http://127.0.0.1:8600 (one replica). */
    GPU_SERVICE_URL: gpuUrl.optional(),
    /** Comma-separated base URLs of GPU service replicas; when set, GPU_SERVICE_URL is ignored. Requests are routed across them. */
    GPU_SERVICE_URLS: commaList.pipe(z.array(gpuUrl).min(1)).optional(),
    /** Secret: shared with every GPU service replica (their GPU_SERVICE_SECRET). */
    GPU_SERVICE_SECRET: z.string().min(16).optional(),
    /** Secret: comma-separated, one per replica in GPU_SERVICE_URLS' order; when set, GPU_SERVICE_SECRET is ignored. */
    GPU_SERVICE_SECRETS: commaList.pipe(z.array(z.string().min(16)).min(1)).optional(),
    /** Secret: comma-separated client API keys. */
    API_KEYS: commaList.default([]),
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
    /** Longest wait for the next bytes of a request body; a client that stalls longer gets 408 `request_timeout`. */
    BODY_IDLE_TIMEOUT_MS: positiveInt.default(15_000),
    /** Images one request may carry. */
    MAX_IMAGES: positiveInt.default(8),
    /** Largest width x height of a PNG or WebP, checked from its header before decoding (they are decoded whole). */
    MAX_IMAGE_PIXELS: positiveInt.default(DEFAULT_MAX_PIXELS),
    /** Largest width x height of a JPEG, checked from its header: JPEGs are streamed, never held whole. */
    MAX_JPEG_PIXELS: positiveInt.default(DEFAULT_MAX_JPEG_PIXELS),
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
    /** Bytes of stored responses (previous_response_id, item_reference) the isolate keeps; the Cache API holds more. */
    RESPONSES_STORE_BYTES: z.coerce
      .number()
      .int()
      .nonnegative()
      .default(16 * MiB),
    /** How long a stored response can be resumed. */
    RESPONSES_STORE_TTL_SECONDS: positiveInt.default(86_400),
    /** Path prefix of the model files in the static assets (manifest.json, tokenizer.json, siglip_encoder.onnx). */
    MODEL_ASSETS_PATH: z
      .string()
      .startsWith("/")
      .default("/model")
      .transform((path) => path.replace(/\/+$/, "")),
  })
  .superRefine((settings, context) => {
    const problem = (path: string, message: string) => context.addIssue({ code: "custom", path: [path], message });
    const urls = settings.GPU_SERVICE_URLS ?? (settings.GPU_SERVICE_URL ? [settings.GPU_SERVICE_URL] : []);
    if (urls.length === 0) problem("GPU_SERVICE_URL", "set GPU_SERVICE_URL (one GPU service) or GPU_SERVICE_URLS (replicas)");
    if (new Set(urls).size !== urls.length) problem("GPU_SERVICE_URLS", "lists a replica twice");
    const secrets = settings.GPU_SERVICE_SECRETS;
    if (!settings.GPU_SERVICE_SECRET && !secrets) problem("GPU_SERVICE_SECRET", "set the GPU service's shared secret");
    else if (secrets && urls.length > 0 && secrets.length !== urls.length)
      problem("GPU_SERVICE_SECRETS", `has ${secrets.length} secrets for ${urls.length} replicas (give one, or one per replica)`);
  });

type Settings = z.output<typeof Settings>;

/** Bindings the Worker reads: every setting as a string, and the static assets holding the model directory's files. */
export type Bindings = { [K in keyof z.input<typeof Settings>]?: string } & { ASSETS?: Fetcher };

type CamelTail<S extends string> = S extends `${infer Head}_${infer Rest}`
  ? `${Capitalize<Lowercase<Head>>}${CamelTail<Rest>}`
  : Capitalize<Lowercase<S>>;
/** GPU_SERVICE_URL -> gpuServiceUrl. */
type Camel<S extends string> = S extends `${infer Head}_${infer Rest}` ? `${Lowercase<Head>}${CamelTail<Rest>}` : Lowercase<S>;

/** A GPU service replica: its base URL (also its identity for routing) and the secret it expects. */
export type GpuReplicaConfig = { readonly url: string; readonly secret: string };

/**
 * The validated configuration: each setting under its camelCase name, but the GPU service's address and secret,
 * which are given as one or several and read as `gpuReplicas`.
 */
export type EdgeConfig = {
  [K in Exclude<keyof Settings, GpuSettingName> as Camel<K>]: Settings[K];
} & { gpuReplicas: readonly GpuReplicaConfig[] };

/** Read together into `gpuReplicas`. */
const GPU_SETTINGS = ["GPU_SERVICE_URL", "GPU_SERVICE_URLS", "GPU_SERVICE_SECRET", "GPU_SERVICE_SECRETS"] as const;
type GpuSettingName = (typeof GPU_SETTINGS)[number];

const camel = (name: string) => name.toLowerCase().replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());

function configOf(settings: Settings): EdgeConfig {
  // Every declared setting, an unset optional one included (as undefined).
  const names = (Object.keys(Settings.shape) as (keyof Settings)[]).filter((name) => !(GPU_SETTINGS as readonly string[]).includes(name));
  const config = Object.fromEntries(names.map((name) => [camel(name), settings[name]])) as Omit<EdgeConfig, "gpuReplicas">;
  // The refinement guarantees one address form and a secret for each address.
  const urls = settings.GPU_SERVICE_URLS ?? [settings.GPU_SERVICE_URL!];
  const gpuReplicas = urls.map((url, i) => ({ url, secret: settings.GPU_SERVICE_SECRETS?.[i] ?? settings.GPU_SERVICE_SECRET! }));
  return { ...config, gpuReplicas, defaultCompletionTokens: Math.min(config.defaultCompletionTokens, config.maxCompletionTokens) };
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
