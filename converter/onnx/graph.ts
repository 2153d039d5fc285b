import { float32ToFloat16Bits } from "./float16.ts";
import {
  type AttributeInit,
  ELEMENT_TYPES,
  type ElementType,
  type NodeProtoInit,
  onnx,
  type TensorProtoInit,
  type ValueInfoInit,
} from "./proto.ts";

/** A dimension: a fixed size or a symbolic name (e.g. "batch"). */
export type Dim = number | string;

/** Bytes of a tensor produced on demand, chunk by chunk, so large weights are never held whole. */
export interface TensorSource {
  readonly byteLength: number;
  writeTo(sink: (chunk: Uint8Array) => Promise<void>): Promise<void>;
}

/** An initializer whose bytes are streamed into the file when the model is written. */
export interface StreamedInitializer {
  name: string;
  type: ElementType;
  dims: number[];
  source: TensorSource;
}

/** A float attribute (plain numbers are INT attributes). */
export interface FloatAttr {
  float: number;
}
export type AttrValue = number | number[] | string | FloatAttr;

export const float = (value: number): FloatAttr => ({ float: value });

/** A graph that cannot be built or written as asked (names, shapes, byte counts). */
export class GraphError extends Error {
  override name = "GraphError";
}

type TypedData = Float32Array | BigInt64Array | Uint8Array | Int32Array | Uint16Array;

function valueInfo(name: string, type: ElementType, dims: readonly Dim[]): ValueInfoInit {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEMENT_TYPES[type].code,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, value: AttrValue): AttributeInit {
  const { AttributeType } = onnx.AttributeProto;
  if (typeof value === "number") return { name, type: AttributeType.INT, i: value };
  if (typeof value === "string") return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
  return { name, type: AttributeType.FLOAT, f: value.float };
}

/**
 * Builds one ONNX graph: typed inputs and outputs, nodes with generated value names, small constants kept in
 * memory and large weights registered as streamed initializers.
 */
export class GraphBuilder {
  readonly name: string;
  readonly nodes: NodeProtoInit[] = [];
  readonly inputs: ValueInfoInit[] = [];
  readonly outputs: ValueInfoInit[] = [];
  readonly constants: TensorProtoInit[] = [];
  readonly weights: StreamedInitializer[] = [];
  private readonly names = new Set<string>();
  private readonly constantCache = new Map<string, string>();
  private counter = 0;

  constructor(name: string) {
    this.name = name;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new GraphError(`graph ${this.name}: duplicate value name ${name}`);
    this.names.add(name);
    return name;
  }

  input(name: string, type: ElementType, dims: readonly Dim[]): string {
    this.inputs.push(valueInfo(this.claim(name), type, dims));
    return name;
  }

  /** Declares `value` as a graph output named `name` (an Identity renames it when needed). */
  output(value: string, name: string, type: ElementType, dims: readonly Dim[]): void {
    const named = value === name ? value : this.node("Identity", [value], {}, { outputs: [name] })[0]!;
    this.outputs.push(valueInfo(named, type, dims));
  }

  /** Adds a node and returns its output names. */
  node(
    op: string,
    inputs: readonly string[],
    attrs: Record<string, AttrValue> = {},
    options: { outputs?: number | string[] } = {},
  ): string[] {
    const id = `${op}_${this.counter++}`;
    const wanted = options.outputs ?? 1;
    const outputs = typeof wanted === "number" ? Array.from({ length: wanted }, (_, i) => `${id}_out${i}`) : wanted;
    for (const output of outputs) this.claim(output);
    this.nodes.push({
      opType: op,
      name: id,
      input: [...inputs],
      output: outputs,
      attribute: Object.entries(attrs).map(([key, value]) => attribute(key, value)),
    });
    return outputs;
  }

  /** Adds a single-output node and returns its output name. */
  op(op: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}): string {
    return this.node(op, inputs, attrs)[0]!;
  }

  /** A small in-memory constant initializer; identical constants are shared. */
  constant(type: ElementType, dims: readonly number[], data: TypedData): string {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const expected = dims.reduce((a, b) => a * b, 1) * ELEMENT_TYPES[type].bytes;
    if (bytes.byteLength !== expected)
      throw new GraphError(`graph ${this.name}: constant of ${dims} ${type} has ${bytes.byteLength} bytes`);
    const key = bytes.byteLength <= 64 ? `${type}|${dims.join(",")}|${bytes.join(",")}` : undefined;
    const cached = key === undefined ? undefined : this.constantCache.get(key);
    if (cached) return cached;
    const name = this.claim(`const_${this.counter++}`);
    this.constants.push({ name, dims: [...dims], dataType: ELEMENT_TYPES[type].code, rawData: bytes.slice() });
    if (key !== undefined) this.constantCache.set(key, name);
    return name;
  }

  /** An int64 constant (a 1-D list by default; pass `[]` dims for a scalar). */
  int64s(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.constant(
      "int64",
      dims,
      BigInt64Array.from(values, (v) => BigInt(v)),
    );
  }

  /** A float scalar constant. */
  scalar(type: "float32" | "float16", value: number): string {
    if (type === "float32") return this.constant("float32", [], Float32Array.of(value));
    return this.constant("float16", [], Uint16Array.of(float32ToFloat16Bits(value)));
  }

  /** Registers a streamed initializer (a weight); the same name may be used by many nodes. */
  weight(name: string, type: ElementType, dims: readonly number[], source: TensorSource): string {
    const expected = dims.reduce((a, b) => a * b, 1) * ELEMENT_TYPES[type].bytes;
    if (source.byteLength !== expected) {
      throw new GraphError(
        `graph ${this.name}: weight ${name} ${type}[${dims}] needs ${expected} bytes, its source has ${source.byteLength}`,
      );
    }
    this.weights.push({ name: this.claim(name), type, dims: [...dims], source });
    return name;
  }

  hasValue(name: string): boolean {
    return this.names.has(name);
  }
}
