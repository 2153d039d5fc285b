import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { type DiagnosticsService, EchoResponseSchema, TicksResponseSchema } from "../../shared/gen/deepseek_vl/v1/diagnostics_pb.js";
import { decodeTensor, TensorError } from "../../shared/tensor/index.ts";
import { callSignal, sleep } from "../calls.ts";
import type { GpuServiceConfig } from "../config.ts";

const MAX_TICKS = 1000;
const MAX_TICK_INTERVAL_MS = 10_000;

export function diagnosticsService(config: GpuServiceConfig): ServiceImpl<typeof DiagnosticsService> {
  return {
    echo(request) {
      const sha256 = request.tensors.map((tensor, index) => {
        try {
          decodeTensor(tensor, { maxBytes: config.readMaxBytes });
        } catch (error) {
          if (error instanceof TensorError) throw new ConnectError(`tensors[${index}]: ${error.message}`, Code.InvalidArgument);
          throw error;
        }
        return createHash("sha256").update(tensor.data).digest("hex");
      });
      return create(EchoResponseSchema, { sha256, tensors: request.returnTensors ? request.tensors : [] });
    },
    async *ticks(request, context) {
      if (request.count < 1 || request.count > MAX_TICKS) {
        throw new ConnectError(`count must be in [1, ${MAX_TICKS}], got ${request.count}`, Code.InvalidArgument);
      }
      if (request.intervalMs > MAX_TICK_INTERVAL_MS) {
        throw new ConnectError(`interval_ms must be at most ${MAX_TICK_INTERVAL_MS}, got ${request.intervalMs}`, Code.InvalidArgument);
      }
      const signal = callSignal(context, config.defaultTimeoutMs);
      for (let index = 0; index < request.count; index++) {
        if (index > 0) await sleep(request.intervalMs, signal);
        yield create(TicksResponseSchema, { index, sentAtMs: Date.now() });
      }
    },
  };
}
