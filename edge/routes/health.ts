import { Hono } from "hono";
import { ServingStatus } from "../../shared/gen/deepseek_vl/v1/inference_pb.js";
import { VERSION } from "../../shared/version.ts";
import type { EdgeEnv } from "../env.ts";
import { fromUpstream } from "../errors.ts";
import { probe } from "../gpu/index.ts";

/**
 * GET /healthz: the edge's own state and each GPU service replica's (asked now, in parallel, which also teaches
 * routing); 200 while at least one replica serves. Replicas are named by their place in the configuration, not
 * their address: this route is public.
 */
export function healthRoutes() {
  return new Hono<EdgeEnv>().get("/healthz", async (c) => {
    const config = c.get("config");
    const { all, health } = c.get("gpu");
    const replicas = await Promise.all(
      all.map(async (replica) => {
        const result = await probe(replica, health, config.gpuHealthTimeoutMs);
        if (!result.reachable) {
          return { replica: replica.index, reachable: false, error: fromUpstream(result.error, config.retryAfterSeconds).message };
        }
        const { answer } = result;
        return {
          replica: replica.index,
          reachable: true,
          status: ServingStatus[answer.status].toLowerCase(),
          message: answer.message,
          version: answer.version,
          in_flight: answer.inFlight,
        };
      }),
    );
    const serving = replicas.filter((replica) => replica.reachable && replica.status === "serving").length;
    if (serving === 0) c.header("Retry-After", String(config.retryAfterSeconds));
    const body = { status: serving > 0 ? "ok" : "unavailable", edge: { status: "ok", version: VERSION }, gpu: { serving, replicas } };
    return c.json(body, serving > 0 ? 200 : 503);
  });
}
