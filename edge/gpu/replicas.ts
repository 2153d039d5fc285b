import { Code, ConnectError } from "@connectrpc/connect";
import { ServingStatus } from "../../shared/gen/deepseek_vl/v1/inference_pb.js";
import type { GpuReplicaConfig } from "../config.ts";
import { createGpuClients, type GpuClientOptions, type GpuClients } from "./client.ts";
import { rendezvousOrder } from "./rendezvous.ts";
import type { ReplicaHealth } from "./replica-health.ts";

/** One GPU service replica as a request reaches it. `index` is its place in the configuration (what /healthz names). */
export type GpuReplica = { readonly index: number; readonly url: string; readonly clients: GpuClients };

/** The GPU service replicas of one request, and the isolate's belief about their health. */
export type GpuReplicas = {
  readonly all: readonly GpuReplica[];
  readonly health: ReplicaHealth;
  /**
   * The replicas in the order a request with this affinity key tries them: rendezvous order (so a conversation or
   * an image keeps its replica, and its caches), with the ones that can take a call now first.
   */
  route(affinityKey: string): Promise<GpuReplica[]>;
};

export type GpuReplicasOptions = GpuClientOptions & {
  /** Deadline of a background health probe. */
  probeTimeoutMs: number;
};

/**
 * Clients for every replica, for one request. With several replicas the request also starts the background
 * probes that are due (ReplicaHealth bounds them), kept alive by `waitUntil`, so a replica that went down or came
 * back is known before a request has to find out.
 */
export function createGpuReplicas(configs: readonly GpuReplicaConfig[], health: ReplicaHealth, options: GpuReplicasOptions): GpuReplicas {
  const all = configs.map(({ url, secret }, index) => ({ index, url, clients: createGpuClients(url, secret, options) }));
  const byUrl = new Map(all.map((replica) => [replica.url, replica]));
  // One replica: there is nothing to choose between, and its health is learned from the calls themselves.
  if (all.length > 1) {
    for (const replica of all) if (health.claimProbe(replica.url)) options.waitUntil(probe(replica, health, options.probeTimeoutMs));
  }
  return {
    all,
    health,
    async route(affinityKey) {
      const ordered = await rendezvousOrder(
        affinityKey,
        all.map((replica) => ({ id: replica.url })),
      );
      return health.rank(ordered.map(({ id }) => id)).map((url) => byUrl.get(url)!);
    },
  };
}

/** Asks a replica's Health and records the answer; never throws (a failure is the answer). */
export async function probe(replica: GpuReplica, health: ReplicaHealth, timeoutMs: number) {
  try {
    const answer = await replica.clients.inference.health({}, { timeoutMs });
    health.probed(replica.url, answer.status === ServingStatus.SERVING);
    return { reachable: true as const, answer };
  } catch (error) {
    health.probed(replica.url, false);
    return { reachable: false as const, error };
  }
}

/**
 * Runs `call` on the replicas of `route` in turn until one succeeds, recording every outcome. It moves on only
 * when a replica's own state refused the call (down, draining, full: ReplicaHealth's failover); any other error
 * would fail the same anywhere and is thrown at once. When every replica refused, a busy one's error is thrown
 * (the client should retry soon), else the last one's.
 */
export async function withFailover<T>(
  route: readonly GpuReplica[],
  health: ReplicaHealth,
  call: (replica: GpuReplica) => Promise<T>,
): Promise<{ value: T; replica: GpuReplica }> {
  let refusal: { error: unknown; busy: boolean } | undefined;
  for (const replica of route) {
    try {
      const value = await call(replica);
      health.record(replica.url);
      return { value, replica };
    } catch (error) {
      const failover = health.record(replica.url, error);
      if (!failover) throw error;
      if (!refusal?.busy) refusal = { error, busy: failover.status === "busy" };
    }
  }
  throw refusal?.error ?? new ConnectError("no GPU service replica is configured", Code.Unavailable);
}
