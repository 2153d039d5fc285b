import { Code, ConnectError } from "@connectrpc/connect";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { describe, expect, it, vi } from "vitest";
import type { EdgeEnv } from "./env.ts";
import { ApiError, errorBody, fromUpstream, toApiError } from "./errors.ts";
import { ImageError } from "./image/index.ts";
import { PromptError } from "./prompt/index.ts";
import { SiglipEncoderError } from "./siglip/index.ts";

describe("ApiError", () => {
  it("renders OpenAI's error envelope with a type derived from the status", () => {
    expect(errorBody(new ApiError(400, "bad_thing", "Bad thing", { param: "messages" }))).toEqual({
      error: { message: "Bad thing", type: "invalid_request_error", param: "messages", code: "bad_thing" },
    });
    expect(new ApiError(401, "k", "m").type).toBe("authentication_error");
    expect(new ApiError(429, "k", "m").type).toBe("rate_limit_error");
    expect(new ApiError(503, "k", "m").type).toBe("server_error");
    expect(errorBody(new ApiError(404, "k", "m")).error.param).toBeNull();
  });
});

describe("fromUpstream", () => {
  const map = (error: unknown) => fromUpstream(error, 3);

  it("makes an unavailable GPU service a 503 with Retry-After", () => {
    const error = map(new ConnectError("down", Code.Unavailable));
    expect([error.status, error.code, error.options.retryAfterSeconds]).toEqual([503, "gpu_unavailable", 3]);
  });

  it("makes a missed deadline a 504", () => {
    expect(map(new ConnectError("slow", Code.DeadlineExceeded)).status).toBe(504);
  });

  it("tells queue overload (429 with the service's retry hint) from an oversized message (413)", () => {
    const busy = map(new ConnectError("queue full", Code.ResourceExhausted, { "retry-after-ms": "2500" }));
    expect([busy.status, busy.code, busy.options.retryAfterSeconds]).toEqual([429, "gpu_busy", 3]);
    const big = map(new ConnectError("message too large", Code.ResourceExhausted));
    expect([big.status, big.code]).toEqual([413, "request_too_large"]);
  });

  it("passes the service's validation message through as a 400", () => {
    const error = map(new ConnectError("input_ids[3] = 999999 is out of range", Code.InvalidArgument));
    expect([error.status, error.message]).toEqual([400, "input_ids[3] = 999999 is out of range"]);
  });

  it("reports a secret mismatch as the edge's own misconfiguration, never as the client's fault", () => {
    const error = map(new ConnectError("wrong secret", Code.Unauthenticated));
    expect([error.status, error.code]).toEqual([502, "gpu_auth_failed"]);
  });

  it("wraps anything else as a 502 naming the code", () => {
    const error = map(new Error("boom"));
    expect(error.status).toBe(502);
    expect(error.message).toContain("Unknown");
  });
});

describe("toApiError", () => {
  const c = { var: { config: { retryAfterSeconds: 3 }, requestId: "req-1" } } as unknown as Context<EdgeEnv>;
  const seen = (error: unknown) => {
    const { status, code, message, options } = toApiError(error, c);
    return { status, code, message, param: options.param };
  };

  it("passes an ApiError through as it is", () => {
    const error = new ApiError(418, "teapot", "I am one");
    expect(toApiError(error, c)).toBe(error);
  });

  it("makes a broken conversation rule a 400 on messages, and an unusable tokenizer a deployment error", () => {
    expect(seen(new PromptError("first_not_user", "starts with the assistant"))).toEqual({
      status: 400,
      code: "first_not_user",
      message: "starts with the assistant",
      param: "messages",
    });
    const tokenizer = seen(new PromptError("invalid_tokenizer", "no BOS"));
    expect(tokenizer).toMatchObject({ status: 500, code: "edge_misconfigured", param: undefined });
  });

  it("tells an image over the pixel cap (413) and of an unsupported format (415) from a broken one (400)", () => {
    const tooBig = seen(new ImageError("too_many_pixels", "image 1: too big"));
    expect(tooBig).toMatchObject({ status: 413, code: "image_too_large", message: "image 1: too big" });
    expect(seen(new ImageError("unsupported_format", "GIF"))).toMatchObject({ status: 415, code: "unsupported_image_format" });
    expect(seen(new ImageError("corrupt_image", "truncated"))).toMatchObject({ status: 400, code: "invalid_image" });
  });

  it("makes an edge encoder failure a deployment error, and hono's and the GPU service's errors their own", () => {
    expect(seen(new SiglipEncoderError("model_too_large", "too big"))).toMatchObject({ status: 500, code: "edge_misconfigured" });
    expect(seen(new HTTPException(400, { message: "bad" }))).toMatchObject({ status: 400, code: "http_error", message: "bad" });
    const down = toApiError(new ConnectError("down", Code.Unavailable), c);
    expect([down.status, down.code, down.options.retryAfterSeconds]).toEqual([503, "gpu_unavailable", 3]);
  });

  it("hides anything else behind a 500 naming the request, and logs it", () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const unknown = seen(new TypeError("x is undefined"));
    expect(unknown).toMatchObject({ status: 500, code: "internal_error", message: "Internal error (request req-1)" });
    expect(log).toHaveBeenCalledOnce();
    log.mockRestore();
  });
});
