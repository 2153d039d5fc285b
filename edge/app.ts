import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { requestId, type RequestIdVariables } from "hono/request-id";
import { readConfig, type Bindings, type EdgeConfig } from "./config.ts";
import { ApiError, errorResponse } from "./errors.ts";
import { createGpuClients, type GpuClients } from "./gpu/index.ts";
import { chatRoutes } from "./routes/chat.ts";
import { diagnosticsRoutes } from "./routes/diagnostics.ts";
import { healthRoutes } from "./routes/health.ts";

export type EdgeEnv = {
  Bindings: Bindings;
  Variables: RequestIdVariables & { config: EdgeConfig; gpu: GpuClients };
};

/** Per-isolate: the configuration is read once for a given set of bindings. */
const configs = new WeakMap<Bindings, ReturnType<typeof readConfig>>();

function configOf(env: Bindings) {
  let result = configs.get(env);
  if (!result) {
    result = readConfig(env);
    configs.set(env, result);
  }
  return result;
}

export function createApp(): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();

  app.use(requestId());
  app.use(async (c, next) => {
    const result = configOf(c.env);
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
    c.set("gpu", createGpuClients(config.gpuServiceUrl, config.gpuServiceSecret, { waitUntil }));
    const handled = next();
    waitUntil(handled);
    await handled;
  });

  app.route("/", healthRoutes());
  app.route("/v1/diagnostics", diagnosticsRoutes());
  app.route("/v1", chatRoutes());

  app.notFound((c) => errorResponse(c, new ApiError(404, "not_found", `No route for ${c.req.method} ${c.req.path}`)));
  app.onError((error, c) => {
    if (error instanceof ApiError) return errorResponse(c, error);
    if (error instanceof HTTPException) return errorResponse(c, new ApiError(error.status as 400, "http_error", error.message));
    console.error(JSON.stringify({ level: "error", requestId: c.get("requestId"), message: String(error), stack: (error as Error).stack }));
    return errorResponse(c, new ApiError(500, "internal_error", `Internal error (request ${c.get("requestId")})`));
  });
  return app;
}
