export { Checkpoint, INDEX_FILE } from "./checkpoint.ts";
export {
  type AlignerSpec,
  LLAMA_DEFAULTS,
  type LlmSpec,
  type ModelSpec,
  parseConfig,
  SAM_MODEL,
  type SamSpec,
  SIGLIP_MODEL,
  type SiglipSpec,
} from "./config.ts";
export { CheckpointError } from "./errors.ts";
export {
  MAX_HEADER_BYTES,
  readSafetensorsHeader,
  SAFETENSORS_DTYPE_BYTES,
  type SafetensorsHeader,
  type TensorEntry,
} from "./safetensors.ts";
export { expectedTensors, type TensorTable, validateTensors } from "./tensors.ts";
