export { type ChatError, type ChatStream, type ChatUsage, postChat, readChatStream } from "./chat-client.ts";
export { EDGE_ASSETS_DIR, MODEL_ASSETS_PATH, prepareEdgeAssets } from "./edge-assets.ts";
export { gpuClients, gpuMetric, type Protocol } from "./gpu-client.ts";
export { type HeapUsage, IsolateHeap } from "./isolate-heap.ts";
export {
  type EdgeOptions,
  freePort,
  type GpuServiceOptions,
  ROOT,
  type Running,
  randomSecret,
  startEdge,
  startGpuService,
} from "./launch.ts";
export { descendantPids, peakRssGrowthBytes, rssBytes, totalRssBytes, workerdRssBytes, workerdRuntimePid } from "./memory.ts";
export { nodeCodecWasm } from "./node-codecs.ts";
export { encodePng } from "./png.ts";
export { softwareVulkanEnv } from "./software-vulkan.ts";
