export { createSiglipEncoder, DEFAULT_MAX_MODEL_BYTES, type SiglipEncoder, type SiglipEncoderOptions } from "./encoder.ts";
export { SiglipEncoderError, type SiglipEncoderErrorCode } from "./errors.ts";
export { workerdOrtWasm } from "./workerd-wasm.ts";
