import { GRAPH_IO, pastName, presentName } from "../../shared/manifest/index.ts";
import type { LlmSpec } from "../checkpoint/index.ts";
import type { Layers } from "./ops.ts";

export interface DecoderOptions {
  /** `all`: logits [B,T,V] for every position; `last`: only the last position, [B,1,V]. */
  logits: "all" | "last";
}

/** Float32 1 / theta^(2i/d) as transformers computes inv_freq (in float32). */
export function inverseFrequencies(headDim: number, theta: number): Float32Array {
  const f = Math.fround;
  return Float32Array.from({ length: headDim / 2 }, (_, i) => f(1 / f(theta ** f((2 * i) / headDim))));
}

/** HF LlamaRMSNorm: x / sqrt(mean(x^2) + eps) in float32, cast back, times the weight. */
function rmsNorm(l: Layers, x: string, name: string, eps: number): string {
  const g = l.g;
  const normed = l.inFloat32(x, (x32) => {
    const meanSquare = g.op("ReduceMean", [g.op("Mul", [x32, x32]), g.int64s([-1])], { keepdims: 1 });
    const inverse = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [meanSquare, g.scalar("float32", eps)])])]);
    return g.op("Mul", [x32, inverse]);
  });
  return g.op("Mul", [normed, l.weight(`${name}.weight`)]);
}

/** rotate_half: concat(-x2, x1) over the last axis split in halves. */
function rotateHalf(l: Layers, x: string, headDim: number): string {
  const half = headDim / 2;
  const first = l.slice(x, [0], [half], [-1]);
  const second = l.slice(x, [half], [headDim], [-1]);
  return l.g.op("Concat", [l.g.op("Neg", [second]), first], { axis: -1 });
}

/** The token embedding graph: input_ids int64 [B,T] -> inputs_embeds [B,T,H]. */
export function embedTokens(l: Layers, llm: LlmSpec): void {
  const g = l.g;
  const { inputs, outputs } = GRAPH_IO.embed_tokens;
  const ids = g.input(inputs.ids, "int64", ["batch_size", "sequence_length"]);
  const table = l.weight("language_model.model.embed_tokens.weight");
  g.output(g.op("Gather", [table, ids], { axis: 0 }), outputs.embeds, l.act, ["batch_size", "sequence_length", llm.hiddenSize]);
}

const BATCH = "batch_size";
const BOOL = 9;

/**
 * The LLaMA decoder with KV cache (reference §6): inputs_embeds, attention_mask [B,P+T], position_ids,
 * past_key_values.{i}.key/.value [B,kvHeads,P,headDim] -> logits and present.{i}.key/.value. The graph
 * builds the causal mask itself (key j is visible from query i iff j <= P + i and attention_mask[j] = 1);
 * masked logits get the float32 minimum, as transformers does, so fully masked rows stay finite.
 */
export function decoder(l: Layers, llm: LlmSpec, options: DecoderOptions): void {
  const g = l.g;
  const { inputs, outputs } = GRAPH_IO.decoder_model_merged;
  const mask = g.input(inputs.attentionMask, "int64", [BATCH, "total_sequence_length"]);
  const { logits, presents } = decoderLayers(l, llm, inputs, options.logits, () => l.unsqueeze(g.op("Cast", [mask], { to: BOOL }), [1, 2]));
  g.output(logits, outputs.logits, l.act, [BATCH, options.logits === "last" ? 1 : "sequence_length", llm.vocabSize]);
  outputPresents(l, llm, presents);
}

/**
 * The decoder the GPU service runs (converter/README.md): the same layers, but each row's padding is one
 * number, `padding` [B] (its first `padding[b]` key columns are hidden), so a decode step's inputs do not grow
 * with the context; and beside the last position's logits it emits what the sampler needs: the `topK` largest
 * logits (float32, descending) with their ids, and the row's log-sum-exp, so the host need not read the whole
 * vocabulary each step.
 */
export function servingDecoder(l: Layers, llm: LlmSpec, topK: number): void {
  const g = l.g;
  const { inputs, outputs } = GRAPH_IO.decoder_serving;
  const padding = g.input(inputs.padding, "int64", [BATCH]);
  const { logits, presents } = decoderLayers(l, llm, inputs, "last", (keys) =>
    l.unsqueeze(g.op("GreaterOrEqual", [l.unsqueeze(keys, [0]), l.unsqueeze(g.op("Cast", [padding], { to: 1 }), [1])]), [1, 2]),
  );
  g.output(logits, outputs.logits, l.act, [BATCH, 1, llm.vocabSize]);
  outputPresents(l, llm, presents);
  const rows = l.reshape(l.act === "float32" ? logits : g.op("Cast", [logits], { to: 1 }), [-1, llm.vocabSize]);
  g.node("TopK", [rows, g.int64s([topK])], { axis: -1, largest: 1, sorted: 1 }, { outputs: [outputs.topLogits, outputs.topIds] });
  g.output(outputs.topLogits, outputs.topLogits, "float32", [BATCH, topK]);
  g.output(outputs.topIds, outputs.topIds, "int64", [BATCH, topK]);
  g.output(g.op("ReduceLogSumExp", [rows, g.int64s([-1])], { keepdims: 0 }), outputs.logSumExp, "float32", [BATCH]);
}

/**
 * The layers both decoders share, from their embeddings, positions and past cache to the logits; `visible`
 * gives the padding mask [B,1,1,P+T] (bool) from the key positions 0..P+T-1.
 */
function decoderLayers(
  l: Layers,
  llm: LlmSpec,
  names: { embeds: string; positions: string },
  logitRows: DecoderOptions["logits"],
  visible: (keys: string) => string,
): { logits: string; presents: string[] } {
  const g = l.g;
  const { hiddenSize: hidden, numHeads: heads, numKeyValueHeads: kvHeads, headDim } = llm;
  const embeds = g.input(names.embeds, l.act, [BATCH, "sequence_length", hidden]);
  const positions = g.input(names.positions, "int64", [BATCH, "sequence_length"]);
  const past = Array.from({ length: llm.numLayers }, (_, i) => ({
    key: g.input(pastName(i, "key"), l.act, [BATCH, kvHeads, "past_sequence_length", headDim]),
    value: g.input(pastName(i, "value"), l.act, [BATCH, kvHeads, "past_sequence_length", headDim]),
  }));

  // Dimensions as 1-D int64 tensors.
  const B = g.op("Shape", [embeds], { start: 0, end: 1 });
  const T = g.op("Shape", [embeds], { start: 1, end: 2 });
  const P = g.op("Shape", [past[0]!.key], { start: 2, end: 3 });
  const total = g.op("Add", [P, T]);
  const scalar = (v: string) => g.op("Squeeze", [v, g.int64s([0])]);

  // Additive mask [B,1,T,P+T] in float32. Positions count in float32 (exact to 2^24): onnxruntime keeps int64
  // arithmetic on the CPU, and a mask made there would cross to the device every step.
  const asFloat = (x: string) => g.op("Cast", [x], { to: 1 });
  const keys = g.op("Range", [g.scalar("float32", 0), asFloat(scalar(total)), g.scalar("float32", 1)]);
  const queries = g.op("Add", [g.op("Range", [g.scalar("float32", 0), asFloat(scalar(T)), g.scalar("float32", 1)]), asFloat(P)]);
  const causal = g.op("LessOrEqual", [l.unsqueeze(keys, [0]), l.unsqueeze(queries, [1])]);
  const allowed = g.op("And", [causal, visible(keys)]);
  const bias = g.op("Where", [allowed, g.scalar("float32", 0), g.scalar("float32", -3.4028234663852886e38)]);

  // Rotary tables [B,1,T,headDim] in the activation type.
  const inv = g.constant("float32", [headDim / 2], inverseFrequencies(headDim, llm.ropeTheta));
  const freqs = g.op("Mul", [l.unsqueeze(g.op("Cast", [positions], { to: 1 }), [2]), inv]);
  const angles = l.unsqueeze(g.op("Concat", [freqs, freqs], { axis: -1 }), [1]);
  const toAct = (x: string) => (l.act === "float32" ? x : l.cast(x, l.act));
  const cos = toAct(g.op("Cos", [angles]));
  const sin = toAct(g.op("Sin", [angles]));
  const rope = (x: string) => g.op("Add", [g.op("Mul", [x, cos]), g.op("Mul", [rotateHalf(l, x, headDim), sin])]);

  const headsShape = (n: number) => g.op("Concat", [B, g.int64s([-1, n, headDim])], { axis: 0 });
  const splitHeads = (x: string, n: number) => l.transpose(g.op("Reshape", [x, headsShape(n)]), [0, 2, 1, 3]);
  const repeatKv = (x: string): string => {
    if (kvHeads === heads) return x;
    const rep = heads / kvHeads;
    const expanded = g.op("Expand", [
      l.unsqueeze(x, [2]),
      g.op("Concat", [B, g.int64s([kvHeads, rep]), g.op("Shape", [x], { start: 2, end: 3 }), g.int64s([headDim])], { axis: 0 }),
    ]);
    return g.op("Reshape", [expanded, g.op("Concat", [B, g.int64s([heads, -1, headDim])], { axis: 0 })]);
  };

  const presents: string[] = [];
  let x = l.reshape(embeds, [-1, hidden]);
  for (let i = 0; i < llm.numLayers; i++) {
    const p = `language_model.model.layers.${i}`;
    const h = rmsNorm(l, x, `${p}.input_layernorm`, llm.rmsNormEps);
    const q = rope(splitHeads(l.linear(h, `${p}.self_attn.q_proj`, { bias: false }), heads));
    const k = rope(splitHeads(l.linear(h, `${p}.self_attn.k_proj`, { bias: false }), kvHeads));
    const v = splitHeads(l.linear(h, `${p}.self_attn.v_proj`, { bias: false }), kvHeads);
    const presentKey = g.node("Concat", [past[i]!.key, k], { axis: 2 }, { outputs: [presentName(i, "key")] })[0]!;
    const presentValue = g.node("Concat", [past[i]!.value, v], { axis: 2 }, { outputs: [presentName(i, "value")] })[0]!;
    presents.push(presentKey, presentValue);
    const scores = g.op("Div", [g.op("MatMul", [q, l.transpose(repeatKv(presentKey), [0, 1, 3, 2])]), l.scalar(Math.sqrt(headDim))]);
    const context = g.op("MatMul", [l.softmax(scores, bias), repeatKv(presentValue)]);
    const merged = l.reshape(l.transpose(context, [0, 2, 1, 3]), [-1, heads * headDim]);
    x = g.op("Add", [x, l.linear(merged, `${p}.self_attn.o_proj`, { bias: false })]);
    const m = rmsNorm(l, x, `${p}.post_attention_layernorm`, llm.rmsNormEps);
    const gate = l.linear(m, `${p}.mlp.gate_proj`, { bias: false });
    const silu = g.op("Mul", [gate, g.op("Sigmoid", [gate])]);
    const up = l.linear(m, `${p}.mlp.up_proj`, { bias: false });
    x = g.op("Add", [x, l.linear(g.op("Mul", [silu, up]), `${p}.mlp.down_proj`, { bias: false })]);
  }
  if (logitRows === "last") {
    const sequence = g.op("Reshape", [x, g.op("Concat", [B, g.int64s([-1, hidden])], { axis: 0 })]);
    x = l.reshape(l.slice(sequence, [-1], [2 ** 53], [1]), [-1, hidden]);
  }
  const logits = l.linear(rmsNorm(l, x, "language_model.model.norm", llm.rmsNormEps), "language_model.lm_head", { bias: false });
  return { logits: g.op("Reshape", [logits, g.op("Concat", [B, g.int64s([-1, llm.vocabSize])], { axis: 0 })]), presents };
}

function outputPresents(l: Layers, llm: LlmSpec, presents: string[]): void {
  for (const present of presents) l.g.output(present, present, l.act, [BATCH, llm.numKeyValueHeads, "total_sequence_length", llm.headDim]);
}
