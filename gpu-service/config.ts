import { z } from "zod";
import { MODEL_DTYPES, type ModelDtype } from "../shared/manifest/index.ts";
import { EXECUTION_PROVIDERS, type ExecutionProvider } from "./runtime/sessions.ts";

const MiB = 1024 * 1024;

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

/** Environment variables of the GPU service, with defaults. Names are the variables' names. */
const EnvSchema = z.object({
  /** Interface to bind. Loopback unless deliberately exposed. */
  GPU_SERVICE_HOST: z.string().min(1).default("127.0.0.1"),
  /** HTTP/1.1 port: gRPC-web and Connect (the edge's transport), plus GET /healthz. */
  GPU_SERVICE_PORT: port.default(8600),
  /** h2c port: gRPC (and Connect, gRPC-web) over cleartext HTTP/2 for Node clients. 0 disables it. */
  GPU_SERVICE_GRPC_PORT: port.default(8601),
  /** Shared secret the edge presents as `Authorization: Bearer <secret>`. */
  GPU_SERVICE_SECRET: z.string().min(16, "GPU_SERVICE_SECRET must be at least 16 characters"),
  /** Model directory written by `npm run convert` (holds manifest.json). Unset: the service runs without a model. */
  MODEL_DIR: z.string().min(1).optional(),
  /** Largest request message accepted, in bytes. */
  GPU_SERVICE_READ_MAX_BYTES: positiveInt.default(64 * MiB),
  /** Largest response message sent, in bytes. */
  GPU_SERVICE_WRITE_MAX_BYTES: positiveInt.default(64 * MiB),
  /** Deadline of a call whose client sets none, and the largest deadline a client may ask for. */
  GPU_SERVICE_DEFAULT_TIMEOUT_MS: positiveInt.default(120_000),
  GPU_SERVICE_MAX_TIMEOUT_MS: positiveInt.default(600_000),
  /** On SIGTERM: how long in-flight calls may run on before they are ended. */
  GPU_SERVICE_SHUTDOWN_GRACE_MS: z.coerce.number().int().nonnegative().default(30_000),
  /** onnxruntime execution providers, tried in order per graph (a missing CUDA falls back to the next). */
  GPU_SERVICE_EXECUTION_PROVIDERS: z
    .string()
    .transform((value) => value.split(",").map((provider) => provider.trim()).filter(Boolean))
    .pipe(z.array(z.enum(EXECUTION_PROVIDERS)).min(1))
    .default(["cuda", "cpu"]),
  /** Graph set to run: `auto` takes fp16 on an accelerator when the model has it, fp32 otherwise. */
  GPU_SERVICE_MODEL_DTYPE: z.enum(["auto", ...MODEL_DTYPES]).default("auto"),
  /** Intra-op threads of the CPU provider; 0 lets onnxruntime decide. */
  GPU_SERVICE_CPU_THREADS: z.coerce.number().int().nonnegative().default(0),
  /** Sequences decoded together in one batched step. */
  GPU_SERVICE_MAX_BATCH: positiveInt.default(8),
  /** Requests that may wait for a place in the batch; beyond it: RESOURCE_EXHAUSTED with a retry hint. */
  GPU_SERVICE_MAX_QUEUE: z.coerce.number().int().nonnegative().default(32),
  GPU_SERVICE_RETRY_AFTER_MS: positiveInt.default(1_000),
  /** Bytes of image embeddings the encoder cache may hold. */
  GPU_SERVICE_ENCODER_CACHE_BYTES: z.coerce.number().int().nonnegative().default(1024 * MiB),
});

export type GpuServiceConfig = {
  host: string;
  port: number;
  grpcPort: number;
  secret: string;
  modelDir: string | undefined;
  readMaxBytes: number;
  writeMaxBytes: number;
  defaultTimeoutMs: number;
  maxTimeoutMs: number;
  shutdownGraceMs: number;
  executionProviders: ExecutionProvider[];
  modelDtype: ModelDtype | "auto";
  cpuThreads: number;
  maxBatch: number;
  maxQueue: number;
  retryAfterMs: number;
  encoderCacheBytes: number;
};

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Reads and validates the configuration; the error lists every offending variable. */
export function loadConfig(env: Record<string, string | undefined>): GpuServiceConfig {
  const result = EnvSchema.safeParse(
    Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== "")),
  );
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n  ${problems.join("\n  ")}`);
  }
  const e = result.data;
  if (e.GPU_SERVICE_DEFAULT_TIMEOUT_MS > e.GPU_SERVICE_MAX_TIMEOUT_MS) {
    throw new ConfigError("invalid configuration:\n  GPU_SERVICE_DEFAULT_TIMEOUT_MS exceeds GPU_SERVICE_MAX_TIMEOUT_MS");
  }
  return {
    host: e.GPU_SERVICE_HOST,
    port: e.GPU_SERVICE_PORT,
    grpcPort: e.GPU_SERVICE_GRPC_PORT,
    secret: e.GPU_SERVICE_SECRET,
    modelDir: e.MODEL_DIR,
    readMaxBytes: e.GPU_SERVICE_READ_MAX_BYTES,
    writeMaxBytes: e.GPU_SERVICE_WRITE_MAX_BYTES,
    defaultTimeoutMs: e.GPU_SERVICE_DEFAULT_TIMEOUT_MS,
    maxTimeoutMs: e.GPU_SERVICE_MAX_TIMEOUT_MS,
    shutdownGraceMs: e.GPU_SERVICE_SHUTDOWN_GRACE_MS,
    executionProviders: e.GPU_SERVICE_EXECUTION_PROVIDERS,
    modelDtype: e.GPU_SERVICE_MODEL_DTYPE,
    cpuThreads: e.GPU_SERVICE_CPU_THREADS,
    maxBatch: e.GPU_SERVICE_MAX_BATCH,
    maxQueue: e.GPU_SERVICE_MAX_QUEUE,
    retryAfterMs: e.GPU_SERVICE_RETRY_AFTER_MS,
    encoderCacheBytes: e.GPU_SERVICE_ENCODER_CACHE_BYTES,
  };
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
    ["encoder cache", `${config.encoderCacheBytes} bytes`],
  ];
  return rows.map(([name, value]) => `  ${name.padEnd(38)} ${value}`).join("\n");
}
