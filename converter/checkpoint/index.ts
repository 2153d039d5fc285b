export { Checkpoint, INDEX_FILE } from "./checkpoint.ts";
export {
  LLAMA_DEFAULTS,
  SAM_MODEL,
  SIGLIP_MODEL,
  parseConfig,
  type AlignerSpec,
  type LlmSpec,
  type ModelSpec,
  type SamSpec,
  type SiglipSpec,
} from "./config.ts";
export { CheckpointError } from "./errors.ts";
export { MAX_HEADER_BYTES, SAFETENSORS_DTYPE_BYTES, readSafetensorsHeader, type SafetensorsHeader, type TensorEntry } from "./safetensors.ts";
export { expectedTensors, validateTensors, type TensorTable } from "./tensors.ts";
