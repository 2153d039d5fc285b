// Plain-TypeScript reference forward of DeepSeek-VL (reference/deepseek-vl.md): the numerical oracle for the
// converter's ONNX graphs. Written from the specification only: float64 activations and accumulation, except
// where the official pipeline fixes float32 (the u8/255 rescale, PyTorch's resize weights).

export { alignerHybridSplit, alignerMlpGelu } from "./aligner.ts";
export { cosineSimilarity, maxAbs, maxAbsDifference } from "./compare.ts";
export {
  applyRope,
  argmax,
  embedTokens,
  greedyGenerate,
  llamaConfigFromLanguageConfig,
  llamaLogits,
  mergeImageEmbeddings,
  type GreedyOptions,
  type GreedyResult,
  type LlamaConfig,
  type LlamaForwardOptions,
} from "./llama.ts";
export { hybridImagePath, siglipImagePath, type ImagePath, type TowerSiglipOptions } from "./pipeline.ts";
export {
  antialiasedBilinearTaps,
  bilinearTaps,
  normalizeChannels,
  rescaleUint8,
  resizeAntialiasedBilinear,
  resizeBilinear,
  type Tap,
} from "./resize.ts";
export { loadCheckpoint } from "./checkpoint.ts";
export {
  CLIP_MEAN,
  CLIP_STD,
  SAM_PREFIX,
  samAttention,
  samBlockAttention,
  samDims,
  samEncoder,
  windowMerge,
  windowPartition,
  type SamDims,
  type SamOptions,
} from "./sam.ts";
export { SIGLIP_PREFIX_1_3B, SIGLIP_PREFIX_7B, siglipDims, siglipEncoder, type SiglipDims, type SiglipOptions } from "./siglip.ts";
export {
  ReferenceInputError,
  ReferenceWeightError,
  requireWeight,
  weightMap,
  type PixelBatch,
  type Tensor64,
  type WeightLookup,
  type WeightTensor,
} from "./weights.ts";
