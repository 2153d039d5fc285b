export { type CompletionEvent, type CompletionFinish, collectCompletion, completionEvents } from "./completion.ts";
export { EdgeEncoderCache, edgeFeatureSource, FeatureCache, type FeatureSource, gpuFeatureSource } from "./features.ts";
export {
  createFileKeys,
  type FileKeys,
  type ImageLimits,
  imageBytes,
  isPrivateHost,
  PREPROCESS_VERSION,
  type PreparedImage,
  prepareImage,
} from "./images.ts";
export { type ChatAnswerIdentity, chatAnswerIdentity, chatChunk, chatCompletion, usageChunk, usageOf } from "./openai-shapes.ts";
export { type ChatRequest, readChatRequest } from "./request.ts";
export { type Completion, type CompletionContext, type CompletionInput, runCompletion } from "./run-completion.ts";
export { generate, HeldKeys, type UpstreamRequest } from "./upstream.ts";
