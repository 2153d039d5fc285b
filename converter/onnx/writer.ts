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
  /** Called after each weight is written (bytes of that weight). */
  onWeight?: (name: string, bytes: number) => void;
  producer?: string;
}

export interface WrittenModel {
  /** Paths written: the model and, when used, its external data file. */
  files: string[];
  bytes: number;
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
  const offsets: number[] = [];
  if (external) {
    let offset = 0;
    for (const w of graph.weights) {
      offset = Math.ceil(offset / alignment) * alignment;
      offsets.push(offset);
      offset += w.source.byteLength;
    }
  }
  const headers = graph.weights.map((w, i) => (external ? tensorHeader(w, { location: dataName, offset: offsets[i]! }) : tensorHeader(w)));
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
  const dataHandle = external ? await open(dataPath, "w") : undefined;
  try {
    const model = new FileSink(modelHandle);
    await model.write(header);
    await model.write(fieldPrefix(WIRE_TAGS.modelGraph, graphLength));
    await model.write(skeleton);
    const data = dataHandle ? new FileSink(dataHandle) : undefined;
    for (const [i, w] of graph.weights.entries()) {
      const tensor = headers[i]!;
      if (data) {
        await model.write(fieldPrefix(WIRE_TAGS.graphInitializer, tensor.byteLength));
        await model.write(tensor);
        const pad = offsets[i]! - data.written;
        if (pad > 0) await data.write(new Uint8Array(pad));
        await streamSource(w, data);
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
    return { files: external ? [path, dataPath] : [path], bytes: model.written + (data?.written ?? 0) };
  } finally {
    await modelHandle.close();
    await dataHandle?.close();
  }
}
