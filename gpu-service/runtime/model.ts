import * as ort from "onnxruntime-node";
import { GRAPH_IO, type GraphName, type Manifest, type ModelDtype, pastName, presentName } from "../../shared/manifest/index.ts";
import type { Logger } from "../log.ts";
import type { ModelDirectory } from "../model/index.ts";
import { type Activations, type ActivationType, activationsOf, activationType, allocate, int64Tensor, tensor } from "./activations.ts";
import { type ExecutionProvider, type GraphSessions, loadSessions, type SessionOptions } from "./sessions.ts";

/** Keys and values of every decoder layer, each [B, kvHeads, length, headDim]. */
export type KvCache = { batch: number; length: number; keys: Activations[]; values: Activations[] };

export type DecodeInputs = {
  /** [batch, tokens, hidden] */
  embeds: Activations;
  batch: number;
  tokens: number;
  /** [batch, past.length + tokens]: 1 for real positions, 0 for padding. */
  attentionMask: ArrayLike<number>;
  /** [batch, tokens] */
  positions: ArrayLike<number>;
  past: KvCache;
};

export type DecodeOutputs = {
  /** [batch, logitRows, vocab]: logitRows is `tokens`, or 1 when the graph emits the last position only. */
  logits: Activations;
  logitRows: number;
  present: KvCache;
};

/** The loaded ONNX model set: one method per stage, each a single batched onnxruntime call. */
export class VisionLanguageModel {
  readonly manifest: Manifest;
  readonly dtype: ModelDtype;
  readonly act: ActivationType;
  readonly providers: Partial<Record<GraphName, ExecutionProvider>>;
  readonly #sessions: GraphSessions;

  private constructor(
    manifest: Manifest,
    dtype: ModelDtype,
    sessions: GraphSessions,
    providers: Partial<Record<GraphName, ExecutionProvider>>,
  ) {
    this.manifest = manifest;
    this.dtype = dtype;
    this.act = activationType(dtype);
    this.#sessions = sessions;
    this.providers = providers;
  }

  static async load(directory: ModelDirectory, dtype: ModelDtype, options: SessionOptions, log: Logger): Promise<VisionLanguageModel> {
    if (!directory.manifest.dtypes.includes(dtype)) {
      throw new Error(`${directory.path} has no ${dtype} graphs (it has ${directory.manifest.dtypes.join(", ")})`);
    }
    const { sessions, providers } = await loadSessions(directory.path, directory.manifest, dtype, options, log);
    return new VisionLanguageModel(directory.manifest, dtype, sessions, providers);
  }

  get imageTokens(): number {
    return this.manifest.vision.imageTokens;
  }

  /** Elements of one image's features / embeddings. */
  get featureSize(): number {
    return this.imageTokens * this.manifest.vision.featureDim;
  }

  get embedSize(): number {
    return this.imageTokens * this.manifest.llm.hiddenSize;
  }

  /** SigLIP features [576,1024] per image from uint8 pixels [3,S,S]. */
  async siglipFeatures(pixels: Uint8Array[]): Promise<Activations[]> {
    return this.#encode("siglip_encoder", pixels);
  }

  /** SAM-B features [576,1024] per image (hybrid models only). */
  async samFeatures(pixels: Uint8Array[]): Promise<Activations[]> {
    return this.#encode("sam_encoder", pixels);
  }

  /** Image embeddings [576,H] per image from SigLIP (and, for hybrid models, SAM) features. */
  async align(lowRes: Activations[], highRes?: Activations[]): Promise<Activations[]> {
    const n = lowRes.length;
    const dims = [n, this.imageTokens, this.manifest.vision.featureDim];
    const { inputs, outputs } = GRAPH_IO.aligner;
    const feeds: Record<string, ort.Tensor> = { [inputs.lowRes]: tensor(this.act, this.#concat(lowRes), dims) };
    if (this.manifest.kind === "hybrid") {
      if (!highRes) throw new Error("hybrid models need SAM features");
      feeds[inputs.highRes] = tensor(this.act, this.#concat(highRes), dims);
    }
    const embeds = (await this.#run("aligner", feeds))[outputs.embeds]!;
    return this.#split(activationsOf(embeds), n, this.embedSize);
  }

  /** Token embeddings [B,T,H] of `batch` sequences of equal length (ids flattened row-major). */
  async embed(ids: ArrayLike<number>, batch = 1): Promise<Activations> {
    const { inputs, outputs } = GRAPH_IO.embed_tokens;
    const embeds = (await this.#run("embed_tokens", { [inputs.ids]: int64Tensor(ids, [batch, ids.length / batch]) }))[outputs.embeds]!;
    return activationsOf(embeds);
  }

  /** One decoder call: prefill (tokens > 1) or a batched decode step (tokens = 1). */
  async decode(inputs: DecodeInputs): Promise<DecodeOutputs> {
    const { numLayers, numKeyValueHeads, headDim, hiddenSize } = this.manifest.llm;
    const { batch, tokens, past } = inputs;
    const total = past.length + tokens;
    const names = GRAPH_IO.decoder_model_merged;
    const feeds: Record<string, ort.Tensor> = {
      [names.inputs.embeds]: tensor(this.act, inputs.embeds, [batch, tokens, hiddenSize]),
      [names.inputs.attentionMask]: int64Tensor(inputs.attentionMask, [batch, total]),
      [names.inputs.positions]: int64Tensor(inputs.positions, [batch, tokens]),
    };
    const pastDims = [batch, numKeyValueHeads, past.length, headDim];
    for (let layer = 0; layer < numLayers; layer++) {
      feeds[pastName(layer, "key")] = tensor(this.act, past.keys[layer]!, pastDims);
      feeds[pastName(layer, "value")] = tensor(this.act, past.values[layer]!, pastDims);
    }
    const outputs = await this.#run("decoder_model_merged", feeds);
    const logits = outputs[names.outputs.logits]!;
    const present: KvCache = { batch, length: total, keys: [], values: [] };
    for (let layer = 0; layer < numLayers; layer++) {
      present.keys.push(activationsOf(outputs[presentName(layer, "key")]!));
      present.values.push(activationsOf(outputs[presentName(layer, "value")]!));
    }
    return { logits: activationsOf(logits), logitRows: logits.dims[1]!, present };
  }

  /** An empty cache (length 0) for a prefill. */
  emptyCache(batch = 1): KvCache {
    const layers = this.manifest.llm.numLayers;
    return {
      batch,
      length: 0,
      keys: Array.from({ length: layers }, () => allocate(this.act, 0)),
      values: Array.from({ length: layers }, () => allocate(this.act, 0)),
    };
  }

  async #encode(graph: "siglip_encoder" | "sam_encoder", pixels: Uint8Array[]): Promise<Activations[]> {
    const size = this.manifest.vision.imageSize;
    const batch = new Uint8Array(pixels.length * 3 * size * size);
    for (const [i, image] of pixels.entries()) batch.set(image, i * 3 * size * size);
    const { inputs, outputs } = GRAPH_IO[graph];
    const feeds = { [inputs.pixels]: new ort.Tensor("uint8", batch, [pixels.length, 3, size, size]) };
    const features = (await this.#run(graph, feeds))[outputs.features]!;
    return this.#split(activationsOf(features), pixels.length, this.featureSize);
  }

  async #run(graph: GraphName, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.ReturnType> {
    const session = this.#sessions[graph];
    if (!session) throw new Error(`${graph} is not loaded`);
    return session.run(feeds);
  }

  #concat(parts: Activations[]): Activations {
    const size = parts[0]?.length ?? 0;
    const joined = allocate(this.act, parts.length * size);
    for (const [i, part] of parts.entries()) joined.set(part as never, i * size);
    return joined;
  }

  #split(all: Activations, count: number, size: number): Activations[] {
    return Array.from({ length: count }, (_, i) => all.slice(i * size, (i + 1) * size));
  }
}
