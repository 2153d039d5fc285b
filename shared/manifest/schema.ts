import { z } from "zod";

/** Graph files of a model set (DESIGN §4); the `_fp16` variant adds that suffix before `.onnx`. */
export const GRAPH_NAMES = ["siglip_encoder", "sam_encoder", "aligner", "embed_tokens", "decoder_model_merged"] as const;
export type GraphName = (typeof GRAPH_NAMES)[number];

export const MODEL_DTYPES = ["fp32", "fp16"] as const;
export type ModelDtype = (typeof MODEL_DTYPES)[number];

const positiveInt = z.number().int().positive();
const byte = z.number().int().min(0).max(255);

export const ManifestSchema = z
  .object({
    format: z.literal("deepseek-vl-onnx"),
    formatVersion: z.literal(1),
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

/** Graphs a model kind needs. */
export function graphsOf(kind: Manifest["kind"]): readonly GraphName[] {
  return kind === "hybrid" ? GRAPH_NAMES : GRAPH_NAMES.filter((graph) => graph !== "sam_encoder");
}
