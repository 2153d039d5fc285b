export { gpuClients, type Protocol } from "./gpu-client.ts";
export { ROOT, freePort, randomSecret, startEdge, startGpuService, type EdgeOptions, type GpuServiceOptions, type Running } from "./launch.ts";
export { EDGE_ASSETS_DIR, MODEL_ASSETS_PATH, prepareEdgeAssets } from "./edge-assets.ts";
export { postChat, readChatStream, type ChatError, type ChatStream, type ChatUsage } from "./chat-client.ts";
export { descendantPids, rssBytes, totalRssBytes, workerdRssBytes } from "./memory.ts";
export { IsolateHeap, type HeapUsage } from "./isolate-heap.ts";
export { nodeCodecWasm } from "./node-codecs.ts";
export { encodePng } from "./png.ts";
