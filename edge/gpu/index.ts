export { createGpuClients, type GpuClients } from "./client.ts";
export { ReplicaHealth } from "./replica-health.ts";
export { createGpuReplicas, type GpuReplica, type GpuReplicas, probe, withFailover } from "./replicas.ts";
