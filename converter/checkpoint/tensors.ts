import type { ModelSpec, SamSpec, SiglipSpec } from "./config.ts";
import { CheckpointError } from "./errors.ts";
import type { TensorEntry } from "./safetensors.ts";

/** Tensor name -> shape, in the official naming (reference §10). */
export type TensorTable = Map<string, number[]>;

function add(table: TensorTable, prefix: string, entries: Record<string, number[]>): void {
  for (const [name, shape] of Object.entries(entries)) table.set(prefix + name, shape);
}

function linear(name: string, out: number, inp: number, bias = true): Record<string, number[]> {
  return bias ? { [`${name}.weight`]: [out, inp], [`${name}.bias`]: [out] } : { [`${name}.weight`]: [out, inp] };
}

const norm = (name: string, dim: number) => ({ [`${name}.weight`]: [dim], [`${name}.bias`]: [dim] });

function siglipTensors(table: TensorTable, s: SiglipSpec): void {
  const grid = s.imageSize / s.patchSize;
  add(table, s.prefix, {
    "patch_embed.proj.weight": [s.width, 3, s.patchSize, s.patchSize],
    "patch_embed.proj.bias": [s.width],
    pos_embed: [1, grid * grid, s.width],
    ...norm("norm", s.width),
  });
  for (let n = 0; n < s.depth; n++) {
    add(table, `${s.prefix}blocks.${n}.`, {
      ...norm("norm1", s.width),
      ...norm("norm2", s.width),
      ...linear("attn.qkv", 3 * s.width, s.width),
      ...linear("attn.proj", s.width, s.width),
      ...linear("mlp.fc1", s.mlpDim, s.width),
      ...linear("mlp.fc2", s.width, s.mlpDim),
    });
  }
  // The MAP pooling head is in the checkpoint but unused (reference §4).
  add(table, `${s.prefix}attn_pool.`, {
    latent: [1, 1, s.width],
    ...linear("q", s.width, s.width),
    ...linear("kv", 2 * s.width, s.width),
    ...linear("proj", s.width, s.width),
    ...norm("norm", s.width),
    ...linear("mlp.fc1", s.mlpDim, s.width),
    ...linear("mlp.fc2", s.width, s.mlpDim),
  });
}

function samNeck(name: string, s: SamSpec): Record<string, number[]> {
  return {
    [`${name}.0.weight`]: [s.neckDim, s.width, 1, 1],
    ...norm(`${name}.1`, s.neckDim),
    [`${name}.2.weight`]: [s.neckDim, s.neckDim, 3, 3],
    ...norm(`${name}.3`, s.neckDim),
  };
}

function samTensors(table: TensorTable, s: SamSpec): void {
  const grid = s.imageSize / s.patchSize;
  const headDim = s.width / s.heads;
  add(table, s.prefix, {
    "patch_embed.proj.weight": [s.width, 3, s.patchSize, s.patchSize],
    "patch_embed.proj.bias": [s.width],
    pos_embed: [1, grid, grid, s.width],
    ...samNeck("neck", s),
    ...samNeck("neck_hd", s),
    "downsamples.0.weight": [s.downsampleDims[0], s.neckDim, 3, 3],
    "downsamples.1.weight": [s.downsampleDims[1], s.downsampleDims[0], 3, 3],
    hd_alpha_downsamples: [1],
  });
  for (let n = 0; n < s.depth; n++) {
    const size = s.globalIndexes.includes(n) ? grid : s.windowSize;
    add(table, `${s.prefix}blocks.${n}.`, {
      ...norm("norm1", s.width),
      ...norm("norm2", s.width),
      ...linear("attn.qkv", 3 * s.width, s.width),
      ...linear("attn.proj", s.width, s.width),
      "attn.rel_pos_h": [2 * size - 1, headDim],
      "attn.rel_pos_w": [2 * size - 1, headDim],
      ...linear("mlp.lin1", 4 * s.width, s.width),
      ...linear("mlp.lin2", s.width, 4 * s.width),
    });
  }
}

/** Every tensor an official checkpoint of this spec holds, with its shape. */
export function expectedTensors(spec: ModelSpec): TensorTable {
  const table: TensorTable = new Map();
  if (spec.sam) samTensors(table, spec.sam);
  siglipTensors(table, spec.siglip);
  const a = spec.aligner;
  if (spec.kind === "hybrid") {
    // Built by HybridVisionTower but never used in forward (reference §5.3).
    add(table, "vision_model.", { ...norm("high_layer_norm", spec.featureDim), ...norm("low_layer_norm", spec.featureDim) });
    add(table, "aligner.", {
      ...linear("high_up_proj", a.nEmbed / 2, a.inputDim),
      ...linear("low_up_proj", a.nEmbed / 2, a.inputDim),
      ...linear("layers.1", a.nEmbed, a.nEmbed),
    });
  } else {
    add(table, "aligner.", { ...linear("layers.0", a.nEmbed, a.inputDim), ...linear("layers.2", a.nEmbed, a.nEmbed) });
  }
  const l = spec.llm;
  const kv = l.numKeyValueHeads * l.headDim;
  add(table, "language_model.", {
    "model.embed_tokens.weight": [l.vocabSize, l.hiddenSize],
    "model.norm.weight": [l.hiddenSize],
    "lm_head.weight": [l.vocabSize, l.hiddenSize],
  });
  for (let i = 0; i < l.numLayers; i++) {
    add(table, `language_model.model.layers.${i}.`, {
      ...linear("self_attn.q_proj", l.numHeads * l.headDim, l.hiddenSize, false),
      ...linear("self_attn.k_proj", kv, l.hiddenSize, false),
      ...linear("self_attn.v_proj", kv, l.hiddenSize, false),
      ...linear("self_attn.o_proj", l.hiddenSize, l.numHeads * l.headDim, false),
      ...linear("mlp.gate_proj", l.intermediateSize, l.hiddenSize, false),
      ...linear("mlp.up_proj", l.intermediateSize, l.hiddenSize, false),
      ...linear("mlp.down_proj", l.hiddenSize, l.intermediateSize, false),
      "input_layernorm.weight": [l.hiddenSize],
      "post_attention_layernorm.weight": [l.hiddenSize],
    });
  }
  return table;
}

const FLOATS = new Set(["F16", "BF16", "F32"]);

/**
 * Checks the checkpoint's tensors against the expected table: the first missing, unexpected, mis-shaped or
 * non-float tensor is reported by name.
 */
export function validateTensors(actual: ReadonlyMap<string, TensorEntry>, expected: TensorTable): void {
  for (const [name, shape] of expected) {
    const entry = actual.get(name);
    if (!entry) throw new CheckpointError(`missing tensor ${name} (expected shape [${shape.join(",")}])`);
    if (entry.shape.length !== shape.length || entry.shape.some((d, i) => d !== shape[i])) {
      throw new CheckpointError(`tensor ${name} has shape [${entry.shape.join(",")}], expected [${shape.join(",")}]`);
    }
    if (!FLOATS.has(entry.dtype)) throw new CheckpointError(`tensor ${name} has dtype ${entry.dtype}; expected F16, BF16 or F32`);
  }
  for (const name of actual.keys()) {
    if (!expected.has(name)) throw new CheckpointError(`unexpected tensor ${name} (not part of this model's layout)`);
  }
}
