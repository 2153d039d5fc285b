export { gpuClients, type Protocol } from "./gpu-client.ts";
export { ROOT, freePort, randomSecret, startEdge, startGpuService, type GpuServiceOptions, type Running } from "./launch.ts";
export { EDGE_ASSETS_DIR, MODEL_ASSETS_PATH, prepareEdgeAssets } from "./edge-assets.ts";
