import { Code, ConnectError } from "@connectrpc/connect";

/**
 * What the edge believes of a replica: `serving` (answered), `busy` (refused for load, passed over for a
 * moment), `down` (unreachable, draining or without a model, passed over until it answers again), `unknown`
 * (never heard from).
 */
export type ReplicaStatus = "serving" | "busy" | "down" | "unknown";

export type ReplicaHealthOptions = {
  /** How long a replica that could not serve is passed over before calls try it again (probes may sooner). */
  downMs?: number;
  /** Health older than this is probed again, in the background, by the next request that routes. */
  probeIntervalMs?: number;
  now?: () => number;
};

/** A failed call's meaning for routing: try the next replica (and pass this one over), or not. */
export type Failover = { status: "busy" | "down"; forMs: number } | undefined;

type Entry = { status: ReplicaStatus; until: number; checkedAt: number; probing: boolean };

/**
 * The health of the GPU service replicas, learned from calls (every outcome) and from bounded background
 * probes (at most one in flight per replica, at most one per probe interval). Kept per isolate and safe to
 * lose: a new isolate starts with every replica `unknown`, which routes like `serving`.
 */
export class ReplicaHealth {
  readonly #entries = new Map<string, Entry>();
  readonly #downMs: number;
  readonly #probeIntervalMs: number;
  readonly #now: () => number;

  constructor(options: ReplicaHealthOptions = {}) {
    this.#downMs = options.downMs ?? 10_000;
    this.#probeIntervalMs = options.probeIntervalMs ?? 5_000;
    this.#now = options.now ?? Date.now;
  }

  /**
   * `urls` (in the request's rendezvous order) with the replicas that can take a call now first, then busy
   * ones, then down ones: each group keeps its order, and nothing is dropped — a belief can be stale, so
   * when nothing better is left a passed-over replica is still worth a try.
   */
  rank(urls: readonly string[]): string[] {
    const group = (url: string) => {
      const entry = this.#entries.get(url);
      if (!entry || entry.until <= this.#now() || entry.status === "serving" || entry.status === "unknown") return 0;
      return entry.status === "busy" ? 1 : 2;
    };
    return urls
      .map((url, position) => ({ url, position, group: group(url) }))
      .sort((a, b) => a.group - b.group || a.position - b.position)
      .map(({ url }) => url);
  }

  /** Records a call's outcome; returns how routing should treat a failure (undefined: not the replica's fault). */
  record(url: string, error?: unknown): Failover {
    const failover = error === undefined ? undefined : failoverOf(error, this.#downMs);
    if (error === undefined) this.#set(url, "serving", 0);
    else if (failover) this.#set(url, failover.status, failover.forMs);
    return failover;
  }

  /** Whether `url` should be probed now; if so it counts as probing until `probed` is called. */
  claimProbe(url: string): boolean {
    const entry = this.#entries.get(url);
    if (entry?.probing || (entry && this.#now() - entry.checkedAt < this.#probeIntervalMs)) return false;
    this.#entries.set(url, { ...(entry ?? { status: "unknown", until: 0, checkedAt: 0 }), probing: true });
    return true;
  }

  /** A probe's answer: whether the replica serves. */
  probed(url: string, serving: boolean): void {
    if (serving) this.#set(url, "serving", 0);
    else this.#set(url, "down", this.#downMs);
  }

  #set(url: string, status: ReplicaStatus, forMs: number): void {
    const now = this.#now();
    this.#entries.set(url, { status, until: now + forMs, checkedAt: now, probing: false });
  }
}

/**
 * UNAVAILABLE (unreachable, broken connection, draining, no model) and RESOURCE_EXHAUSTED with a retry delay (its
 * admission queue is full) are the replica's state, and another may serve: fail over. Anything else (bad input, a
 * request too large for any replica's message or KV budget, a deadline the whole request shares, cancellation)
 * would fail the same anywhere.
 */
function failoverOf(error: unknown, downMs: number): Failover {
  const connect = ConnectError.from(error);
  if (connect.code === Code.Unavailable) return { status: "down", forMs: downMs };
  const retryAfterMs = Number(connect.metadata.get("retry-after-ms"));
  if (connect.code !== Code.ResourceExhausted || !Number.isFinite(retryAfterMs) || retryAfterMs <= 0) return undefined;
  return { status: "busy", forMs: retryAfterMs };
}
