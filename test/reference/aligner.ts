// The aligners (projectors) of reference §5: image features → LLM-width image embeddings.

import { gelu, geluMlp, linear, mapInPlace } from "./ops.ts";
import { ReferenceInputError, requireWeight, type Tensor64, type WeightLookup } from "./weights.ts";

/** 1.3B `mlp_gelu`, depth 2: layers.2(GELU(layers.0(x))). Features [N, T, 1024] → [N, T, n_embed]. */
export function alignerMlpGelu(weights: WeightLookup, features: Tensor64): Tensor64 {
  const rows = rowsOf(features);
  const w = (name: string) => requireWeight(weights, `aligner.${name}`);
  const out = geluMlp(features.data, rows, w("layers.0.weight"), w("layers.0.bias"), w("layers.2.weight"), w("layers.2.bias"));
  return { shape: [...features.shape.slice(0, -1), out.length / rows], data: out };
}

/**
 * 7B `low_high_hybrid_split_mlp_gelu`, depth 2: layers.1(GELU(concat(high_up_proj(high), low_up_proj(low)))),
 * high (SAM) first in the concat; token t of one tower meets token t of the other.
 */
export function alignerHybridSplit(weights: WeightLookup, high: Tensor64, low: Tensor64): Tensor64 {
  if (high.shape.join() !== low.shape.join()) {
    throw new ReferenceInputError(`aligner: high features [${high.shape}] and low features [${low.shape}] differ in shape`);
  }
  const rows = rowsOf(high);
  const w = (name: string) => requireWeight(weights, `aligner.${name}`);
  const up = (x: Tensor64, name: string) => linear(x.data, rows, w(`${name}.weight`), w(`${name}.bias`));
  const highUp = up(high, "high_up_proj");
  const lowUp = up(low, "low_up_proj");
  const highWidth = highUp.length / rows;
  const lowWidth = lowUp.length / rows;
  const joined = new Float64Array(rows * (highWidth + lowWidth));
  for (let r = 0; r < rows; r++) {
    joined.set(highUp.subarray(r * highWidth, (r + 1) * highWidth), r * (highWidth + lowWidth));
    joined.set(lowUp.subarray(r * lowWidth, (r + 1) * lowWidth), r * (highWidth + lowWidth) + highWidth);
  }
  const out = linear(mapInPlace(joined, gelu), rows, w("layers.1.weight"), w("layers.1.bias"));
  return { shape: [...high.shape.slice(0, -1), out.length / rows], data: out };
}

function rowsOf(x: Tensor64): number {
  return x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
}
