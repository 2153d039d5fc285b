// Plain-TypeScript reference forward of DeepSeek-VL (reference/deepseek-vl.md): the numerical oracle for the
// converter's ONNX graphs. Written from the specification only: float64 activations and accumulation, except
// where the official pipeline fixes float32 (the u8/255 rescale, PyTorch's resize weights).

export { alignerHybridSplit, alignerMlpGelu } from "./aligner.ts";
export { loadCheckpoint } from "./checkpoint.ts";
export { cosineSimilarity, maxAbs, maxAbsDifference } from "./compare.ts";
export {
  applyRope,
  argmax,
  embedTokens,
  type GreedyOptions,
  type GreedyResult,
  greedyGenerate,
  type LlamaConfig,
  type LlamaForwardOptions,
  llamaConfigFromLanguageConfig,
  llamaLogits,
  mergeImageEmbeddings,
} from "./llama.ts";
export { hybridImagePath, type ImagePath, siglipImagePath, type TowerSiglipOptions } from "./pipeline.ts";
export {
  antialiasedBilinearTaps,
  bilinearTaps,
  normalizeChannels,
  rescaleUint8,
  resizeAntialiasedBilinear,
  resizeBilinear,
  type Tap,
} from "./resize.ts";
export {
  CLIP_MEAN,
  CLIP_STD,
  SAM_PREFIX,
  type SamDims,
  type SamOptions,
  samAttention,
  samBlockAttention,
  samDims,
  samEncoder,
  windowMerge,
  windowPartition,
} from "./sam.ts";
export { SIGLIP_PREFIX_1_3B, SIGLIP_PREFIX_7B, type SiglipDims, type SiglipOptions, siglipDims, siglipEncoder } from "./siglip.ts";
export {
  type PixelBatch,
  ReferenceInputError,
  ReferenceWeightError,
  requireWeight,
  type Tensor64,
  type WeightLookup,
  type WeightTensor,
  weightMap,
} from "./weights.ts";
