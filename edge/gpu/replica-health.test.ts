import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ReplicaHealth } from "./replica-health.ts";

const [a, b, c] = ["http://a", "http://b", "http://c"];
const clock = () => {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
};
const queueFull = new ConnectError("queue full", Code.ResourceExhausted, { "retry-after-ms": "2500" });

describe("ReplicaHealth", () => {
  it("keeps the rendezvous order while every replica can serve", () => {
    const health = new ReplicaHealth();
    health.record(b!);
    expect(health.rank([c!, a!, b!])).toEqual([c, a, b]);
  });

  it("passes over a replica that could not be reached, last but not dropped, until its time is up", () => {
    const time = clock();
    const health = new ReplicaHealth({ downMs: 10_000, now: time.now });
    expect(health.record(a!, new ConnectError("cannot reach the GPU service", Code.Unavailable))).toEqual({
      status: "down",
      forMs: 10_000,
    });
    expect(health.rank([a!, b!, c!])).toEqual([b, c, a]);
    time.advance(10_000);
    expect(health.rank([a!, b!, c!])).toEqual([a, b, c]);
  });

  it("passes over a replica that refused for load for the delay it named, after the available ones, before the down ones", () => {
    const time = clock();
    const health = new ReplicaHealth({ now: time.now });
    expect(health.record(a!, queueFull)).toEqual({ status: "busy", forMs: 2500 });
    health.record(b!, new ConnectError("draining", Code.Unavailable));
    expect(health.rank([a!, b!, c!])).toEqual([c, a, b]);
    time.advance(2500);
    expect(health.rank([a!, b!, c!])).toEqual([a, c, b]);
  });

  it("does not fail over a request too large for any replica (RESOURCE_EXHAUSTED without a retry delay)", () => {
    const health = new ReplicaHealth();
    expect(health.record(a!, new ConnectError("over the KV budget", Code.ResourceExhausted))).toBeUndefined();
    expect(health.rank([a!, b!])).toEqual([a, b]);
  });

  it("does not blame a replica for the request's own faults", () => {
    const health = new ReplicaHealth();
    for (const code of [Code.InvalidArgument, Code.DeadlineExceeded, Code.Canceled, Code.NotFound]) {
      expect(health.record(a!, new ConnectError("no", code))).toBeUndefined();
    }
    expect(health.rank([a!, b!])).toEqual([a, b]);
  });

  it("a success brings a down replica back at once", () => {
    const health = new ReplicaHealth();
    health.record(a!, new ConnectError("gone", Code.Unavailable));
    health.record(a!);
    expect(health.rank([a!, b!])).toEqual([a, b]);
  });

  it("probes each replica at most once per interval, one probe at a time", () => {
    const time = clock();
    const health = new ReplicaHealth({ probeIntervalMs: 5_000, now: time.now });
    expect(health.claimProbe(a!)).toBe(true);
    expect(health.claimProbe(a!)).toBe(false);
    health.probed(a!, false);
    expect(health.rank([a!, b!])).toEqual([b, a]);
    expect(health.claimProbe(a!)).toBe(false);
    time.advance(5_000);
    expect(health.claimProbe(a!)).toBe(true);
    health.probed(a!, true);
    expect(health.rank([a!, b!])).toEqual([a, b]);
    // A call's outcome counts as a check too.
    time.advance(5_000);
    health.record(b!);
    expect(health.claimProbe(b!)).toBe(false);
  });
});
