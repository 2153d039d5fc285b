export type { CompletionFinish, LogprobEntry } from "./completion.ts";
export { EdgeEncoderCache, type FeatureCache } from "./features.ts";
export { createFileKeys, type FileKeys } from "./image-keys.ts";
export { chatAnswerIdentity, chatChunk, chatCompletion, usageChunk } from "./openai-shapes.ts";
export { MAX_TOP_LOGPROBS, readChatRequest } from "./request.ts";
export { type CompletionInput, completeWhole, runCompletion } from "./run-completion.ts";
export { HeldKeys } from "./upstream.ts";
