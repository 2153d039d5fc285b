import type { GraphName } from "./schema.ts";

/**
 * The tensor names of each graph's inputs and outputs (DESIGN §4): the contract between the converter that
 * writes the graphs and every runtime that feeds them. The per-layer KV caches are named by `pastName` and
 * `presentName` (the decoders' cache in and out; kv_select and kv_join read and write the same names) and
 * `joiningName` (kv_join's second cache).
 */
export const GRAPH_IO = {
  siglip_encoder: { inputs: { pixels: "pixel_values" }, outputs: { features: "image_features" } },
  sam_encoder: { inputs: { pixels: "pixel_values" }, outputs: { features: "image_features" } },
  aligner: {
    inputs: { lowRes: "low_res_features", highRes: "high_res_features" },
    outputs: { embeds: "image_embeds" },
  },
  embed_tokens: { inputs: { ids: "input_ids" }, outputs: { embeds: "inputs_embeds" } },
  decoder_model_merged: {
    inputs: { embeds: "inputs_embeds", attentionMask: "attention_mask", positions: "position_ids" },
    outputs: { logits: "logits" },
  },
  decoder_serving: {
    inputs: { embeds: "inputs_embeds", padding: "padding", positions: "position_ids" },
    outputs: { logits: "logits", topLogits: "top_k_logits", topIds: "top_k_ids", logSumExp: "logsumexp" },
  },
  kv_select: { inputs: { rows: "rows", start: "start" }, outputs: {} },
  kv_join: { inputs: {}, outputs: {} },
  logits_rows: { inputs: { logits: "logits", rows: "rows" }, outputs: { logits: "row_logits" } },
} as const satisfies Record<GraphName, { inputs: Record<string, string>; outputs: Record<string, string> }>;

/** The two tensors a decoder layer caches. */
export const KV_SIDES = ["key", "value"] as const;
export type KvSide = (typeof KV_SIDES)[number];

/** Decoder input: the cache of `layer` from earlier steps, [B, kvHeads, P, headDim]. */
export function pastName(layer: number, side: KvSide): `past_key_values.${number}.${KvSide}` {
  return `past_key_values.${layer}.${side}`;
}

/** Decoder output: the cache of `layer` including this step, [B, kvHeads, P + T, headDim]. */
export function presentName(layer: number, side: KvSide): `present.${number}.${KvSide}` {
  return `present.${layer}.${side}`;
}

/** kv_join input: the cache of `layer` of the rows joining the batch. */
export function joiningName(layer: number, side: KvSide): `joining.${number}.${KvSide}` {
  return `joining.${layer}.${side}`;
}
