import type { AlignerSpec } from "../checkpoint/index.ts";
import { GraphError } from "../onnx/index.ts";
import type { Layers } from "./ops.ts";

/**
 * The aligner (reference §5) on [N, tokens, inputDim] features, returning [N, tokens, nEmbed]:
 * - mlp_gelu (1.3B): layers.2(GELU(layers.0(x)));
 * - low_high_hybrid_split_mlp_gelu (7B): layers.1(GELU(concat(high_up_proj(high), low_up_proj(low)))),
 *   SAM (high) first in the concat.
 */
export function aligner(l: Layers, a: AlignerSpec, tokens: number, low: string, high?: string): string {
  const rows = (x: string) => l.reshape(x, [-1, a.inputDim]);
  let out: string;
  if (a.projectorType === "mlp_gelu") {
    out = l.linear(l.gelu(l.linear(rows(low), "aligner.layers.0")), "aligner.layers.2");
  } else {
    if (!high) throw new GraphError("the hybrid aligner needs high-resolution features");
    const both = l.g.op("Concat", [l.linear(rows(high), "aligner.high_up_proj"), l.linear(rows(low), "aligner.low_up_proj")], { axis: -1 });
    out = l.linear(l.gelu(both), "aligner.layers.1");
  }
  return l.reshape(out, [-1, tokens, a.nEmbed]);
}
