export { completionEvents, type CompletionEvent } from "./completion.ts";
export { FeatureCache, edgeFeatureSource, gpuFeatureSource, type FeatureSource } from "./features.ts";
export { PREPROCESS_VERSION, imageBytes, isPrivateHost, prepareImage, type ImageLimits, type PreparedImage } from "./images.ts";
export { readChatRequest, type ChatRequest } from "./request.ts";
export { HeldKeys, generate, type UpstreamRequest } from "./upstream.ts";
