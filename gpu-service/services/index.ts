export { diagnosticsService } from "./diagnostics.ts";
export { inferenceService } from "./inference.ts";
