export { collectCompletion, completionEvents, type CompletionEvent, type CompletionFinish } from "./completion.ts";
export { EdgeEncoderCache, FeatureCache, edgeFeatureSource, gpuFeatureSource, type FeatureSource } from "./features.ts";
export {
  PREPROCESS_VERSION,
  createFileKeys,
  imageBytes,
  isPrivateHost,
  prepareImage,
  type FileKeys,
  type ImageLimits,
  type PreparedImage,
} from "./images.ts";
export { chatAnswerIdentity, chatChunk, chatCompletion, usageChunk, usageOf, type ChatAnswerIdentity } from "./openai-shapes.ts";
export { readChatRequest, type ChatRequest } from "./request.ts";
export { runCompletion, type Completion, type CompletionContext, type CompletionInput } from "./run-completion.ts";
export { HeldKeys, generate, type UpstreamRequest } from "./upstream.ts";
