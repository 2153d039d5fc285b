export { GenerationEngine, type EngineOptions, type FinishReason, type GenerationRequest, type GenerationResult } from "./engine.ts";
export { VisionLanguageModel } from "./model.ts";
export { EXECUTION_PROVIDERS, type ExecutionProvider } from "./sessions.ts";
export { ImageNotCachedError, VisionEncoder, type ImageInput, type VisionRuns } from "./vision.ts";
export { toFloat16Bits } from "./activations.ts";
export { startRuntime, type Runtime } from "./runtime.ts";
