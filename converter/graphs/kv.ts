import { GRAPH_IO, joiningName, KV_SIDES, pastName, presentName } from "../../shared/manifest/index.ts";
import type { LlmSpec } from "../checkpoint/index.ts";
import type { Layers } from "./ops.ts";

// The batch reshaping graphs of the serving runtime (converter/README.md). A batch's cache keeps each row's
// positions right-aligned behind zero padding; these graphs are how rows join and leave it where the cache
// lives (on an accelerator, device tensors can only come out of a run). Zeros, not garbage, pad: the
// decoder's mask gives padded keys zero weight, and zero times a NaN would still be NaN.

const cacheDims = (llm: LlmSpec, batch: string, length: string) => [batch, llm.numKeyValueHeads, length, llm.headDim];

/** kv_select: the rows `rows` [R] of a cache [B,kvHeads,L,headDim], from key column `start` [1] on. */
export function kvSelect(l: Layers, llm: LlmSpec): void {
  const g = l.g;
  const { inputs } = GRAPH_IO.kv_select;
  const rows = g.input(inputs.rows, "int64", ["rows"]);
  const start = g.input(inputs.start, "int64", [1]);
  for (let layer = 0; layer < llm.numLayers; layer++) {
    for (const side of KV_SIDES) {
      const cache = g.input(pastName(layer, side), l.act, cacheDims(llm, "batch_size", "past_sequence_length"));
      const selected = g.op("Slice", [g.op("Gather", [cache, rows], { axis: 0 }), start, g.int64s([2 ** 53]), g.int64s([2])]);
      g.output(selected, presentName(layer, side), l.act, cacheDims(llm, "rows", "kept_sequence_length"));
    }
  }
}

/**
 * kv_join: the batch cache [B,kvHeads,L,headDim] with the joining rows [J,kvHeads,M,headDim] appended, the
 * shorter side left-padded with zeros to max(L, M) columns.
 */
export function kvJoin(l: Layers, llm: LlmSpec): void {
  const g = l.g;
  const zeros = g.int64s([0, 0]);
  // Pads [0,0,n,0, 0,0,0,0]: n columns before the positions on axis 2.
  const padsBefore = (n: string) => g.op("Concat", [zeros, n, g.int64s([0, 0, 0, 0, 0])], { axis: 0 });
  for (let layer = 0; layer < llm.numLayers; layer++) {
    for (const side of KV_SIDES) {
      const batch = g.input(pastName(layer, side), l.act, cacheDims(llm, "batch_size", "past_sequence_length"));
      const joining = g.input(joiningName(layer, side), l.act, cacheDims(llm, "joining_size", "joining_sequence_length"));
      const batchLength = g.op("Shape", [batch], { start: 2, end: 3 });
      const joiningLength = g.op("Shape", [joining], { start: 2, end: 3 });
      const width = g.op("Max", [batchLength, joiningLength]);
      const padded = [
        g.op("Pad", [batch, padsBefore(g.op("Sub", [width, batchLength]))]),
        g.op("Pad", [joining, padsBefore(g.op("Sub", [width, joiningLength]))]),
      ];
      g.output(
        g.op("Concat", padded, { axis: 0 }),
        presentName(layer, side),
        l.act,
        cacheDims(llm, "joined_size", "total_sequence_length"),
      );
    }
  }
}

/** logits_rows: the last-position logits of the rows `rows` [R], as float32 [R,V], for the host. */
export function logitsRows(l: Layers, llm: LlmSpec): void {
  const g = l.g;
  const { inputs, outputs } = GRAPH_IO.logits_rows;
  const logits = g.input(inputs.logits, l.act, ["batch_size", 1, llm.vocabSize]);
  const rows = g.input(inputs.rows, "int64", ["rows"]);
  const selected = l.reshape(g.op("Gather", [logits, rows], { axis: 0 }), [-1, llm.vocabSize]);
  g.output(l.act === "float32" ? selected : g.op("Cast", [selected], { to: 1 }), outputs.logits, "float32", ["rows", llm.vocabSize]);
}
