import { z } from "zod";
import { MODEL_DTYPES } from "../shared/manifest/index.ts";
import { EXECUTION_PROVIDERS } from "./runtime/index.ts";

const MiB = 1024 * 1024;

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const nonnegativeInt = z.coerce.number().int().nonnegative();

/** One setting: the environment variable it is read from, and its schema (default included). */
const setting = <Schema extends z.ZodType>(env: string, schema: Schema) => ({ env, schema });

/** Every setting of the GPU service, each declared once: the configuration's type derives from it. */
const SETTINGS = {
  /** Interface to bind. Loopback unless deliberately exposed. */
  host: setting("GPU_SERVICE_HOST", z.string().min(1).default("127.0.0.1")),
  /** HTTP/1.1 port: gRPC-web and Connect (the edge's transport), plus GET /healthz. */
  port: setting("GPU_SERVICE_PORT", port.default(8600)),
  /** h2c port: gRPC (and Connect, gRPC-web) over cleartext HTTP/2 for Node clients. 0 disables it. */
  grpcPort: setting("GPU_SERVICE_GRPC_PORT", port.default(8601)),
  /** Shared secret the edge presents as `Authorization: Bearer <secret>`. */
  secret: setting("GPU_SERVICE_SECRET", z.string().min(16, "GPU_SERVICE_SECRET must be at least 16 characters")),
  /** Model directory written by `npm run convert` (holds manifest.json). Unset: the service runs without a model. */
  modelDir: setting("MODEL_DIR", z.string().min(1).optional()),
  /** Largest request message accepted, in bytes. */
  readMaxBytes: setting("GPU_SERVICE_READ_MAX_BYTES", positiveInt.default(64 * MiB)),
  /** Largest response message sent, in bytes. */
  writeMaxBytes: setting("GPU_SERVICE_WRITE_MAX_BYTES", positiveInt.default(64 * MiB)),
  /** Deadline of a call whose client sets none, and the largest deadline a client may ask for. */
  defaultTimeoutMs: setting("GPU_SERVICE_DEFAULT_TIMEOUT_MS", positiveInt.default(120_000)),
  maxTimeoutMs: setting("GPU_SERVICE_MAX_TIMEOUT_MS", positiveInt.default(600_000)),
  /** On SIGTERM: how long in-flight calls may run on before they are ended. */
  shutdownGraceMs: setting("GPU_SERVICE_SHUTDOWN_GRACE_MS", nonnegativeInt.default(30_000)),
  /** onnxruntime execution providers, tried in order per graph (a missing CUDA falls back to the next). */
  executionProviders: setting(
    "GPU_SERVICE_EXECUTION_PROVIDERS",
    z
      .string()
      .transform((value) =>
        value
          .split(",")
          .map((provider) => provider.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.enum(EXECUTION_PROVIDERS)).min(1))
      .default(["cuda", "cpu"]),
  ),
  /** Graph set to run: `auto` takes fp16 on an accelerator when the model has it, fp32 otherwise. */
  modelDtype: setting("GPU_SERVICE_MODEL_DTYPE", z.enum(["auto", ...MODEL_DTYPES]).default("auto")),
  /** Intra-op threads of the CPU provider; 0 lets onnxruntime decide. */
  cpuThreads: setting("GPU_SERVICE_CPU_THREADS", nonnegativeInt.default(0)),
  /** Sequences decoded together in one batched step. */
  maxBatch: setting("GPU_SERVICE_MAX_BATCH", positiveInt.default(8)),
  /** Requests that may wait for a place in the batch; beyond it: RESOURCE_EXHAUSTED with a retry hint. */
  maxQueue: setting("GPU_SERVICE_MAX_QUEUE", nonnegativeInt.default(32)),
  retryAfterMs: setting("GPU_SERVICE_RETRY_AFTER_MS", positiveInt.default(1_000)),
  /**
   * Bytes the decode batch's KV cache may hold (rows are padded to the longest, so a batch takes rows x its
   * longest reservation); 0 derives it from the model: a full batch at the full context.
   */
  kvCacheBytes: setting("GPU_SERVICE_KV_CACHE_BYTES", nonnegativeInt.default(0)),
  /**
   * Bytes of finished prompts' KV kept (where the decoder keeps it) so a prompt that extends one — the next turn of
   * a conversation — prefills only the rest; unset: half the KV budget; 0 turns prefix reuse off.
   */
  prefixCacheBytes: setting("GPU_SERVICE_PREFIX_CACHE_BYTES", nonnegativeInt.optional()),
  /** Prompt tokens per prefill decoder call: running streams take a decode step between chunks. */
  prefillChunkTokens: setting("GPU_SERVICE_PREFILL_CHUNK_TOKENS", positiveInt.default(512)),
  /**
   * The largest tensor a WebGPU graph may hold: past the device's storage-buffer binding range results are
   * silently wrong. 128 MiB is WebGPU's default limit and lavapipe's; a GPU that binds more may be given more.
   */
  deviceBufferLimitBytes: setting("GPU_SERVICE_DEVICE_BUFFER_LIMIT_BYTES", positiveInt.default(128 * MiB)),
  /** Bytes of image embeddings the encoder cache may hold. */
  encoderCacheBytes: setting("GPU_SERVICE_ENCODER_CACHE_BYTES", nonnegativeInt.default(1024 * MiB)),
};

type Settings = typeof SETTINGS;

export type GpuServiceConfig = { [Name in keyof Settings]: z.infer<Settings[Name]["schema"]> };

/** Validates the environment, keyed by variable name (so messages name the variables), into the configuration. */
const ConfigSchema = z
  .object(Object.fromEntries(Object.values(SETTINGS).map(({ env, schema }) => [env, schema])))
  .transform((values) => Object.fromEntries(Object.entries(SETTINGS).map(([name, { env }]) => [name, values[env]])) as GpuServiceConfig);

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Reads and validates the configuration; the error lists every offending variable. */
export function loadConfig(env: Record<string, string | undefined>): GpuServiceConfig {
  const result = ConfigSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== "")));
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n  ${problems.join("\n  ")}`);
  }
  const config = result.data;
  if (config.defaultTimeoutMs > config.maxTimeoutMs) {
    throw new ConfigError(`invalid configuration:\n  ${SETTINGS.defaultTimeoutMs.env} exceeds ${SETTINGS.maxTimeoutMs.env}`);
  }
  return config;
}

/** One line per setting, secret redacted: printed at start so operators see what is in force. */
export function describeConfig(config: GpuServiceConfig): string {
  const rows: [string, string][] = [
    ["listen (HTTP/1.1: gRPC-web, Connect)", `${config.host}:${config.port}`],
    ["listen (h2c: gRPC)", config.grpcPort === 0 ? "disabled" : `${config.host}:${config.grpcPort}`],
    ["model directory", config.modelDir ?? "(none: no model loaded)"],
    ["secret", `set (${config.secret.length} characters)`],
    ["read / write max bytes", `${config.readMaxBytes} / ${config.writeMaxBytes}`],
    ["default / max timeout", `${config.defaultTimeoutMs} ms / ${config.maxTimeoutMs} ms`],
    ["shutdown grace", `${config.shutdownGraceMs} ms`],
    ["execution providers / model dtype", `${config.executionProviders.join(", ")} / ${config.modelDtype}`],
    ["CPU threads", config.cpuThreads === 0 ? "onnxruntime default" : String(config.cpuThreads)],
    ["max batch / max queue", `${config.maxBatch} / ${config.maxQueue}`],
    ["prefill chunk", `${config.prefillChunkTokens} tokens`],
    ["device buffer limit (WebGPU)", `${config.deviceBufferLimitBytes} bytes`],
    ["KV cache budget", config.kvCacheBytes === 0 ? "full batch at full context" : `${config.kvCacheBytes} bytes`],
    ["encoder cache", `${config.encoderCacheBytes} bytes`],
    [
      "prefix cache",
      config.prefixCacheBytes === undefined
        ? "half the KV budget"
        : config.prefixCacheBytes === 0
          ? "off"
          : `${config.prefixCacheBytes} bytes`,
    ],
  ];
  return rows.map(([name, value]) => `  ${name.padEnd(38)} ${value}`).join("\n");
}
