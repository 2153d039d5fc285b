import * as ort from "onnxruntime-node";
import {
  GRAPH_IO,
  type GraphName,
  joiningName,
  KV_SIDES,
  type KvSide,
  type Manifest,
  type ModelDtype,
  pastName,
  presentName,
  servingTopK,
} from "../../shared/manifest/index.ts";
import type { Logger } from "../log.ts";
import type { ModelDirectory } from "../model/index.ts";
import { type Activations, type ActivationType, activationsOf, activationType, allocate, int64Tensor, tensor } from "./activations.ts";
import {
  cpuPlacedNodes,
  type ExecutionProvider,
  type GraphSessions,
  type LoadedSessions,
  loadSessions,
  type SessionOptions,
} from "./sessions.ts";

/**
 * Keys and values of every decoder layer, each [B, kvHeads, length, headDim], layer-major (layer 0 key, layer
 * 0 value, layer 1 key, ...). The tensors live where the decoder's provider made them: host memory on the CPU,
 * device buffers on WebGPU (never read on the host; disposed with disposeCache).
 */
export type KvCache = { batch: number; length: number; tensors: readonly ort.Tensor[] };

export type DecodeInputs = {
  /** [batch, tokens, hidden] */
  embeds: Activations;
  batch: number;
  tokens: number;
  /** [batch]: key columns hidden at the start of each row (its left padding in `past`). */
  padding: ArrayLike<number>;
  /** [batch, tokens] */
  positions: ArrayLike<number>;
  past: KvCache;
};

/** The sampler's view of each row's last-position logits: the largest ones and the log-sum-exp of all. */
export type Candidates = {
  /** Candidates per row. */
  width: number;
  /** [batch, width] float32, descending per row. */
  logits: Float32Array;
  /** [batch, width] the token ids of `logits`. */
  ids: BigInt64Array;
  /** [batch] log-sum-exp over the whole vocabulary. */
  logSumExp: Float32Array;
};

export type DecodeOutputs = {
  present: KvCache;
  candidates: Candidates;
  /** [batch, 1, vocab] where the decoder ran: read rows with rowLogits, then dispose. */
  logits: ort.Tensor;
  /** Bytes that crossed between host memory and the decoder's inputs and outputs. */
  hostBytes: number;
};

/** Bytes of the tensors that sit in host memory (what a run copies in or out of an accelerator). */
function hostBytesOf(tensors: Iterable<ort.Tensor>): number {
  let bytes = 0;
  for (const t of tensors) if (t.location === "cpu") bytes += (t.data as ArrayBufferView).byteLength;
  return bytes;
}

/** Frees a tensor's device buffer once no one reads it (host tensors are left to the collector). */
export function disposeOnDevice(tensor: ort.Tensor): void {
  if (tensor.location !== "cpu") tensor.dispose();
}

/** Frees the device buffers of a cache no one reads any more. */
export function disposeCache(cache: KvCache): void {
  for (const t of cache.tensors) disposeOnDevice(t);
}

/** The loaded ONNX model set: one method per stage, each a single batched onnxruntime call. */
export class VisionLanguageModel {
  readonly manifest: Manifest;
  readonly dtype: ModelDtype;
  readonly act: ActivationType;
  readonly providers: Partial<Record<GraphName, ExecutionProvider>>;
  readonly #loaded: LoadedSessions;
  readonly #sessions: GraphSessions;

  private constructor(manifest: Manifest, dtype: ModelDtype, loaded: LoadedSessions) {
    this.manifest = manifest;
    this.dtype = dtype;
    this.act = activationType(dtype);
    this.#loaded = loaded;
    this.#sessions = loaded.sessions;
    this.providers = loaded.providers;
  }

  static async load(directory: ModelDirectory, dtype: ModelDtype, options: SessionOptions, log: Logger): Promise<VisionLanguageModel> {
    if (!directory.manifest.dtypes.includes(dtype)) {
      throw new Error(`${directory.path} has no ${dtype} graphs (it has ${directory.manifest.dtypes.join(", ")})`);
    }
    return new VisionLanguageModel(directory.manifest, dtype, await loadSessions(directory.path, directory.manifest, dtype, options, log));
  }

  /** Node kinds of the accelerated graphs that ran on the CPU since loading (call once, after a warm-up). */
  cpuPlacedNodes(): Partial<Record<GraphName, string[]>> {
    return cpuPlacedNodes(this.#loaded);
  }

  /** Bytes one position of one row takes in the KV cache: keys and values of every layer. */
  get kvBytesPerPosition(): number {
    const { numLayers, numKeyValueHeads, headDim } = this.manifest.llm;
    return 2 * numLayers * numKeyValueHeads * headDim * (this.act === "float16" ? 2 : 4);
  }

  /** Top candidates per row that decode() returns for the sampler. */
  get candidates(): number {
    return servingTopK(this.manifest.llm.vocabSize);
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
    const { hiddenSize } = this.manifest.llm;
    const { batch, tokens, past } = inputs;
    const names = GRAPH_IO.decoder_serving;
    const feeds: Record<string, ort.Tensor> = {
      [names.inputs.embeds]: tensor(this.act, inputs.embeds, [batch, tokens, hiddenSize]),
      [names.inputs.padding]: int64Tensor(inputs.padding, [batch]),
      [names.inputs.positions]: int64Tensor(inputs.positions, [batch, tokens]),
      ...this.#cacheFeeds(past, pastName),
    };
    const outputs = await this.#run("decoder_serving", feeds);
    const candidates: Candidates = {
      width: outputs[names.outputs.topLogits]!.dims[1]!,
      logits: outputs[names.outputs.topLogits]!.data as Float32Array,
      ids: outputs[names.outputs.topIds]!.data as BigInt64Array,
      logSumExp: outputs[names.outputs.logSumExp]!.data as Float32Array,
    };
    return {
      present: this.#cache(outputs, batch),
      candidates,
      logits: outputs[names.outputs.logits]!,
      hostBytes: hostBytesOf(Object.values(feeds)) + hostBytesOf(Object.values(outputs)),
    };
  }

  /**
   * The whole last-position logits of some rows of a decode's `logits`, as float32 [vocab] each, for
   * sampling that needs more than the candidates (a repetition penalty, top-k beyond them, or no top-k).
   */
  async rowLogits(logits: ort.Tensor, rows: readonly number[]): Promise<{ rows: Float32Array[]; hostBytes: number }> {
    const { inputs, outputs } = GRAPH_IO.logits_rows;
    const feeds = { [inputs.logits]: logits, [inputs.rows]: int64Tensor(rows, [rows.length]) };
    const result = (await this.#run("logits_rows", feeds))[outputs.logits]!;
    const vocab = this.manifest.llm.vocabSize;
    const all = result.data as Float32Array;
    return {
      rows: rows.map((_, i) => all.subarray(i * vocab, (i + 1) * vocab)),
      hostBytes: hostBytesOf([feeds[inputs.rows], result, logits]),
    };
  }

  /** Rows `rows` of a cache, from key column `start` on (kv_select). */
  async selectCache(cache: KvCache, rows: readonly number[], start: number): Promise<KvCache> {
    const { inputs } = GRAPH_IO.kv_select;
    const feeds = {
      [inputs.rows]: int64Tensor(rows, [rows.length]),
      [inputs.start]: int64Tensor([start], [1]),
      ...this.#cacheFeeds(cache, pastName),
    };
    return this.#cache(await this.#run("kv_select", feeds), rows.length);
  }

  /** `batch` with the rows of `joining` appended, the shorter left-padded with zeros (kv_join). */
  async joinCaches(batch: KvCache, joining: KvCache): Promise<KvCache> {
    const feeds = { ...this.#cacheFeeds(batch, pastName), ...this.#cacheFeeds(joining, joiningName) };
    return this.#cache(await this.#run("kv_join", feeds), batch.batch + joining.batch);
  }

  /** An empty cache (length 0) for a prefill. */
  emptyCache(batch = 1): KvCache {
    const { numLayers, numKeyValueHeads, headDim } = this.manifest.llm;
    const empty = tensor(this.act, allocate(this.act, 0), [batch, numKeyValueHeads, 0, headDim]);
    return { batch, length: 0, tensors: Array.from({ length: 2 * numLayers }, () => empty) };
  }

  #cacheFeeds(cache: KvCache, name: (layer: number, side: KvSide) => string): Record<string, ort.Tensor> {
    return Object.fromEntries(cache.tensors.map((t, i) => [name(i >> 1, KV_SIDES[i & 1]!), t]));
  }

  #cache(outputs: ort.InferenceSession.ReturnType, batch: number): KvCache {
    const layers = this.manifest.llm.numLayers;
    const tensors = Array.from({ length: 2 * layers }, (_, i) => outputs[presentName(i >> 1, KV_SIDES[i & 1]!)]!);
    return { batch, length: tensors[0]!.dims[2]!, tensors };
  }

  /**
   * Runs a tower over the images. On WebGPU one image per run: a tower keeps each tensor under 64 MiB per
   * image (converter/README.md), and a batch could pass the device's binding range, which WebGPU does not
   * report but computes wrongly.
   */
  async #encode(graph: "siglip_encoder" | "sam_encoder", pixels: Uint8Array[]): Promise<Activations[]> {
    const perRun = this.providers[graph] === "webgpu" ? 1 : pixels.length;
    const features: Activations[] = [];
    for (let first = 0; first < pixels.length; first += perRun)
      features.push(...(await this.#encodeBatch(graph, pixels.slice(first, first + perRun))));
    return features;
  }

  async #encodeBatch(graph: "siglip_encoder" | "sam_encoder", pixels: Uint8Array[]): Promise<Activations[]> {
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
