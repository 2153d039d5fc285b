import { Hono } from "hono";
import { requireApiKey } from "../auth/index.ts";
import type { EdgeEnv } from "../env.ts";
import { ApiError } from "../errors.ts";

/** GET /v1/models and GET /v1/models/{id}: the one model served (its name is the manifest's). */
export function modelRoutes() {
  const modelObject = (id: string) => ({ id, object: "model", created: 0, owned_by: "deepseek-ai" });
  return new Hono<EdgeEnv>()
    .use("/models", requireApiKey)
    .use("/models/*", requireApiKey)
    .get("/models", async (c) => {
      const { manifest } = await c.var.isolate.model.load(c.env.ASSETS, c.var.config.modelAssetsPath);
      return c.json({ object: "list", data: [modelObject(manifest.name)] });
    })
    .get("/models/:id{.+}", async (c) => {
      const { manifest } = await c.var.isolate.model.load(c.env.ASSETS, c.var.config.modelAssetsPath);
      const id = c.req.param("id");
      if (id !== manifest.name) {
        throw new ApiError(404, "model_not_found", `The model '${id}' does not exist; this service serves '${manifest.name}'`, {
          param: "model",
        });
      }
      return c.json(modelObject(id));
    });
}
