import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ApiError, errorBody, fromUpstream } from "./errors.ts";

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
