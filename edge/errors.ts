import { Code, ConnectError } from "@connectrpc/connect";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import type { EdgeEnv } from "./env.ts";
import { ImageError } from "./image/index.ts";
import { PromptError } from "./prompt/index.ts";
import { SiglipEncoderError } from "./siglip/index.ts";

export type ErrorType = "invalid_request_error" | "authentication_error" | "rate_limit_error" | "server_error";

/** The one exception type of the edge: everything a client sees as an error is an ApiError. */
export type ApiErrorOptions = { type?: ErrorType; param?: string; retryAfterSeconds?: number };

export class ApiError extends Error {
  override name = "ApiError";
  readonly status: ContentfulStatusCode;
  readonly code: string;
  readonly options: ApiErrorOptions;

  constructor(status: ContentfulStatusCode, code: string, message: string, options: ApiErrorOptions = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.options = options;
  }

  get type(): ErrorType {
    if (this.options.type) return this.options.type;
    if (this.status === 401) return "authentication_error";
    if (this.status === 429) return "rate_limit_error";
    return this.status >= 500 ? "server_error" : "invalid_request_error";
  }
}

/**
 * A request body checked against `schema`, or a 400 naming the first offending field as OpenAI does (`param`):
 * `unsupported_parameter` with its own message for the fields in `unsupported`, `invalid_request` otherwise.
 */
export function validateRequest<T extends z.ZodType>(schema: T, unsupported: Record<string, string>, body: unknown): z.output<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const param = issue.path.map(String).join(".") || undefined;
  const field = String(issue.path[0] ?? "");
  const message = unsupported[field] ?? `Invalid value for '${param ?? "body"}': ${issue.message}`;
  throw new ApiError(400, field in unsupported ? "unsupported_parameter" : "invalid_request", message, param ? { param } : {});
}

/** OpenAI's error body: `{"error":{"message","type","param","code"}}`. */
export function errorBody(error: ApiError) {
  return { error: { message: error.message, type: error.type, param: error.options.param ?? null, code: error.code } };
}

export function errorResponse(c: Context, error: ApiError): Response {
  if (error.options.retryAfterSeconds !== undefined) c.header("Retry-After", String(error.options.retryAfterSeconds));
  return c.json(errorBody(error), error.status);
}

/**
 * What the client sees of any error: the one translation, used by the app's error handler and by the
 * event-stream writers (whose errors come after the 200). Routes and the pipeline let errors through to it.
 */
export function toApiError(error: unknown, c: Context<EdgeEnv>): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof HTTPException) return new ApiError(error.status as ContentfulStatusCode, "http_error", error.message);
  if (error instanceof PromptError) {
    if (error.code === "invalid_tokenizer") return new ApiError(500, "edge_misconfigured", error.message);
    return new ApiError(400, error.code, error.message, { param: "messages" });
  }
  if (error instanceof ImageError) {
    if (error.code === "too_many_pixels") return new ApiError(413, "image_too_large", error.message);
    if (error.code === "unsupported_format") return new ApiError(415, "unsupported_image_format", error.message);
    return new ApiError(400, "invalid_image", error.message);
  }
  if (error instanceof SiglipEncoderError) return new ApiError(500, "edge_misconfigured", error.message);
  if (error instanceof ConnectError) return fromUpstream(error, c.var.config.retryAfterSeconds);
  const requestId = c.var.requestId;
  console.error(JSON.stringify({ level: "error", requestId, message: String(error), stack: (error as Error).stack }));
  return new ApiError(500, "internal_error", `Internal error (request ${requestId})`);
}

/** Translates a failed GPU-service call into what the client should see. */
export function fromUpstream(error: unknown, retryAfterSeconds: number): ApiError {
  const cause = ConnectError.from(error);
  const message = cause.rawMessage;
  switch (cause.code) {
    case Code.Unavailable:
      return new ApiError(503, "gpu_unavailable", `The GPU service is unavailable: ${message}`, { retryAfterSeconds });
    case Code.DeadlineExceeded:
      return new ApiError(504, "gpu_timeout", `The GPU service did not answer in time: ${message}`);
    case Code.ResourceExhausted: {
      // The service marks admission-queue overload with a retry hint; without one the message was too large.
      const retryAfterMs = Number(cause.metadata.get("retry-after-ms"));
      return Number.isFinite(retryAfterMs) && retryAfterMs > 0
        ? new ApiError(429, "gpu_busy", `The GPU service is at capacity: ${message}`, { retryAfterSeconds: Math.ceil(retryAfterMs / 1000) })
        : new ApiError(413, "request_too_large", `The request is too large for the GPU service: ${message}`);
    }
    case Code.InvalidArgument:
    case Code.OutOfRange:
      return new ApiError(400, "invalid_request", message);
    case Code.Unauthenticated:
    case Code.PermissionDenied:
      return new ApiError(502, "gpu_auth_failed", "The edge could not authenticate to the GPU service (check GPU_SERVICE_SECRET)");
    case Code.Unimplemented:
      return new ApiError(501, "not_implemented", `The GPU service does not implement this: ${message}`);
    default:
      return new ApiError(502, "gpu_error", `The GPU service failed: ${Code[cause.code]}: ${message}`);
  }
}
