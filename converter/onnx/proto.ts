// The ONNX protobuf schema comes from onnx-proto (protobufjs static code). Large tensors never go through
// it: the writer appends their raw bytes in protobuf wire format itself, so no model is built in memory.
import onnxProto from "onnx-proto";

export const onnx = onnxProto.onnx;
export type TensorProtoInit = onnxProto.onnx.ITensorProto;
export type NodeProtoInit = onnxProto.onnx.INodeProto;
export type ValueInfoInit = onnxProto.onnx.IValueInfoProto;
export type AttributeInit = onnxProto.onnx.IAttributeProto;

/** Element types used by the model set, with their TensorProto.DataType codes and byte sizes. */
export const ELEMENT_TYPES = {
  float32: { code: 1, bytes: 4 },
  uint8: { code: 2, bytes: 1 },
  int32: { code: 6, bytes: 4 },
  int64: { code: 7, bytes: 8 },
  bool: { code: 9, bytes: 1 },
  float16: { code: 10, bytes: 2 },
} as const;
export type ElementType = keyof typeof ELEMENT_TYPES;

/** Float types a graph computes in. */
export type FloatType = "float32" | "float16";

/** Protobuf wire type 2 (length-delimited) tags of the fields written by hand. */
export const WIRE_TAGS = {
  modelGraph: (7 << 3) | 2,
  graphInitializer: (5 << 3) | 2,
  tensorRawData: (9 << 3) | 2,
} as const;

export function varintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    length++;
  }
  return length;
}

export function encodeVarint(value: number): Uint8Array {
  const out = new Uint8Array(varintLength(value));
  let i = 0;
  while (value >= 0x80) {
    out[i++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  out[i] = value;
  return out;
}

/** Tag + length prefix of a length-delimited field holding `length` bytes. */
export function fieldPrefix(tag: number, length: number): Uint8Array {
  const varint = encodeVarint(length);
  const out = new Uint8Array(1 + varint.length);
  out[0] = tag;
  out.set(varint, 1);
  return out;
}

/** Total encoded size of a length-delimited field with a one-byte tag. */
export function fieldLength(length: number): number {
  return 1 + varintLength(length) + length;
}
