import { z } from "zod";
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

// Each schema's message reads after the key's dotted path, which `parseConfig` puts in front of it.
const show = (input: unknown) => JSON.stringify(input); // `undefined` for an absent key

function fail(message: string): never {
  throw new CheckpointError(`config.json: ${message}`);
}

// Leaf checks are z.custom so each key fails with one message, not one per zod check or per array element.
const positiveInt = z.custom<number>((v) => Number.isInteger(v) && (v as number) > 0, {
  error: (issue) => `must be a positive integer, got ${show(issue.input)}`,
});
const positiveNumber = (error = "must be a positive number") => z.custom<number>((v) => typeof v === "number" && v > 0, { error });
const triple = z.custom<[number, number, number]>((v) => Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === "number"), {
  error: "must be three numbers",
});
const intList = z.custom<number[]>((v) => Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 0), {
  error: "must be a list of integers",
});
const object = <Shape extends z.core.$ZodLooseShape>(shape: Shape) => z.looseObject(shape, { error: "must be an object" });

/** The one value the converter handles; `note` says which, e.g. `expected sam_b_downsample`. */
const only = <const T extends string | number>(value: T, note: string) =>
  z.literal(value, { error: (issue) => `${show(issue.input)} is not supported (${note})` });

/** A key that takes `fallback` when absent or null (`?? fallback`), the fallback being checked like a value. */
const orDefault = <T extends z.ZodType>(schema: T, fallback: unknown) => z.preprocess((v) => v ?? fallback, schema);

const select = {
  select_layer: z.literal(-1, { error: (issue) => `${String(issue.input)} is not supported (only -1)` }).optional(),
  select_feature: only("same", 'only "same"').optional(),
};

const SiglipCfg = object({
  model_name: only(SIGLIP_MODEL, `expected ${SIGLIP_MODEL}`),
  ...select,
  width: orDefault(positiveInt, 1024),
  mlp_ratio: orDefault(positiveNumber("is invalid"), 4),
  image_size: orDefault(positiveInt, 384),
  layers: orDefault(positiveInt, 24),
  heads: orDefault(positiveInt, 16),
  pixel_mean: triple.default([0.5, 0.5, 0.5]),
  pixel_std: triple.default([0.5, 0.5, 0.5]),
});

const SamCfg = object({
  model_name: only(SAM_MODEL, `expected ${SAM_MODEL}`),
  ...select,
  image_size: orDefault(positiveInt.pipe(only(1024, "SAM-B takes 1024")), 1024),
  encoder_depth: orDefault(positiveInt, 12),
  encoder_global_attn_indexes: orDefault(intList, [2, 5, 8, 11]),
  downsample_channels: orDefault(
    intList.refine((list) => list.length === 2, { error: "must have two entries" }),
    [512, 1024],
  ),
  encoder_embed_dim: orDefault(positiveInt, 768),
  encoder_num_heads: orDefault(positiveInt, 12),
  prompt_embed_dim: orDefault(positiveInt, 256),
  pixel_mean: triple,
  pixel_std: triple,
});

const d = LLAMA_DEFAULTS;
const Language = object({
  model_type: only("llama", "llama").optional(),
  rope_scaling: z.null({ error: "is not supported" }).optional(),
  hidden_act: only("silu", "silu").optional(),
  hidden_size: orDefault(positiveInt, d.hidden_size),
  num_attention_heads: orDefault(positiveInt, d.num_attention_heads),
  num_key_value_heads: positiveInt.nullish(), // defaults to num_attention_heads
  head_dim: positiveInt.nullish(), // defaults to hidden_size / num_attention_heads
  rope_theta: orDefault(positiveNumber(), d.rope_theta),
  rms_norm_eps: orDefault(positiveNumber(), d.rms_norm_eps),
  num_hidden_layers: orDefault(positiveInt, d.num_hidden_layers),
  intermediate_size: orDefault(positiveInt, d.intermediate_size),
  vocab_size: orDefault(positiveInt, d.vocab_size),
  max_position_embeddings: orDefault(positiveInt, d.max_position_embeddings),
});

const ConfigJson = z.looseObject(
  {
    vision_config: z.discriminatedUnion(
      "cls",
      [
        object({
          cls: z.literal("HybridVisionTower"),
          params: object({ concat_type: only("tuple", '"tuple"').optional(), high_res_cfg: SamCfg, low_res_cfg: SiglipCfg }),
        }),
        object({ cls: z.literal("CLIPVisionTower"), params: SiglipCfg }),
      ],
      {
        error: (issue) =>
          issue.code === "invalid_union"
            ? `${show((issue.input as { cls?: unknown }).cls)} is not supported (HybridVisionTower or CLIPVisionTower)`
            : "must be an object",
      },
    ),
    aligner_config: object({
      // projector_type is checked against the vision tower after parsing.
      params: object({ depth: orDefault(only(2, "2"), 1), input_dim: positiveInt, n_embed: positiveInt }),
    }),
    language_config: orDefault(Language, {}),
  },
  { error: "must be an object" },
);

function siglip(cfg: z.output<typeof SiglipCfg>, where: string, inputSize: number, prefix: string): SiglipSpec {
  const mlpDim = cfg.width * cfg.mlp_ratio;
  if (!Number.isInteger(mlpDim)) fail(`${where}.mlp_ratio is invalid`);
  if (cfg.width % cfg.heads !== 0) fail(`${where}.width ${cfg.width} is not divisible by heads ${cfg.heads}`);
  if (cfg.image_size % 16 !== 0) fail(`${where}.image_size ${cfg.image_size} is not a multiple of 16`);
  return {
    inputSize,
    imageSize: cfg.image_size,
    patchSize: 16,
    width: cfg.width,
    depth: cfg.layers,
    heads: cfg.heads,
    mlpDim,
    eps: 1e-6,
    pixelMean: cfg.pixel_mean,
    pixelStd: cfg.pixel_std,
    prefix,
  };
}

function sam(cfg: z.output<typeof SamCfg>, where: string, prefix: string): SamSpec {
  const globalIndexes = cfg.encoder_global_attn_indexes;
  if (globalIndexes.length === 0 || globalIndexes.some((i) => i >= cfg.encoder_depth))
    fail(`${where}.encoder_global_attn_indexes must name blocks below ${cfg.encoder_depth}`);
  if (cfg.encoder_embed_dim % cfg.encoder_num_heads !== 0) fail(`${where}.encoder_embed_dim is not divisible by encoder_num_heads`);
  return {
    imageSize: cfg.image_size,
    patchSize: 16,
    width: cfg.encoder_embed_dim,
    depth: cfg.encoder_depth,
    heads: cfg.encoder_num_heads,
    globalIndexes,
    windowSize: 14,
    neckDim: cfg.prompt_embed_dim,
    downsampleDims: cfg.downsample_channels as [number, number],
    resizeTo: 96,
    eps: 1e-6,
    pixelMean: cfg.pixel_mean,
    pixelStd: cfg.pixel_std,
    prefix,
  };
}

function llm(language: z.output<typeof Language>): LlmSpec {
  const where = "language_config";
  if (language.attention_bias === true || language.mlp_bias === true) fail(`${where}: biased attention/MLP is not supported`);
  if (language.tie_word_embeddings === true)
    fail(`${where}.tie_word_embeddings=true is not supported (DeepSeek-VL has a separate lm_head)`);
  const { hidden_size: hiddenSize, num_attention_heads: numHeads } = language;
  const numKeyValueHeads = language.num_key_value_heads ?? numHeads;
  const headDim =
    language.head_dim ??
    (hiddenSize % numHeads === 0
      ? hiddenSize / numHeads
      : fail(`${where}: hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads}`));
  if (headDim * numHeads !== hiddenSize) fail(`${where}: hidden_size ${hiddenSize} is not num_attention_heads x head_dim`);
  if (numHeads % numKeyValueHeads !== 0) fail(`${where}: num_attention_heads is not a multiple of num_key_value_heads`);
  if (headDim % 2 !== 0) fail(`${where}: head_dim must be even for RoPE`);
  return {
    hiddenSize,
    numLayers: language.num_hidden_layers,
    numHeads,
    numKeyValueHeads,
    headDim,
    intermediateSize: language.intermediate_size,
    vocabSize: language.vocab_size,
    maxPositionEmbeddings: language.max_position_embeddings,
    ropeTheta: language.rope_theta,
    rmsNormEps: language.rms_norm_eps,
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
  const parsed = ConfigJson.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    fail(`${issue.path.join(".") || "(root)"} ${issue.message}`);
  }
  const { vision_config: vision, aligner_config: aligner, language_config: language } = parsed.data;

  let kind: ModelSpec["kind"];
  let siglipSpec: SiglipSpec;
  let samSpec: SamSpec | undefined;
  let featureDim: number;
  if (vision.cls === "HybridVisionTower") {
    kind = "hybrid";
    const { high_res_cfg: high, low_res_cfg: low } = vision.params;
    samSpec = sam(high, "vision_config.params.high_res_cfg", "vision_model.vision_tower_high.vision_tower.");
    siglipSpec = siglip(low, "vision_config.params.low_res_cfg", samSpec.imageSize, "vision_model.vision_tower_low.vision_tower.");
    featureDim = samSpec.downsampleDims[1];
    if (siglipSpec.width !== featureDim) fail(`SigLIP width ${siglipSpec.width} differs from SAM output ${featureDim}`);
    for (const [cfg, where, dim] of [
      [high, "high_res_cfg", featureDim],
      [low, "low_res_cfg", siglipSpec.width],
    ] as const) {
      if (cfg.output_dim !== undefined && cfg.output_dim !== dim)
        fail(`vision_config.params.${where}.output_dim ${cfg.output_dim} differs from the tower's ${dim}`);
    }
  } else {
    kind = "siglip";
    siglipSpec = siglip(vision.params, "vision_config.params", vision.params.image_size, "vision_model.vision_tower.");
    featureDim = siglipSpec.width;
  }

  const projectorType = aligner.params.projector_type;
  const expectedProjector = kind === "hybrid" ? "low_high_hybrid_split_mlp_gelu" : "mlp_gelu";
  if (projectorType !== expectedProjector) {
    fail(`aligner_config.params.projector_type ${show(projectorType)} is not supported with ${vision.cls} (expected ${expectedProjector})`);
  }
  const alignerSpec: AlignerSpec = { projectorType: expectedProjector, inputDim: aligner.params.input_dim, nEmbed: aligner.params.n_embed };
  const llmSpec = llm(language);
  if (alignerSpec.inputDim !== featureDim)
    fail(`aligner_config.params.input_dim ${alignerSpec.inputDim} differs from the vision feature width ${featureDim}`);
  if (alignerSpec.nEmbed !== llmSpec.hiddenSize)
    fail(`aligner_config.params.n_embed ${alignerSpec.nEmbed} differs from the LLM hidden_size ${llmSpec.hiddenSize}`);
  const grid = siglipSpec.imageSize / siglipSpec.patchSize;
  // SAM's 64x64 grid is resized to 96x96, then two stride-2 convs give 24x24: it must match SigLIP's grid.
  if (samSpec && samSpec.resizeTo / 4 !== grid) fail(`SAM output grid ${samSpec.resizeTo / 4} differs from SigLIP grid ${grid}`);
  return { kind, siglip: siglipSpec, sam: samSpec, aligner: alignerSpec, llm: llmSpec, featureDim, imageTokens: grid * grid };
}
