// gRPC-web throughput edge -> GPU, measured inside workerd: one cold 7B-shaped request (3 MiB uint8
// pixels + 1.125 MiB fp16 features) against a raw HTTP POST of the same bytes on loopback.
import { create, toBinary } from "@bufbuild/protobuf";
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import { encodeSegments } from "../edge/gpu/segments.ts";
import { randomSecret, startEdge, startGpuService } from "../processes/index.ts";
import { EchoRequestSchema } from "../shared/gen/deepseek_vl/v1/diagnostics_pb.js";
import { DataType } from "../shared/gen/deepseek_vl/v1/inference_pb.js";
import { encodeTensor } from "../shared/tensor/index.ts";
import type { BenchmarkResult } from "./report.ts";

/**
 * The edge's CPU to encode the request, here in Node's V8 (workerd's clock does not advance without I/O): connect's
 * serializer and envelope against the segments the edge sends (its tensors left in place).
 */
function encodingMs(runs: number): { connect: number; segments: number } {
  const tensors = [
    encodeTensor(DataType.UINT8, [3, 1024, 1024], new Uint8Array(3 * 1024 * 1024).fill(7)),
    encodeTensor(DataType.FLOAT16, [576, 1024], new Uint16Array(576 * 1024).fill(3)),
  ];
  const message = create(EchoRequestSchema, { tensors });
  const median = (work: () => unknown) => {
    const times: number[] = [];
    for (let i = 0; i < runs + 3; i++) {
      const start = performance.now();
      work();
      if (i >= 3) times.push(performance.now() - start);
    }
    return times.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
  };
  return {
    connect: median(() => encodeEnvelope(0, toBinary(EchoRequestSchema, message))),
    segments: median(() => encodeSegments(EchoRequestSchema, message)),
  };
}

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
    const encoding = encodingMs(runs);
    return {
      name: "edge -> GPU link (inside workerd)",
      rows: [
        [
          "request",
          `${(result.bytes / 1024 / 1024).toFixed(3)} MiB (uint8 [3,1024,1024] + fp16 [576,1024]), median of ${runs} after 3 warm-ups`,
        ],
        [
          "gRPC-web (connect-web, binary; tensors sent in place)",
          `${result.grpc_web_median_ms.toFixed(1)} ms  (${mibPerSecond(result.grpc_web_median_ms).toFixed(0)} MiB/s)`,
        ],
        ["raw HTTP POST", `${result.raw_post_median_ms.toFixed(1)} ms  (${mibPerSecond(result.raw_post_median_ms).toFixed(0)} MiB/s)`],
        ["throughput ratio gRPC-web / raw (goal >= 0.8)", result.throughput_ratio.toFixed(2)],
        [
          "edge CPU to encode it (V8): connect's serializer / segments sent",
          `${encoding.connect.toFixed(2)} ms / ${encoding.segments.toFixed(3)} ms`,
        ],
      ],
    };
  } finally {
    await Promise.all([edge.stop(), gpu.stop()]);
  }
}
