import type { MiddlewareHandler } from "hono";
import { bearerToken, secretMatchesAny, secretsEqual } from "../../shared/auth/index.ts";
import type { EdgeEnv } from "../env.ts";
import { ApiError } from "../errors.ts";

/** Client API keys (API_KEYS secret), compared in constant time; no keys configured means no access. */
export const requireApiKey: MiddlewareHandler<EdgeEnv> = async (c, next) => {
  const token = bearerToken(c.req.header("authorization"));
  if (token === undefined) {
    throw new ApiError(401, "missing_api_key", "You didn't provide an API key: send it as `Authorization: Bearer <key>`");
  }
  if (!(await secretMatchesAny(token, c.var.config.apiKeys))) throw new ApiError(401, "invalid_api_key", "Incorrect API key provided");
  await next();
};

/** The operator key (ADMIN_API_KEY secret); without one configured the guarded routes do not exist (404). */
export const requireAdmin: MiddlewareHandler<EdgeEnv> = async (c, next) => {
  const adminKey = c.var.config.adminApiKey;
  if (adminKey === undefined) throw new ApiError(404, "not_found", `No route for ${c.req.method} ${c.req.path}`);
  const token = bearerToken(c.req.header("authorization"));
  if (token === undefined || !(await secretsEqual(token, adminKey))) {
    throw new ApiError(401, "invalid_admin_key", "The diagnostics routes need the admin API key as a Bearer token");
  }
  await next();
};
