import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { RuntimeError } from "../runtime/index.ts";
import { toConnectError } from "./runtime-errors.ts";

const connectError = (error: unknown): ConnectError => {
  const mapped = toConnectError(error);
  if (!(mapped instanceof ConnectError)) throw new Error(`not mapped to a ConnectError: ${String(mapped)}`);
  return mapped;
};

describe("toConnectError", () => {
  it("refuses a full queue with RESOURCE_EXHAUSTED and the retry hint", () => {
    const error = connectError(new RuntimeError("queue full (3 waiting)", { kind: "queue_full", retryAfterMs: 2500 }));
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(error.rawMessage).toBe("queue full (3 waiting)");
    expect(error.metadata.get("retry-after-ms")).toBe("2500");
  });

  it("reports an image missing from the encoder cache as NOT_FOUND with its key", () => {
    const error = connectError(new RuntimeError("image k1 is not in the encoder cache", { kind: "image_not_cached", imageKey: "k1" }));
    expect(error.code).toBe(Code.NotFound);
    expect(error.rawMessage).toBe("image k1 is not in the encoder cache");
    expect(error.metadata.get("image-key")).toBe("k1");
  });

  it("passes any other error through unchanged", () => {
    const deadline = new ConnectError("deadline of 5 ms exceeded", Code.DeadlineExceeded);
    const bug = new TypeError("a bug");
    expect(toConnectError(deadline)).toBe(deadline);
    expect(toConnectError(bug)).toBe(bug);
  });
});
