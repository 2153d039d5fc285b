import { type FileHandle, open } from "node:fs/promises";
import { basename } from "node:path";
import { type GraphBuilder, GraphError, type StreamedInitializer } from "./graph.ts";
import { ELEMENT_TYPES, fieldLength, fieldPrefix, onnx, type TensorProtoInit, varintLength, WIRE_TAGS } from "./proto.ts";

/** ONNX files are protobufs and cannot exceed 2 GiB; larger graphs keep their weights in `<file>_data`. */
export const PROTOBUF_LIMIT = 2 ** 31 - 1;

export interface WriteModelOptions {
  /** Put streamed weights in an external data file when the inline model would exceed this many bytes. */
  externalDataThreshold?: number;
  /** Alignment of each tensor in the external data file. */
  externalAlignment?: number;
  /**
   * Weights another graph already stored in its external data file: when this graph's weights go external too,
   * those with the same name, type and dims point into that file instead of being written again.
   */
  sharedWeights?: ExternalWeights;
  /** Called after each weight is written or shared (bytes of that weight). */
  onWeight?: (name: string, bytes: number) => void;
  producer?: string;
}

export interface WrittenModel {
  /** Paths written: the model and, when used, its external data file. */
  files: string[];
  bytes: number;
  /** The weights this call stored in its own external data file, for `sharedWeights` of a later graph. */
  externalWeights?: ExternalWeights;
}

/** An external data file's weights by name: where each starts and what it holds. */
export interface ExternalWeights {
  /** The data file's name, beside the model files. */
  location: string;
  tensors: Map<string, { offset: number; type: StreamedInitializer["type"]; dims: readonly number[]; length: number }>;
}

const OPSET = 18;
const IR_VERSION = 8;

/** Buffers small writes; large chunks go straight to the file. */
class FileSink {
  private readonly pending: Uint8Array[] = [];
  private pendingBytes = 0;
  written = 0;
  private readonly handle: FileHandle;

  constructor(handle: FileHandle) {
    this.handle = handle;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.written += chunk.byteLength;
    if (chunk.byteLength >= 1 << 20) {
      await this.flush();
      await this.writeFully(chunk);
      return;
    }
    this.pending.push(chunk.slice());
    this.pendingBytes += chunk.byteLength;
    if (this.pendingBytes >= 1 << 22) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const joined = Buffer.concat(this.pending, this.pendingBytes);
    this.pending.length = 0;
    this.pendingBytes = 0;
    await this.writeFully(joined);
  }

  private async writeFully(data: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < data.byteLength) {
      const { bytesWritten } = await this.handle.write(data, offset, data.byteLength - offset);
      offset += bytesWritten;
    }
  }
}

async function streamSource(weight: StreamedInitializer, sink: FileSink): Promise<void> {
  const start = sink.written;
  await weight.source.writeTo((chunk) => sink.write(chunk));
  const produced = sink.written - start;
  if (produced !== weight.source.byteLength) {
    throw new GraphError(`weight ${weight.name}: source produced ${produced} bytes, declared ${weight.source.byteLength}`);
  }
}

function tensorHeader(weight: StreamedInitializer, external?: { location: string; offset: number }): Uint8Array {
  const proto: TensorProtoInit = { name: weight.name, dims: weight.dims, dataType: ELEMENT_TYPES[weight.type].code };
  if (external) {
    proto.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    proto.externalData = [
      { key: "location", value: external.location },
      { key: "offset", value: String(external.offset) },
      { key: "length", value: String(weight.source.byteLength) },
    ];
  }
  return onnx.TensorProto.encode(proto).finish();
}

/** Where `weight` already lies in `weights`, when a weight of that name, type and dims is stored there. */
function sharedPlace(weight: StreamedInitializer, weights: ExternalWeights | undefined) {
  const stored = weights?.tensors.get(weight.name);
  if (!stored || stored.type !== weight.type || stored.length !== weight.source.byteLength) return undefined;
  if (stored.dims.length !== weight.dims.length || stored.dims.some((d, i) => d !== weight.dims[i])) return undefined;
  return { location: weights!.location, offset: stored.offset };
}

/**
 * Writes `graph` to `path` as an ONNX model. The graph skeleton (nodes, I/O, small constants) is encoded with
 * onnx-proto; each weight is appended as a GraphProto.initializer field whose length is known in advance,
 * with its raw bytes streamed from its source, so memory stays bounded by the largest chunk.
 */
export async function writeModel(graph: GraphBuilder, path: string, options: WriteModelOptions = {}): Promise<WrittenModel> {
  const threshold = options.externalDataThreshold ?? PROTOBUF_LIMIT - (64 << 20);
  const alignment = options.externalAlignment ?? 4096;
  const skeleton = onnx.GraphProto.encode({
    name: graph.name,
    node: graph.nodes,
    input: graph.inputs,
    output: graph.outputs,
    initializer: graph.constants,
  }).finish();
  const header = onnx.ModelProto.encode({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: "", version: OPSET }],
    producerName: options.producer ?? "deepseek-vl-serve converter",
  }).finish();

  const inlineField = (w: StreamedInitializer) => {
    const tensor = tensorHeader(w);
    return fieldLength(tensor.byteLength + fieldLength(w.source.byteLength));
  };
  const inlineTotal = header.byteLength + skeleton.byteLength + 16 + graph.weights.reduce((sum, w) => sum + inlineField(w), 0);
  const external = inlineTotal > threshold;
  const dataName = `${basename(path)}_data`;
  const dataPath = `${path}_data`;

  // Lay out the external file first: offsets are part of each tensor header.
  const shared = external ? graph.weights.map((w) => sharedPlace(w, options.sharedWeights)) : [];
  const stored: ExternalWeights = { location: dataName, tensors: new Map() };
  const places: { location: string; offset: number }[] = [];
  if (external) {
    let offset = 0;
    for (const [i, w] of graph.weights.entries()) {
      const place = shared[i];
      if (place) {
        places.push(place);
        continue;
      }
      offset = Math.ceil(offset / alignment) * alignment;
      places.push({ location: dataName, offset });
      stored.tensors.set(w.name, { offset, type: w.type, dims: w.dims, length: w.source.byteLength });
      offset += w.source.byteLength;
    }
  }
  const ownData = stored.tensors.size > 0;
  const headers = graph.weights.map((w, i) => tensorHeader(w, places[i]));
  const graphLength =
    skeleton.byteLength +
    graph.weights.reduce((sum, w, i) => {
      const tensorLength = headers[i]!.byteLength + (external ? 0 : fieldLength(w.source.byteLength));
      return sum + fieldLength(tensorLength);
    }, 0);
  if (!external && header.byteLength + fieldLength(graphLength) > PROTOBUF_LIMIT) {
    throw new GraphError(`${path}: model would exceed the 2 GiB protobuf limit; lower externalDataThreshold`);
  }

  const modelHandle = await open(path, "w");
  const dataHandle = ownData ? await open(dataPath, "w") : undefined;
  try {
    const model = new FileSink(modelHandle);
    await model.write(header);
    await model.write(fieldPrefix(WIRE_TAGS.modelGraph, graphLength));
    await model.write(skeleton);
    const data = dataHandle ? new FileSink(dataHandle) : undefined;
    for (const [i, w] of graph.weights.entries()) {
      const tensor = headers[i]!;
      if (external) {
        await model.write(fieldPrefix(WIRE_TAGS.graphInitializer, tensor.byteLength));
        await model.write(tensor);
        if (data && !shared[i]) {
          const pad = places[i]!.offset - data.written;
          if (pad > 0) await data.write(new Uint8Array(pad));
          await streamSource(w, data);
        }
      } else {
        const tensorLength = tensor.byteLength + fieldLength(w.source.byteLength);
        await model.write(fieldPrefix(WIRE_TAGS.graphInitializer, tensorLength));
        await model.write(tensor);
        await model.write(fieldPrefix(WIRE_TAGS.tensorRawData, w.source.byteLength));
        await streamSource(w, model);
      }
      options.onWeight?.(w.name, w.source.byteLength);
    }
    await model.flush();
    await data?.flush();
    const expected = header.byteLength + 1 + varintLength(graphLength) + graphLength;
    if (model.written !== expected) throw new GraphError(`${path}: wrote ${model.written} bytes, planned ${expected}`);
    return {
      files: ownData ? [path, dataPath] : [path],
      bytes: model.written + (data?.written ?? 0),
      externalWeights: ownData ? stored : undefined,
    };
  } finally {
    await modelHandle.close();
    await dataHandle?.close();
  }
}
