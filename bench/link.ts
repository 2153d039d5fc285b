// gRPC-web throughput edge -> GPU, measured inside workerd: one cold 7B-shaped request (3 MiB uint8
// pixels + 1.125 MiB fp16 features) against a raw HTTP POST of the same bytes on loopback.
import { randomSecret, startEdge, startGpuService } from "../processes/index.ts";
import type { BenchmarkResult } from "./report.ts";

export async function linkBenchmark(runs = 15): Promise<BenchmarkResult> {
  const secret = randomSecret();
  const adminKey = randomSecret();
  const gpu = await startGpuService({ secret });
  const edge = await startEdge({ GPU_SERVICE_URL: gpu.url, GPU_SERVICE_SECRET: secret, ADMIN_API_KEY: adminKey });
  try {
    const response = await fetch(`${edge.url}/v1/diagnostics/link-benchmark?runs=${runs}`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminKey}` },
    });
    if (!response.ok) throw new Error(`link-benchmark answered ${response.status}: ${await response.text()}`);
    const result = (await response.json()) as {
      bytes: number;
      grpc_web_median_ms: number;
      raw_post_median_ms: number;
      throughput_ratio: number;
    };
    const mibPerSecond = (ms: number) => result.bytes / 1024 / 1024 / (ms / 1000);
    return {
      name: "edge -> GPU link (inside workerd)",
      rows: [
        [
          "request",
          `${(result.bytes / 1024 / 1024).toFixed(3)} MiB (uint8 [3,1024,1024] + fp16 [576,1024]), median of ${runs} after 3 warm-ups`,
        ],
        [
          "gRPC-web (connect-web, binary)",
          `${result.grpc_web_median_ms.toFixed(1)} ms  (${mibPerSecond(result.grpc_web_median_ms).toFixed(0)} MiB/s)`,
        ],
        ["raw HTTP POST", `${result.raw_post_median_ms.toFixed(1)} ms  (${mibPerSecond(result.raw_post_median_ms).toFixed(0)} MiB/s)`],
        ["throughput ratio gRPC-web / raw (goal >= 0.8)", result.throughput_ratio.toFixed(2)],
      ],
    };
  } finally {
    await Promise.all([edge.stop(), gpu.stop()]);
  }
}
