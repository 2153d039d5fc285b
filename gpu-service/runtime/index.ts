export { toFloat16Bits } from "./activations.ts";
export { RuntimeError } from "./errors.ts";
export type { PrefixCacheStats } from "./prefix-cache.ts";
export { type Runtime, type RuntimeOptions, startRuntime } from "./runtime.ts";
export { EXECUTION_PROVIDERS, type ExecutionProvider } from "./sessions.ts";
export type { ImageInput, VisionRuns } from "./vision.ts";
