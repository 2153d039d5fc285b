import { z } from "zod";

/**
 * Graph files of a model set; the `_fp16` variant adds that suffix before `.onnx`. The first five are the
 * contract of DESIGN §4 for outside tools; the rest are what the GPU service runs in place of
 * decoder_model_merged (converter/README.md): the serving decoder and the batch reshaping graphs.
 */
export const GRAPH_NAMES = [
  "siglip_encoder",
  "sam_encoder",
  "aligner",
  "embed_tokens",
  "decoder_model_merged",
  "decoder_serving",
  "kv_select",
  "kv_join",
  "logits_rows",
] as const;
export type GraphName = (typeof GRAPH_NAMES)[number];

/** Candidates per row that decoder_serving emits for the sampler: the width of `top_k_logits` / `top_k_ids`. */
export function servingTopK(vocabSize: number): number {
  return Math.min(64, vocabSize);
}

export const MODEL_DTYPES = ["fp32", "fp16"] as const;
export type ModelDtype = (typeof MODEL_DTYPES)[number];

/** 2 added the serving graphs (decoder_serving, kv_select, kv_join, logits_rows). */
export const FORMAT_VERSION = 2;

const positiveInt = z.number().int().positive();
const byte = z.number().int().min(0).max(255);

export const ManifestSchema = z
  .object({
    format: z.literal("deepseek-vl-onnx"),
    formatVersion: z.literal(FORMAT_VERSION),
    /** `hybrid`: SAM-B 1024 + SigLIP-L 384 (7B family); `siglip`: SigLIP-L 384 only (1.3B family). */
    kind: z.enum(["hybrid", "siglip"]),
    /** Name of the source checkpoint, e.g. "deepseek-vl-7b-chat". */
    name: z.string().min(1),
    /** Hex SHA-256 over the model set's files: changes whenever any weight or graph changes. */
    revision: z.string().regex(/^[0-9a-f]{64}$/),
    /** Graph sets present in the directory. */
    dtypes: z.array(z.enum(MODEL_DTYPES)).min(1),
    vision: z.object({
      /** Side of the square uint8 image the edge sends (1024 hybrid, 384 siglip). */
      imageSize: positiveInt,
      minSize: positiveInt,
      imageMean: z.tuple([z.number(), z.number(), z.number()]),
      /** `int(mean * 255)` per channel (reference §2.1). */
      padColor: z.tuple([byte, byte, byte]),
      imageTokens: positiveInt,
      featureDim: positiveInt,
    }),
    llm: z.object({
      hiddenSize: positiveInt,
      numLayers: positiveInt,
      numHeads: positiveInt,
      numKeyValueHeads: positiveInt,
      headDim: positiveInt,
      intermediateSize: positiveInt,
      vocabSize: positiveInt,
      maxPositionEmbeddings: positiveInt,
      /** The context the model was trained with (README "Sequence Length"). */
      contextLength: positiveInt,
      ropeTheta: z.number().positive(),
      rmsNormEps: z.number().positive(),
    }),
    tokens: z.object({
      bos: z.number().int().nonnegative(),
      eos: z.number().int().nonnegative(),
      pad: z.number().int().nonnegative(),
      image: z.number().int().nonnegative(),
    }),
    template: z.literal("deepseek"),
    tokenizer: z.string().min(1),
  })
  .strict();

export type Manifest = z.infer<typeof ManifestSchema>;

export class ManifestError extends Error {
  override name = "ManifestError";
}

/**
 * Parses manifest.json text of a generated model set (the default model, benchmark sets), or answers undefined
 * when it is of another format version: such a set is generated again, not refused.
 */
export function parseCurrentManifest(text: string): Manifest | undefined {
  return (JSON.parse(text) as { formatVersion?: unknown }).formatVersion === FORMAT_VERSION ? parseManifest(text) : undefined;
}

/** Parses and validates manifest.json text; the error names the first offending field. */
export function parseManifest(text: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ManifestError(`manifest.json is not valid JSON: ${(error as Error).message}`);
  }
  const result = ManifestSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ManifestError(`manifest.json: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return result.data;
}

/** File name of a graph in a model directory. */
export function graphFileName(graph: GraphName, dtype: ModelDtype): string {
  return dtype === "fp16" ? `${graph}_fp16.onnx` : `${graph}.onnx`;
}

/** Graphs a model set of `kind` holds. */
export function graphsOf(kind: Manifest["kind"]): readonly GraphName[] {
  return kind === "hybrid" ? GRAPH_NAMES : GRAPH_NAMES.filter((graph) => graph !== "sam_encoder");
}

/** Graphs the GPU service loads: all but decoder_model_merged, which decoder_serving replaces. */
export function servedGraphsOf(kind: Manifest["kind"]): readonly GraphName[] {
  return graphsOf(kind).filter((graph) => graph !== "decoder_model_merged");
}
