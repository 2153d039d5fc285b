import { describe, expect, it } from "vitest";
import {
  applyRope,
  argmax,
  greedyGenerate,
  type LlamaConfig,
  llamaConfigFromLanguageConfig,
  llamaLogits,
  mergeImageEmbeddings,
} from "./llama.ts";
import { weightMap } from "./weights.ts";

const eye = (n: number) => Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
const zeros = (n: number) => new Array<number>(n).fill(0);

describe("llamaConfigFromLanguageConfig", () => {
  it("fills the 7B's absent keys with the LlamaConfig defaults of reference §6", () => {
    const config = llamaConfigFromLanguageConfig({
      max_position_embeddings: 16384,
      model_type: "llama",
      num_hidden_layers: 30,
      torch_dtype: "float16",
      vocab_size: 102400,
    });
    expect(config).toEqual({
      hiddenSize: 4096,
      numLayers: 30,
      numHeads: 32,
      numKeyValueHeads: 32,
      headDim: 128,
      intermediateSize: 11008,
      vocabSize: 102400,
      ropeTheta: 10000,
      rmsNormEps: 1e-6,
    });
  });
});

describe("applyRope", () => {
  it("is the identity at position 0", () => {
    const x = Float64Array.of(0.3, -1, 2, 5, 7, -0.5, 1, 1);
    expect(Array.from(applyRope(Float64Array.from(x), [0], 2, 4, 10000))).toEqual(Array.from(x));
  });

  it("rotates the pair (i, i + half) by position·θ^(−2i/headDim)", () => {
    // head_dim 4, θ = 100: pair 0 turns by p rad, pair 1 by p/10 rad.
    const y = applyRope(Float64Array.of(1, 0, 0, 2), [3], 1, 4, 100);
    expect(y[0]).toBeCloseTo(Math.cos(3), 14); // x0' = x0·cos − x2·sin
    expect(y[2]).toBeCloseTo(Math.sin(3), 14); // x2' = x2·cos + x0·sin
    expect(y[1]).toBeCloseTo(-2 * Math.sin(0.3), 14); // x1' = x1·cos − x3·sin
    expect(y[3]).toBeCloseTo(2 * Math.cos(0.3), 14);
  });

  it("makes q·k depend only on the position difference", () => {
    const q = [0.5, -1.5, 2, 0.25];
    const k = [1, 0.5, -0.75, 3];
    const dot = (m: number, n: number) => {
      const a = applyRope(Float64Array.from(q), [m], 1, 4, 10000);
      const b = applyRope(Float64Array.from(k), [n], 1, 4, 10000);
      return a.reduce((s, v, i) => s + v * b[i]!, 0);
    };
    expect(dot(7, 2)).toBeCloseTo(dot(105, 100), 12);
  });
});

/** Width 2, one head, one layer whose attention value and output projections are I and whose MLP is zero. */
function passThroughModel(eps: number): { weights: ReturnType<typeof weightMap>; config: LlamaConfig } {
  const config: LlamaConfig = {
    hiddenSize: 2,
    numLayers: 1,
    numHeads: 1,
    numKeyValueHeads: 1,
    headDim: 2,
    intermediateSize: 3,
    vocabSize: 3,
    ropeTheta: 10000,
    rmsNormEps: eps,
  };
  const l = "language_model.model.layers.0.";
  const weights = weightMap({
    "language_model.model.embed_tokens.weight": { shape: [3, 2], data: [3, 4, 1, 0, -2, 1] },
    [`${l}input_layernorm.weight`]: { shape: [2], data: [1, 1] },
    [`${l}post_attention_layernorm.weight`]: { shape: [2], data: [1, 1] },
    [`${l}self_attn.q_proj.weight`]: { shape: [2, 2], data: [0.3, -0.2, 0.9, 0.4] },
    [`${l}self_attn.k_proj.weight`]: { shape: [2, 2], data: [-0.5, 0.8, 0.1, 0.6] },
    [`${l}self_attn.v_proj.weight`]: { shape: [2, 2], data: eye(2) },
    [`${l}self_attn.o_proj.weight`]: { shape: [2, 2], data: eye(2) },
    [`${l}mlp.gate_proj.weight`]: { shape: [3, 2], data: zeros(6).map((_, i) => i / 7) },
    [`${l}mlp.up_proj.weight`]: { shape: [3, 2], data: zeros(6).map((_, i) => 1 - i / 5) },
    [`${l}mlp.down_proj.weight`]: { shape: [2, 3], data: zeros(6) },
    "language_model.model.norm.weight": { shape: [2], data: [1, 1] },
    "language_model.lm_head.weight": { shape: [3, 2], data: [1, 0, 0, 1, 1, 1] },
  });
  return { weights, config };
}

describe("llamaLogits", () => {
  it("with one token, attention returns v and the logits are lm_head(x / rms(x))", () => {
    // x = (3, 4); x + v where v = x/rms(x); the final norm undoes the scale: x/rms(x) = (3, 4)/√12.5.
    const { weights, config } = passThroughModel(0);
    const logits = llamaLogits(weights, config, Float64Array.of(3, 4), { positions: [0] });
    const r = Math.sqrt(12.5);
    expect(Array.from(logits)).toEqual([3 / r, 4 / r, 7 / r].map((v) => expect.closeTo(v, 6)));
  });

  it("is causal: a later token does not change earlier logits", () => {
    const { weights, config } = passThroughModel(1e-6);
    const one = llamaLogits(weights, config, Float64Array.of(3, 4), { positions: [0] });
    const two = llamaLogits(weights, config, Float64Array.of(3, 4, -2, 1), { positions: [0, 1] });
    expect(Array.from(two.subarray(0, 3))).toEqual(Array.from(one));
    expect(Array.from(llamaLogits(weights, config, Float64Array.of(3, 4, -2, 1), { positions: [0, 1], outputs: "last" }))).toEqual(
      Array.from(two.subarray(3)),
    );
  });
});

describe("mergeImageEmbeddings", () => {
  it("writes the k-th image embedding row at the k-th image-token position", () => {
    const ids = [5, 9, 9, 6, 9];
    const embeds = Float64Array.from({ length: 10 }, (_, i) => -i);
    const images = { shape: [1, 3, 2], data: Float64Array.of(10, 11, 20, 21, 30, 31) };
    expect(Array.from(mergeImageEmbeddings(embeds, ids, 9, images))).toEqual([-0, -1, 10, 11, 20, 21, -6, -7, 30, 31]);
  });

  it("rejects a placeholder count that does not match the images", () => {
    const images = { shape: [1, 2, 2], data: new Float64Array(4) };
    expect(() => mergeImageEmbeddings(new Float64Array(6), [9, 1, 2], 9, images)).toThrow(/1 image-token positions for 2/);
  });
});

describe("greedyGenerate", () => {
  it("follows a counting model token by token and stops after EOS", () => {
    // One-hot embeddings, a layer with zero o_proj/down_proj (identity), lm_head row r = one-hot(r − 1):
    // the argmax after token t is t + 1 (mod 4).
    const V = 4;
    const l = "language_model.model.layers.0.";
    const weights = weightMap({
      "language_model.model.embed_tokens.weight": { shape: [V, V], data: eye(V) },
      [`${l}input_layernorm.weight`]: { shape: [V], data: new Array(V).fill(1) },
      [`${l}post_attention_layernorm.weight`]: { shape: [V], data: new Array(V).fill(1) },
      [`${l}self_attn.q_proj.weight`]: { shape: [V, V], data: eye(V) },
      [`${l}self_attn.k_proj.weight`]: { shape: [V, V], data: eye(V) },
      [`${l}self_attn.v_proj.weight`]: { shape: [V, V], data: eye(V) },
      [`${l}self_attn.o_proj.weight`]: { shape: [V, V], data: zeros(V * V) },
      [`${l}mlp.gate_proj.weight`]: { shape: [2, V], data: zeros(2 * V) },
      [`${l}mlp.up_proj.weight`]: { shape: [2, V], data: zeros(2 * V) },
      [`${l}mlp.down_proj.weight`]: { shape: [V, 2], data: zeros(2 * V) },
      "language_model.model.norm.weight": { shape: [V], data: new Array(V).fill(1) },
      "language_model.lm_head.weight": {
        shape: [V, V],
        data: Array.from({ length: V * V }, (_, i) => (i % V === (Math.floor(i / V) + V - 1) % V ? 1 : 0)),
      },
    });
    const config: LlamaConfig = {
      hiddenSize: V,
      numLayers: 1,
      numHeads: 1,
      numKeyValueHeads: 1,
      headDim: V,
      intermediateSize: 2,
      vocabSize: V,
      ropeTheta: 10000,
      rmsNormEps: 1e-6,
    };
    const result = greedyGenerate(weights, config, { inputIds: [2], maxNewTokens: 6, eosTokenId: 1 });
    expect(result.tokens).toEqual([3, 0, 1]);
    expect(result.stepLogits.map(argmax)).toEqual([3, 0, 1]);
    expect(greedyGenerate(weights, config, { inputIds: [2], maxNewTokens: 2 }).tokens).toEqual([3, 0]);
  });
});
