import { CheckpointError } from "./errors.ts";

/**
 * What the converter needs to know about a checkpoint, read from its config.json (reference §1, §3-§6).
 *
 * Tower dimensions come from the official model names. A `--tiny` fixture may override them with explicit
 * fields (a documented extension, see converter/README.md), read only when present:
 * - SigLIP cfg: `width`, `layers`, `heads`, `mlp_ratio` (the names of DeepSeek's own SigLIP model table).
 * - SAM cfg: `encoder_embed_dim`, `encoder_depth`, `encoder_num_heads`, `encoder_global_attn_indexes`,
 *   `prompt_embed_dim` (neck channels), `downsample_channels` (the two stride-2 conv widths).
 */
export interface SiglipSpec {
  /** Side of the square image the tower's graph takes (384; 1024 when it downsamples the hybrid input). */
  inputSize: number;
  imageSize: number;
  patchSize: number;
  width: number;
  depth: number;
  heads: number;
  mlpDim: number;
  eps: number;
  pixelMean: [number, number, number];
  pixelStd: [number, number, number];
  /** Checkpoint tensor prefix, e.g. `vision_model.vision_tower.`. */
  prefix: string;
}

export interface SamSpec {
  imageSize: number;
  patchSize: number;
  width: number;
  depth: number;
  heads: number;
  globalIndexes: number[];
  windowSize: number;
  neckDim: number;
  downsampleDims: [number, number];
  /** Side of the neck output after the bilinear resize (96 for 1024 input). */
  resizeTo: number;
  eps: number;
  pixelMean: [number, number, number];
  pixelStd: [number, number, number];
  prefix: string;
}

export interface LlmSpec {
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  intermediateSize: number;
  vocabSize: number;
  maxPositionEmbeddings: number;
  ropeTheta: number;
  rmsNormEps: number;
}

export interface AlignerSpec {
  projectorType: "mlp_gelu" | "low_high_hybrid_split_mlp_gelu";
  inputDim: number;
  nEmbed: number;
}

export interface ModelSpec {
  kind: "hybrid" | "siglip";
  siglip: SiglipSpec;
  sam?: SamSpec;
  aligner: AlignerSpec;
  llm: LlmSpec;
  /** Feature width of each tower's output (the aligner's input). */
  featureDim: number;
  imageTokens: number;
}

export const SIGLIP_MODEL = "siglip_large_patch16_384";
export const SAM_MODEL = "sam_b_downsample";

/** transformers 4.38 LlamaConfig defaults, used for keys absent from `language_config` (reference §6). */
export const LLAMA_DEFAULTS = {
  vocab_size: 32000,
  hidden_size: 4096,
  intermediate_size: 11008,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  max_position_embeddings: 2048,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
} as const;

type Json = Record<string, unknown>;

function object(value: unknown, key: string): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new CheckpointError(`config.json: ${key} must be an object`);
  return value as Json;
}

function positive(obj: Json, key: string, where: string, fallback?: number): number {
  const value = obj[key] ?? fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) {
    throw new CheckpointError(`config.json: ${where}.${key} must be a positive integer, got ${JSON.stringify(obj[key])}`);
  }
  return value;
}

function triple(obj: Json, key: string, where: string): [number, number, number] {
  const value = obj[key];
  if (!Array.isArray(value) || value.length !== 3 || !value.every((v) => typeof v === "number")) {
    throw new CheckpointError(`config.json: ${where}.${key} must be three numbers`);
  }
  return value as [number, number, number];
}

function intList(obj: Json, key: string, where: string, fallback: number[]): number[] {
  const value = obj[key] ?? fallback;
  if (!Array.isArray(value) || !value.every((v) => Number.isInteger(v) && v >= 0))
    throw new CheckpointError(`config.json: ${where}.${key} must be a list of integers`);
  return value as number[];
}

function checkModelName(cfg: Json, where: string, expected: string): void {
  if (cfg.model_name !== expected) {
    throw new CheckpointError(`config.json: ${where}.model_name ${JSON.stringify(cfg.model_name)} is not supported (expected ${expected})`);
  }
}

function checkSelect(cfg: Json, where: string): void {
  if (cfg.select_layer !== undefined && cfg.select_layer !== -1)
    throw new CheckpointError(`config.json: ${where}.select_layer ${cfg.select_layer} is not supported (only -1)`);
  if (cfg.select_feature !== undefined && cfg.select_feature !== "same")
    throw new CheckpointError(`config.json: ${where}.select_feature ${JSON.stringify(cfg.select_feature)} is not supported (only "same")`);
}

function siglip(cfg: Json, where: string, inputSize: number, prefix: string): SiglipSpec {
  checkModelName(cfg, where, SIGLIP_MODEL);
  checkSelect(cfg, where);
  const width = positive(cfg, "width", where, 1024);
  const mlpRatio = cfg.mlp_ratio ?? 4;
  if (typeof mlpRatio !== "number" || mlpRatio <= 0 || !Number.isInteger(width * mlpRatio))
    throw new CheckpointError(`config.json: ${where}.mlp_ratio is invalid`);
  const spec: SiglipSpec = {
    inputSize,
    imageSize: positive(cfg, "image_size", where, 384),
    patchSize: 16,
    width,
    depth: positive(cfg, "layers", where, 24),
    heads: positive(cfg, "heads", where, 16),
    mlpDim: width * mlpRatio,
    eps: 1e-6,
    pixelMean: cfg.pixel_mean === undefined ? [0.5, 0.5, 0.5] : triple(cfg, "pixel_mean", where),
    pixelStd: cfg.pixel_std === undefined ? [0.5, 0.5, 0.5] : triple(cfg, "pixel_std", where),
    prefix,
  };
  if (spec.width % spec.heads !== 0)
    throw new CheckpointError(`config.json: ${where}.width ${spec.width} is not divisible by heads ${spec.heads}`);
  if (spec.imageSize % spec.patchSize !== 0)
    throw new CheckpointError(`config.json: ${where}.image_size ${spec.imageSize} is not a multiple of 16`);
  return spec;
}

function sam(cfg: Json, where: string, prefix: string): SamSpec {
  checkModelName(cfg, where, SAM_MODEL);
  checkSelect(cfg, where);
  const imageSize = positive(cfg, "image_size", where, 1024);
  if (imageSize !== 1024) throw new CheckpointError(`config.json: ${where}.image_size ${imageSize} is not supported (SAM-B takes 1024)`);
  const depth = positive(cfg, "encoder_depth", where, 12);
  const globalIndexes = intList(cfg, "encoder_global_attn_indexes", where, [2, 5, 8, 11]);
  if (globalIndexes.length === 0 || globalIndexes.some((i) => i >= depth))
    throw new CheckpointError(`config.json: ${where}.encoder_global_attn_indexes must name blocks below ${depth}`);
  const downsample = intList(cfg, "downsample_channels", where, [512, 1024]);
  if (downsample.length !== 2) throw new CheckpointError(`config.json: ${where}.downsample_channels must have two entries`);
  const spec: SamSpec = {
    imageSize,
    patchSize: 16,
    width: positive(cfg, "encoder_embed_dim", where, 768),
    depth,
    heads: positive(cfg, "encoder_num_heads", where, 12),
    globalIndexes,
    windowSize: 14,
    neckDim: positive(cfg, "prompt_embed_dim", where, 256),
    downsampleDims: downsample as [number, number],
    resizeTo: 96,
    eps: 1e-6,
    pixelMean: triple(cfg, "pixel_mean", where),
    pixelStd: triple(cfg, "pixel_std", where),
    prefix,
  };
  if (spec.width % spec.heads !== 0)
    throw new CheckpointError(`config.json: ${where}.encoder_embed_dim is not divisible by encoder_num_heads`);
  return spec;
}

function llm(language: Json): LlmSpec {
  const where = "language_config";
  if (language.model_type !== undefined && language.model_type !== "llama")
    throw new CheckpointError(`config.json: ${where}.model_type ${JSON.stringify(language.model_type)} is not supported (llama)`);
  if (language.rope_scaling !== undefined && language.rope_scaling !== null)
    throw new CheckpointError(`config.json: ${where}.rope_scaling is not supported`);
  if (language.hidden_act !== undefined && language.hidden_act !== "silu")
    throw new CheckpointError(`config.json: ${where}.hidden_act ${JSON.stringify(language.hidden_act)} is not supported (silu)`);
  if (language.attention_bias === true || language.mlp_bias === true)
    throw new CheckpointError(`config.json: ${where}: biased attention/MLP is not supported`);
  if (language.tie_word_embeddings === true)
    throw new CheckpointError(`config.json: ${where}.tie_word_embeddings=true is not supported (DeepSeek-VL has a separate lm_head)`);
  const d = LLAMA_DEFAULTS;
  const hiddenSize = positive(language, "hidden_size", where, d.hidden_size);
  const numHeads = positive(language, "num_attention_heads", where, d.num_attention_heads);
  const numKeyValueHeads = positive(language, "num_key_value_heads", where, numHeads);
  if (language.head_dim === undefined && hiddenSize % numHeads !== 0)
    throw new CheckpointError(`config.json: ${where}: hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads}`);
  const headDim = positive(language, "head_dim", where, hiddenSize / numHeads);
  if (headDim * numHeads !== hiddenSize)
    throw new CheckpointError(`config.json: ${where}: hidden_size ${hiddenSize} is not num_attention_heads x head_dim`);
  if (numHeads % numKeyValueHeads !== 0)
    throw new CheckpointError(`config.json: ${where}: num_attention_heads is not a multiple of num_key_value_heads`);
  if (headDim % 2 !== 0) throw new CheckpointError(`config.json: ${where}: head_dim must be even for RoPE`);
  const number = (key: "rms_norm_eps" | "rope_theta"): number => {
    const value = language[key] ?? d[key];
    if (typeof value !== "number" || !(value > 0)) throw new CheckpointError(`config.json: ${where}.${key} must be a positive number`);
    return value;
  };
  return {
    hiddenSize,
    numLayers: positive(language, "num_hidden_layers", where, d.num_hidden_layers),
    numHeads,
    numKeyValueHeads,
    headDim,
    intermediateSize: positive(language, "intermediate_size", where, d.intermediate_size),
    vocabSize: positive(language, "vocab_size", where, d.vocab_size),
    maxPositionEmbeddings: positive(language, "max_position_embeddings", where, d.max_position_embeddings),
    ropeTheta: number("rope_theta"),
    rmsNormEps: number("rms_norm_eps"),
  };
}

/** Parses config.json text of an official DeepSeek-VL checkpoint into the converter's model spec. */
export function parseConfig(text: string): ModelSpec {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CheckpointError(`config.json is not valid JSON: ${(error as Error).message}`);
  }
  const root = object(json, "(root)");
  const vision = object(root.vision_config, "vision_config");
  const visionParams = object(vision.params, "vision_config.params");
  const aligner = object(root.aligner_config, "aligner_config");
  const alignerParams = object(aligner.params, "aligner_config.params");
  const language = object(root.language_config ?? {}, "language_config");

  let kind: ModelSpec["kind"];
  let siglipSpec: SiglipSpec;
  let samSpec: SamSpec | undefined;
  let featureDim: number;
  if (vision.cls === "HybridVisionTower") {
    kind = "hybrid";
    if (visionParams.concat_type !== undefined && visionParams.concat_type !== "tuple") {
      throw new CheckpointError(
        `config.json: vision_config.params.concat_type ${JSON.stringify(visionParams.concat_type)} is not supported ("tuple")`,
      );
    }
    const high = object(visionParams.high_res_cfg, "vision_config.params.high_res_cfg");
    const low = object(visionParams.low_res_cfg, "vision_config.params.low_res_cfg");
    samSpec = sam(high, "vision_config.params.high_res_cfg", "vision_model.vision_tower_high.vision_tower.");
    siglipSpec = siglip(low, "vision_config.params.low_res_cfg", samSpec.imageSize, "vision_model.vision_tower_low.vision_tower.");
    featureDim = samSpec.downsampleDims[1];
    if (siglipSpec.width !== featureDim)
      throw new CheckpointError(`config.json: SigLIP width ${siglipSpec.width} differs from SAM output ${featureDim}`);
    for (const [cfg, where, dim] of [
      [high, "high_res_cfg", featureDim],
      [low, "low_res_cfg", siglipSpec.width],
    ] as const) {
      if (cfg.output_dim !== undefined && cfg.output_dim !== dim)
        throw new CheckpointError(
          `config.json: vision_config.params.${where}.output_dim ${cfg.output_dim} differs from the tower's ${dim}`,
        );
    }
  } else if (vision.cls === "CLIPVisionTower") {
    kind = "siglip";
    siglipSpec = siglip(
      visionParams,
      "vision_config.params",
      positive(visionParams, "image_size", "vision_config.params", 384),
      "vision_model.vision_tower.",
    );
    featureDim = siglipSpec.width;
  } else {
    throw new CheckpointError(
      `config.json: vision_config.cls ${JSON.stringify(vision.cls)} is not supported (HybridVisionTower or CLIPVisionTower)`,
    );
  }

  const projectorType = alignerParams.projector_type;
  const expectedProjector = kind === "hybrid" ? "low_high_hybrid_split_mlp_gelu" : "mlp_gelu";
  if (projectorType !== expectedProjector) {
    throw new CheckpointError(
      `config.json: aligner_config.params.projector_type ${JSON.stringify(projectorType)} is not supported with ${vision.cls} (expected ${expectedProjector})`,
    );
  }
  const depth = alignerParams.depth ?? 1;
  if (depth !== 2) throw new CheckpointError(`config.json: aligner_config.params.depth ${JSON.stringify(depth)} is not supported (2)`);
  const alignerSpec: AlignerSpec = {
    projectorType: expectedProjector,
    inputDim: positive(alignerParams, "input_dim", "aligner_config.params"),
    nEmbed: positive(alignerParams, "n_embed", "aligner_config.params"),
  };
  const llmSpec = llm(language);
  if (alignerSpec.inputDim !== featureDim)
    throw new CheckpointError(
      `config.json: aligner_config.params.input_dim ${alignerSpec.inputDim} differs from the vision feature width ${featureDim}`,
    );
  if (alignerSpec.nEmbed !== llmSpec.hiddenSize)
    throw new CheckpointError(
      `config.json: aligner_config.params.n_embed ${alignerSpec.nEmbed} differs from the LLM hidden_size ${llmSpec.hiddenSize}`,
    );
  const grid = siglipSpec.imageSize / siglipSpec.patchSize;
  // SAM's 64x64 grid is resized to 96x96, then two stride-2 convs give 24x24: it must match SigLIP's grid.
  if (samSpec && samSpec.resizeTo / 4 !== grid)
    throw new CheckpointError(`config.json: SAM output grid ${samSpec.resizeTo / 4} differs from SigLIP grid ${grid}`);
  return { kind, siglip: siglipSpec, sam: samSpec, aligner: alignerSpec, llm: llmSpec, featureDim, imageTokens: grid * grid };
}
