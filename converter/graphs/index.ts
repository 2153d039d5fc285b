import { GRAPH_IO, type GraphName, type ModelDtype, servingTopK } from "../../shared/manifest/index.ts";
import type { Checkpoint, ModelSpec } from "../checkpoint/index.ts";
import { type GraphBuilder, GraphError } from "../onnx/index.ts";
import { aligner } from "./aligner.ts";
import { kvJoin, kvSelect, logitsRows } from "./kv.ts";
import { type DecoderOptions, decoder, embedTokens, servingDecoder } from "./llama.ts";
import { floatType, Layers } from "./ops.ts";
import { samTower } from "./sam.ts";
import { siglipTower } from "./siglip.ts";

export { type DecoderOptions, inverseFrequencies } from "./llama.ts";
export { antialiasBilinearMatrix, bilinearMatrix } from "./resize.ts";

export interface GraphOptions {
  decoder?: DecoderOptions;
}

/** Builds one graph of the model set (DESIGN §4 names and I/O) with its weights streamed from `checkpoint`. */
export function buildGraph(
  name: GraphName,
  spec: ModelSpec,
  checkpoint: Checkpoint,
  dtype: ModelDtype,
  options: GraphOptions = {},
): GraphBuilder {
  const l = new Layers(name, checkpoint, floatType(dtype));
  const g = l.g;
  const features = ["batch_size", spec.imageTokens, spec.featureDim] as const;
  switch (name) {
    case "siglip_encoder": {
      const size = spec.siglip.inputSize;
      const { inputs, outputs } = GRAPH_IO.siglip_encoder;
      const pixels = g.input(inputs.pixels, "uint8", ["batch_size", 3, size, size]);
      g.output(siglipTower(l, pixels, spec.siglip), outputs.features, l.act, features);
      break;
    }
    case "sam_encoder": {
      if (!spec.sam) throw new GraphError(`${spec.kind} models have no SAM tower`);
      const size = spec.sam.imageSize;
      const { inputs, outputs } = GRAPH_IO.sam_encoder;
      const pixels = g.input(inputs.pixels, "uint8", ["batch_size", 3, size, size]);
      g.output(samTower(l, pixels, spec.sam), outputs.features, l.act, features);
      break;
    }
    case "aligner": {
      const { inputs, outputs } = GRAPH_IO.aligner;
      const low = g.input(inputs.lowRes, l.act, features);
      const high = spec.kind === "hybrid" ? g.input(inputs.highRes, l.act, features) : undefined;
      const embeds = aligner(l, spec.aligner, spec.imageTokens, low, high);
      g.output(embeds, outputs.embeds, l.act, ["batch_size", spec.imageTokens, spec.aligner.nEmbed]);
      break;
    }
    case "embed_tokens":
      embedTokens(l, spec.llm);
      break;
    case "decoder_model_merged":
      decoder(l, spec.llm, options.decoder ?? { logits: "last" });
      break;
    case "decoder_serving":
      servingDecoder(l, spec.llm, servingTopK(spec.llm.vocabSize));
      break;
    case "kv_select":
      kvSelect(l, spec.llm);
      break;
    case "kv_join":
      kvJoin(l, spec.llm);
      break;
    case "logits_rows":
      logitsRows(l, spec.llm);
      break;
  }
  return g;
}
