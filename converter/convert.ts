import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { FORMAT_VERSION, graphFileName, graphsOf, type Manifest, ManifestSchema, type ModelDtype } from "../shared/manifest/index.ts";
import { Checkpoint, CheckpointError, expectedTensors, type ModelSpec, parseConfig, validateTensors } from "./checkpoint/index.ts";
import { buildGraph, type DecoderOptions } from "./graphs/index.ts";
import { type ExternalWeights, writeModel } from "./onnx/index.ts";

/** Tokenizer files copied into the model directory when the checkpoint has them (tokenizer.json is required). */
export const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"] as const;

/** The context DeepSeek-VL was trained with (README "Sequence Length"), below max_position_embeddings. */
export const TRAINED_CONTEXT = 4096;

export interface ConvertProgress {
  graph: string;
  dtype: ModelDtype;
  /** Weight bytes written so far over all graphs, and in total. */
  done: number;
  total: number;
}

export interface ConvertOptions {
  /** Graph sets to write; default fp32 only. */
  dtypes?: ModelDtype[];
  /** Manifest name; default: the checkpoint directory's name. */
  name?: string;
  /** Replace an existing model directory (atomically). */
  overwrite?: boolean;
  /** Graphs larger than this use external data (default: just under the 2 GiB protobuf limit). */
  externalDataThreshold?: number;
  decoder?: DecoderOptions;
  onProgress?: (progress: ConvertProgress) => void;
}

export class ConvertError extends Error {
  override name = "ConvertError";
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function readJson(path: string): Promise<Record<string, unknown> | undefined> {
  if (!(await exists(path))) return undefined;
  try {
    return JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
  } catch (error) {
    throw new CheckpointError(`${basename(path)} is not valid JSON: ${(error as Error).message}`);
  }
}

/** Special token ids from tokenizer.json, found by their exact text (full-width bars, U+2581). */
async function specialTokens(dir: string): Promise<Manifest["tokens"]> {
  const tokenizer = await readJson(join(dir, "tokenizer.json"));
  if (!tokenizer) throw new CheckpointError(`${dir}: missing tokenizer.json`);
  const added = (tokenizer.added_tokens ?? []) as { id: number; content: string }[];
  const id = (content: string) => {
    const token = added.find((t) => t.content === content);
    if (!token) throw new CheckpointError(`tokenizer.json: no added token ${content}`);
    return token.id;
  };
  const eos = id("<｜end▁of▁sentence｜>");
  return { bos: id("<｜begin▁of▁sentence｜>"), eos, pad: eos, image: id("<image_placeholder>") };
}

/** Image preprocessing facts: from preprocessor_config.json when present, else from the tower config. */
async function visionFacts(dir: string, spec: ModelSpec): Promise<Manifest["vision"]> {
  const towerSize = spec.sam?.imageSize ?? spec.siglip.inputSize;
  const towerMean = spec.sam?.pixelMean ?? spec.siglip.pixelMean;
  const pre = await readJson(join(dir, "preprocessor_config.json"));
  const imageSize = (pre?.image_size as number | undefined) ?? towerSize;
  if (imageSize !== towerSize)
    throw new CheckpointError(`preprocessor_config.json: image_size ${imageSize} differs from the vision tower's ${towerSize}`);
  const imageMean = (pre?.image_mean as [number, number, number] | undefined) ?? towerMean;
  return {
    imageSize,
    minSize: (pre?.min_size as number | undefined) ?? 14,
    imageMean,
    // The processor recomputes the pad colour as int(mean * 255) (reference §2.1).
    padColor: imageMean.map((m) => Math.trunc(m * 255)) as [number, number, number],
    imageTokens: spec.imageTokens,
    featureDim: spec.featureDim,
  };
}

/** Hex SHA-256 over the files' names, sizes and bytes, in name order (streamed). */
export async function revisionOf(dir: string, files: readonly string[]): Promise<string> {
  const hash = createHash("sha256");
  for (const file of [...files].sort()) {
    const { size } = await stat(join(dir, file));
    hash.update(`${file}\0${size}\0`);
    for await (const chunk of createReadStream(join(dir, file))) hash.update(chunk as Buffer);
  }
  return hash.digest("hex");
}

/**
 * Converts an official DeepSeek-VL checkpoint directory into an ONNX model directory (DESIGN §4). Everything
 * is written into a temporary sibling directory, manifest.json last, and renamed into place at the end, so a
 * failed conversion never leaves a directory that looks complete.
 */
export async function convertCheckpoint(checkpointDir: string, modelDir: string, options: ConvertOptions = {}): Promise<Manifest> {
  const dtypes = options.dtypes ?? ["fp32"];
  const target = resolve(modelDir);
  if (!options.overwrite && (await exists(target)) && (await readdir(target)).length > 0) {
    throw new ConvertError(`${target} already exists and is not empty (use overwrite / --overwrite to replace it)`);
  }
  const configText = await readFile(join(checkpointDir, "config.json"), "utf8").catch(() => {
    throw new CheckpointError(`${checkpointDir}: missing config.json`);
  });
  const spec = parseConfig(configText);
  const vision = await visionFacts(checkpointDir, spec);
  const tokens = await specialTokens(checkpointDir);
  const checkpoint = await Checkpoint.open(checkpointDir);
  const staging = join(dirname(target), `.${basename(target)}.partial-${randomBytes(4).toString("hex")}`);
  try {
    validateTensors(checkpoint.tensors, expectedTensors(spec));
    await mkdir(staging, { recursive: true });
    const graphs = dtypes.flatMap((dtype) =>
      graphsOf(spec.kind).map((graph) => ({
        graph,
        dtype,
        builder: buildGraph(graph, spec, checkpoint, dtype, { decoder: options.decoder }),
      })),
    );
    const total = graphs.reduce((sum, { builder }) => sum + builder.weights.reduce((s, w) => s + w.source.byteLength, 0), 0);
    let done = 0;
    const files: string[] = [];
    // decoder_serving has decoder_model_merged's weights: on disk they are stored once, in the latter's data file.
    const decoderWeights = new Map<ModelDtype, ExternalWeights>();
    for (const { graph, dtype, builder } of graphs) {
      const path = join(staging, graphFileName(graph, dtype));
      options.onProgress?.({ graph, dtype, done, total });
      const written = await writeModel(builder, path, {
        externalDataThreshold: options.externalDataThreshold,
        sharedWeights: graph === "decoder_serving" ? decoderWeights.get(dtype) : undefined,
        onWeight: (_, bytes) => {
          done += bytes;
          options.onProgress?.({ graph, dtype, done, total });
        },
      });
      files.push(...written.files.map((f) => basename(f)));
      if (graph === "decoder_model_merged" && written.externalWeights) decoderWeights.set(dtype, written.externalWeights);
    }
    for (const file of TOKENIZER_FILES) {
      if (await exists(join(checkpointDir, file))) {
        await copyFile(join(checkpointDir, file), join(staging, file));
        files.push(file);
      }
    }
    const l = spec.llm;
    const manifest = ManifestSchema.parse({
      format: "deepseek-vl-onnx",
      formatVersion: FORMAT_VERSION,
      kind: spec.kind,
      name: options.name ?? basename(resolve(checkpointDir)),
      revision: await revisionOf(staging, files),
      dtypes,
      vision,
      llm: {
        hiddenSize: l.hiddenSize,
        numLayers: l.numLayers,
        numHeads: l.numHeads,
        numKeyValueHeads: l.numKeyValueHeads,
        headDim: l.headDim,
        intermediateSize: l.intermediateSize,
        vocabSize: l.vocabSize,
        maxPositionEmbeddings: l.maxPositionEmbeddings,
        contextLength: Math.min(TRAINED_CONTEXT, l.maxPositionEmbeddings),
        ropeTheta: l.ropeTheta,
        rmsNormEps: l.rmsNormEps,
      },
      tokens,
      template: "deepseek",
      tokenizer: "tokenizer.json",
    });
    await writeFile(join(staging, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    if (await exists(target)) {
      const old = `${staging}.old`;
      await rename(target, old);
      await rename(staging, target);
      await rm(old, { recursive: true, force: true });
    } else {
      await mkdir(dirname(target), { recursive: true });
      await rename(staging, target);
    }
    return manifest;
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  } finally {
    await checkpoint.close();
  }
}
