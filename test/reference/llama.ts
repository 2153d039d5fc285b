// The language model of reference §6 (DeepSeek-LLM run as LlamaForCausalLM), the image-embedding merge
// of §8.4 and greedy decoding. Every forward recomputes the whole sequence: no KV cache, by design, so the
// graph's cache handling is checked against a computation that has none.

import { addInPlace, linear, mapInPlace, multiHeadAttention, rmsNorm, silu } from "./ops.ts";
import { ReferenceInputError, requireWeight, type Tensor64, type WeightLookup } from "./weights.ts";

const MODEL = "language_model.model.";
const LM_HEAD = "language_model.lm_head.weight";

export interface LlamaConfig {
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  intermediateSize: number;
  vocabSize: number;
  ropeTheta: number;
  rmsNormEps: number;
}

/**
 * Reads the checkpoint's `language_config` with the transformers LlamaConfig defaults for absent keys
 * (reference §6: hidden 4096, 32 layers, 32 heads, kv heads = heads, FFN 11008, θ 10000, eps 1e-6).
 */
export function llamaConfigFromLanguageConfig(languageConfig: Record<string, unknown>): LlamaConfig {
  const read = (key: string, fallback: number): number => {
    const value = languageConfig[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "number") throw new ReferenceInputError(`language_config.${key} is not a number`);
    return value;
  };
  if (languageConfig.rope_scaling !== undefined && languageConfig.rope_scaling !== null) {
    throw new ReferenceInputError("language_config.rope_scaling is not part of the specification");
  }
  const hiddenSize = read("hidden_size", 4096);
  const numHeads = read("num_attention_heads", 32);
  return {
    hiddenSize,
    numLayers: read("num_hidden_layers", 32),
    numHeads,
    numKeyValueHeads: read("num_key_value_heads", numHeads),
    headDim: hiddenSize / numHeads,
    intermediateSize: read("intermediate_size", 11008),
    vocabSize: read("vocab_size", 32000),
    ropeTheta: read("rope_theta", 10000),
    rmsNormEps: read("rms_norm_eps", 1e-6),
  };
}

/** `embed_tokens` lookup: ids → [T, hidden]. */
export function embedTokens(weights: WeightLookup, config: LlamaConfig, ids: readonly number[]): Float64Array {
  const table = requireWeight(weights, `${MODEL}embed_tokens.weight`, [config.vocabSize, config.hiddenSize]);
  const h = config.hiddenSize;
  const out = new Float64Array(ids.length * h);
  ids.forEach((id, t) => {
    if (!Number.isInteger(id) || id < 0 || id >= config.vocabSize)
      throw new ReferenceInputError(`token id ${id} is outside the vocabulary`);
    for (let i = 0; i < h; i++) out[t * h + i] = table.data[id * h + i]!;
  });
  return out;
}

/**
 * Rotate-half RoPE in place on [T, heads·headDim]: per head, with half = headDim/2 and
 * angle_i = position · θ^(−2i/headDim): x'[i] = x[i]·cos − x[i+half]·sin, x'[i+half] = x[i+half]·cos + x[i]·sin.
 */
export function applyRope(x: Float64Array, positions: readonly number[], heads: number, headDim: number, theta: number): Float64Array {
  const half = headDim / 2;
  positions.forEach((position, t) => {
    for (let i = 0; i < half; i++) {
      const angle = position * theta ** ((-2 * i) / headDim);
      const cos = Math.cos(angle);
      const sin = Math.sin(angle);
      for (let head = 0; head < heads; head++) {
        const offset = (t * heads + head) * headDim;
        const a = x[offset + i]!;
        const b = x[offset + i + half]!;
        x[offset + i] = a * cos - b * sin;
        x[offset + i + half] = b * cos + a * sin;
      }
    }
  });
  return x;
}

export interface LlamaForwardOptions {
  /** One RoPE position per row of the embeddings. */
  positions: readonly number[];
  /** Logits for every position (default) or only the last. */
  outputs?: "all" | "last";
}

/** Causal LM forward from input embeddings [T, hidden]: logits [T, vocab] (or [1, vocab]). */
export function llamaLogits(weights: WeightLookup, config: LlamaConfig, embeds: Float64Array, options: LlamaForwardOptions): Float64Array {
  const { hiddenSize: h, numHeads, numKeyValueHeads: kvHeads, headDim, rmsNormEps: eps } = config;
  const tokens = options.positions.length;
  if (headDim % 2 !== 0) throw new ReferenceInputError(`llama: rotate-half RoPE needs an even head_dim, got ${headDim}`);
  if (embeds.length !== tokens * h)
    throw new ReferenceInputError(`llama: ${embeds.length} embedding values for ${tokens} positions of width ${h}`);
  const w = (name: string, shape: number[]) => requireWeight(weights, name, shape);
  const x = Float64Array.from(embeds);
  for (let l = 0; l < config.numLayers; l++) {
    const layer = `${MODEL}layers.${l}.`;
    const normed = rmsNorm(x, h, w(`${layer}input_layernorm.weight`, [h]), eps);
    const q = applyRope(
      linear(normed, tokens, w(`${layer}self_attn.q_proj.weight`, [numHeads * headDim, h])),
      options.positions,
      numHeads,
      headDim,
      config.ropeTheta,
    );
    const k = applyRope(
      linear(normed, tokens, w(`${layer}self_attn.k_proj.weight`, [kvHeads * headDim, h])),
      options.positions,
      kvHeads,
      headDim,
      config.ropeTheta,
    );
    const v = linear(normed, tokens, w(`${layer}self_attn.v_proj.weight`, [kvHeads * headDim, h]));
    const attended = multiHeadAttention(q, k, v, {
      queries: tokens,
      keys: tokens,
      heads: numHeads,
      kvHeads,
      headDim,
      scale: 1 / Math.sqrt(headDim),
      causal: true,
    });
    addInPlace(x, linear(attended, tokens, w(`${layer}self_attn.o_proj.weight`, [h, numHeads * headDim])));

    const normed2 = rmsNorm(x, h, w(`${layer}post_attention_layernorm.weight`, [h]), eps);
    const gate = mapInPlace(linear(normed2, tokens, w(`${layer}mlp.gate_proj.weight`, [config.intermediateSize, h])), silu);
    const up = linear(normed2, tokens, w(`${layer}mlp.up_proj.weight`, [config.intermediateSize, h]));
    for (let i = 0; i < gate.length; i++) gate[i] = gate[i]! * up[i]!;
    addInPlace(x, linear(gate, tokens, w(`${layer}mlp.down_proj.weight`, [h, config.intermediateSize])));
  }
  const rows = options.outputs === "last" ? x.subarray((tokens - 1) * h) : x;
  const final = rmsNorm(rows, h, w(`${MODEL}norm.weight`, [h]), eps);
  return linear(final, final.length / h, w(LM_HEAD, [config.vocabSize, h]));
}

/**
 * Reference §8.4: the k-th image-token position of the sequence takes the k-th image-token embedding
 * (images in order, tokens row-major). Every image contributes all its tokens, so the number of image-token
 * positions must equal N·tokens.
 */
export function mergeImageEmbeddings(
  embeds: Float64Array,
  ids: readonly number[],
  imageTokenId: number,
  imageEmbeds: Tensor64,
): Float64Array {
  const width = embeds.length / ids.length;
  if (imageEmbeds.shape.length !== 3 || imageEmbeds.shape[2] !== width) {
    throw new ReferenceInputError(`merge: image embeddings [${imageEmbeds.shape}] do not have width ${width}`);
  }
  const positions = ids.flatMap((id, t) => (id === imageTokenId ? [t] : []));
  const imageTokens = imageEmbeds.data.length / width;
  if (positions.length !== imageTokens) {
    throw new ReferenceInputError(`merge: ${positions.length} image-token positions for ${imageTokens} image-token embeddings`);
  }
  const out = Float64Array.from(embeds);
  positions.forEach((t, k) => out.set(imageEmbeds.data.subarray(k * width, (k + 1) * width), t * width));
  return out;
}

export interface GreedyOptions {
  inputIds: readonly number[];
  maxNewTokens: number;
  /** Image embeddings [N, tokens, hidden] merged at the `imageTokenId` positions. */
  imageEmbeds?: Tensor64;
  imageTokenId?: number;
  /** Stop after emitting this id (included in the result). */
  eosTokenId?: number;
}

export interface GreedyResult {
  tokens: number[];
  /** The last-position logits [vocab] that chose each token. */
  stepLogits: Float64Array[];
}

/** Greedy decoding (argmax, first index on ties), recomputing the full sequence at every step; positions 0..T−1. */
export function greedyGenerate(weights: WeightLookup, config: LlamaConfig, options: GreedyOptions): GreedyResult {
  let prompt = embedTokens(weights, config, options.inputIds);
  if (options.imageEmbeds !== undefined) {
    if (options.imageTokenId === undefined) throw new ReferenceInputError("greedy: imageEmbeds need an imageTokenId");
    prompt = mergeImageEmbeddings(prompt, options.inputIds, options.imageTokenId, options.imageEmbeds);
  }
  const tokens: number[] = [];
  const stepLogits: Float64Array[] = [];
  for (let step = 0; step < options.maxNewTokens; step++) {
    const generated = embedTokens(weights, config, tokens);
    const embeds = new Float64Array(prompt.length + generated.length);
    embeds.set(prompt);
    embeds.set(generated, prompt.length);
    const length = options.inputIds.length + tokens.length;
    const logits = llamaLogits(weights, config, embeds, { positions: Array.from({ length }, (_, i) => i), outputs: "last" });
    const next = argmax(logits);
    tokens.push(next);
    stepLogits.push(logits);
    if (next === options.eosTokenId) break;
  }
  return { tokens, stepLogits };
}

/** Index of the largest value; the first one on ties (as torch.argmax). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
