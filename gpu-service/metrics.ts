import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { LruStats } from "../shared/cache/index.ts";
import type { PrefixCacheStats, VisionRuns } from "./runtime/index.ts";

/** What /metrics reads on each scrape from the live runtime. */
export type MetricsSources = {
  queued(): number;
  active(): number;
  encoderCache(): LruStats | undefined;
  visionRuns(): VisionRuns | undefined;
  kvCacheBytes(): number;
  prefixCache(): PrefixCacheStats | undefined;
};

export type Metrics = ReturnType<typeof createMetrics>;

/** Prometheus metrics of the service (served at GET /metrics). */
export function createMetrics(sources: MetricsSources) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "gpu_service_" });
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });

  gauge("gpu_service_queue_depth", "Generate requests waiting for a place in the decode batch", sources.queued);
  gauge("gpu_service_sequences_active", "Sequences decoding now", sources.active);
  gauge("gpu_service_kv_cache_bytes", "Bytes of the decode batch's KV cache, where the decoder keeps it", sources.kvCacheBytes);
  gauge("gpu_service_encoder_cache_bytes", "Bytes held by the encoder cache", () => sources.encoderCache()?.bytes ?? 0);
  gauge("gpu_service_encoder_cache_entries", "Images held by the encoder cache", () => sources.encoderCache()?.entries ?? 0);
  gauge("gpu_service_encoder_cache_hits", "Encoder cache hits since start", () => sources.encoderCache()?.hits ?? 0);
  gauge("gpu_service_encoder_cache_misses", "Encoder cache misses since start", () => sources.encoderCache()?.misses ?? 0);
  gauge("gpu_service_prefix_cache_bytes", "Bytes of prompts' KV held for prefix reuse", () => sources.prefixCache()?.bytes ?? 0);
  gauge("gpu_service_prefix_cache_entries", "Prompts held for prefix reuse", () => sources.prefixCache()?.entries ?? 0);
  gauge("gpu_service_prefix_cache_hits", "Prompts that started from a held prefix since start", () => sources.prefixCache()?.hits ?? 0);
  gauge("gpu_service_prefix_cache_misses", "Prompts that found no held prefix since start", () => sources.prefixCache()?.misses ?? 0);
  gauge(
    "gpu_service_prefix_cache_tokens",
    "Prompt tokens not prefilled again since start (taken from held prefixes)",
    () => sources.prefixCache()?.cachedTokens ?? 0,
  );
  new Gauge({
    name: "gpu_service_vision_images_encoded",
    help: "Images each vision graph has encoded since start",
    labelNames: ["graph"],
    registers: [registry],
    collect() {
      const runs = sources.visionRuns();
      for (const graph of ["siglip", "sam", "aligner"] as const) this.set({ graph }, runs?.[graph] ?? 0);
    },
  });

  return {
    registry,
    tokens: new Counter({ name: "gpu_service_generated_tokens_total", help: "Tokens generated", registers: [registry] }),
    decodeSteps: new Counter({ name: "gpu_service_decode_steps_total", help: "Batched decoder steps", registers: [registry] }),
    decodeHostBytes: new Counter({
      name: "gpu_service_decode_host_bytes_total",
      help: "Bytes moved between host memory and the decoder's inputs and outputs by decode steps",
      registers: [registry],
    }),
    prefillChunks: new Counter({ name: "gpu_service_prefill_chunks_total", help: "Prefill decoder calls", registers: [registry] }),
    decodeBatch: new Histogram({
      name: "gpu_service_decode_batch_size",
      help: "Sequences per decoder step",
      buckets: [1, 2, 4, 8, 16, 32],
      registers: [registry],
    }),
    timeToFirstToken: new Histogram({
      name: "gpu_service_time_to_first_token_seconds",
      help: "From admission to the first token",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    requests: new Counter({
      name: "gpu_service_requests_total",
      help: "Finished calls by procedure and Connect code (ok for success)",
      labelNames: ["procedure", "code"],
      registers: [registry],
    }),
  };
}
