import type { MiddlewareHandler } from "hono";
import { bearerToken, secretMatchesAny } from "../../shared/auth/index.ts";
import type { EdgeEnv } from "../app.ts";
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
