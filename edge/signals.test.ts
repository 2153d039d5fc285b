import { describe, expect, it } from "vitest";
import { CANCELLED, followSignal } from "./signals.ts";

describe("followSignal", () => {
  it("aborts with CANCELLED when its source aborts", () => {
    const source = new AbortController();
    const follower = followSignal(source.signal);
    expect(follower.signal.aborted).toBe(false);
    source.abort(new Error("the caller left"));
    expect(follower.signal.aborted).toBe(true);
    expect(follower.signal.reason).toBe(CANCELLED);
    expect((follower.signal.reason as DOMException).name).toBe("AbortError");
  });

  it("starts aborted when its source already is", () => {
    expect(followSignal(AbortSignal.abort()).signal.aborted).toBe(true);
  });

  it("no longer follows once unlinked", () => {
    const source = new AbortController();
    const follower = followSignal(source.signal);
    follower.unlink();
    source.abort();
    expect(follower.signal.aborted).toBe(false);
  });

  it("aborts when told to, with or without a source", () => {
    const alone = followSignal();
    alone.abort();
    expect(alone.signal.reason).toBe(CANCELLED);
    const source = new AbortController();
    const follower = followSignal(source.signal);
    follower.abort();
    expect(follower.signal.aborted).toBe(true);
    expect(source.signal.aborted).toBe(false);
  });
});
