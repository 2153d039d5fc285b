import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { readConfig } from "./config.ts";
import type { EdgeEnv } from "./env.ts";
import { ApiError, errorResponse, toApiError } from "./errors.ts";
import { createGpuReplicas } from "./gpu/index.ts";
import { createIsolateState, type IsolateState } from "./isolate.ts";
import { chatRoutes } from "./routes/chat.ts";
import { diagnosticsRoutes } from "./routes/diagnostics.ts";
import { healthRoutes } from "./routes/health.ts";
import { modelRoutes } from "./routes/models.ts";
import { responsesRoutes } from "./routes/responses.ts";

export function createApp(): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();
  // Made on the first request: a Worker's global scope runs before any request and should do no work.
  let isolate: IsolateState | undefined;

  app.use(requestId());
  app.use(async (c, next) => {
    isolate ??= createIsolateState();
    c.set("isolate", isolate);
    let result = isolate.configs.get(c.env);
    if (!result) {
      result = readConfig(c.env);
      isolate.configs.set(c.env, result);
    }
    if ("problems" in result) {
      console.error(JSON.stringify({ level: "error", message: "edge misconfigured", problems: result.problems }));
      throw new ApiError(500, "edge_misconfigured", `The edge is misconfigured: ${result.problems.join("; ")}`);
    }
    const { config } = result;
    c.set("config", config);
    // A client that hangs up ends its request's I/O, and workerd then never settles what is still awaited (an image
    // download, a GPU read), keeping all it references. So the request stays alive until its handler has settled, and
    // each GPU call, which a streamed answer outlives, until it has ended.
    const waitUntil = (work: Promise<unknown>) => c.executionCtx.waitUntil(work);
    c.set("gpu", createGpuReplicas(config.gpuReplicas, isolate.replicaHealth, { waitUntil, probeTimeoutMs: config.gpuHealthTimeoutMs }));
    const handled = next();
    waitUntil(handled);
    await handled;
  });

  app.route("/", healthRoutes());
  app.route("/v1/diagnostics", diagnosticsRoutes());
  app.route("/v1", modelRoutes());
  app.route("/v1", chatRoutes());
  app.route("/v1", responsesRoutes());

  app.notFound((c) => errorResponse(c, new ApiError(404, "not_found", `No route for ${c.req.method} ${c.req.path}`)));
  app.onError((error, c) => errorResponse(c, toApiError(error, c)));
  return app;
}
