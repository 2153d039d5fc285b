import { Hono } from "hono";
import { ServingStatus } from "../../shared/gen/deepseek_vl/v1/inference_pb.js";
import { VERSION } from "../../shared/version.ts";
import type { EdgeEnv } from "../env.ts";
import { fromUpstream } from "../errors.ts";

/** GET /healthz: the edge's own state and the GPU service's; 200 only when requests can be served. */
export function healthRoutes() {
  return new Hono<EdgeEnv>().get("/healthz", async (c) => {
    const config = c.get("config");
    const edge = { status: "ok", version: VERSION };
    try {
      const gpu = await c.get("gpu").inference.health({}, { timeoutMs: config.gpuHealthTimeoutMs });
      const serving = gpu.status === ServingStatus.SERVING;
      if (!serving) c.header("Retry-After", String(config.retryAfterSeconds));
      return c.json(
        {
          status: serving ? "ok" : "unavailable",
          edge,
          gpu: {
            reachable: true,
            status: ServingStatus[gpu.status].toLowerCase(),
            message: gpu.message,
            version: gpu.version,
            in_flight: gpu.inFlight,
          },
        },
        serving ? 200 : 503,
      );
    } catch (error) {
      const failure = fromUpstream(error, config.retryAfterSeconds);
      c.header("Retry-After", String(config.retryAfterSeconds));
      return c.json({ status: "unavailable", edge, gpu: { reachable: false, error: failure.message } }, 503);
    }
  });
}
