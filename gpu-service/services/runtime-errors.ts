import { Code, ConnectError } from "@connectrpc/connect";
import { RuntimeError } from "../runtime/index.ts";

/** The Connect error a runtime failure ends its call with; any other error passes through unchanged. */
export function toConnectError(error: unknown): unknown {
  if (!(error instanceof RuntimeError)) return error;
  switch (error.reason.kind) {
    case "queue_full":
      return new ConnectError(error.message, Code.ResourceExhausted, { "retry-after-ms": String(error.reason.retryAfterMs) });
    case "image_not_cached":
      return new ConnectError(error.message, Code.NotFound, { "image-key": error.reason.imageKey });
    case "kv_budget":
      return new ConnectError(error.message, Code.ResourceExhausted);
  }
}
