export { ROOT, freePort, randomSecret, startEdge, startGpuService, type GpuServiceOptions, type Running } from "./launch.ts";
