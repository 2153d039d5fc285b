import { create } from "@bufbuild/protobuf";
import { type Tensor, TensorSchema } from "../gen/deepseek_vl/v1/inference_pb.js";
import {
  checkShapePattern,
  DEFAULT_TENSOR_LIMITS,
  dtypeInfo,
  dtypeName,
  formatShape,
  type ShapePattern,
  shapeByteLength,
  type TensorDataType,
  TensorError,
  type TensorLimits,
  type TensorValues,
} from "./validate.ts";

/** A validated tensor: `values` is a typed-array view of its elements. */
export type DecodedTensor<D extends TensorDataType = TensorDataType> = {
  [K in D]: { dtype: K; shape: number[]; values: TensorValues<K> };
}[D];

export interface DecodeOptions<D extends TensorDataType = TensorDataType> extends Partial<TensorLimits> {
  /** Expected dtype; anything else is a "dtype_mismatch". */
  dtype?: D;
  /** Expected shape; -1 matches any size on that axis. Anything else is a "shape_mismatch". */
  shape?: ShapePattern;
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverses the bytes of every item in place: wire order (little-endian) <-> big-endian host order. */
export function swapByteOrder(bytes: Uint8Array, itemSize: number): void {
  for (let start = 0; start < bytes.length; start += itemSize) {
    bytes.subarray(start, start + itemSize).reverse();
  }
}

/**
 * Builds a Tensor from typed-array values (16-bit floats as their bits, see float.ts). On little-endian
 * hosts `data` shares memory with `values`, so do not modify `values` while the tensor is in use.
 */
export function encodeTensor<D extends TensorDataType>(
  dtype: D,
  shape: readonly number[],
  values: TensorValues<D>,
  limits?: Partial<TensorLimits>,
): Tensor {
  const info = dtypeInfo(dtype);
  if (!(values instanceof info.arrayType)) {
    throw new TensorError("dtype_mismatch", `${info.name} values must be a ${info.arrayType.name}, got ${describe(values)}`);
  }
  const needed = shapeByteLength(info, shape, { ...DEFAULT_TENSOR_LIMITS, ...limits });
  if (values.byteLength !== needed) {
    throw new TensorError(
      "byte_length",
      `values have ${values.length} elements but shape ${formatShape(shape)} needs ${needed / info.itemSize}`,
    );
  }
  let data = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (!HOST_IS_LITTLE_ENDIAN && info.itemSize > 1) {
    data = data.slice();
    swapByteOrder(data, info.itemSize);
  }
  return create(TensorSchema, { dtype, shape: [...shape], data });
}

/**
 * Validates a received Tensor and returns a typed-array view of its data. The view aliases the message's
 * bytes when they are aligned for the element type on a little-endian host; otherwise (protobuf decoders
 * hand out subarrays at any offset) the bytes are copied once.
 */
export function decodeTensor<D extends TensorDataType = TensorDataType>(tensor: Tensor, options: DecodeOptions<D> = {}): DecodedTensor<D> {
  const { dtype: expectedDtype, shape: expectedShape, ...limits } = options;
  const info = dtypeInfo(tensor.dtype);
  if (expectedDtype !== undefined && tensor.dtype !== expectedDtype) {
    throw new TensorError("dtype_mismatch", `expected a ${dtypeName(expectedDtype)} tensor, got ${info.name}`);
  }
  const shape = [...tensor.shape];
  const needed = shapeByteLength(info, shape, { ...DEFAULT_TENSOR_LIMITS, ...limits });
  if (expectedShape !== undefined) checkShapePattern(shape, expectedShape);
  const { data } = tensor;
  if (data.byteLength !== needed) {
    throw new TensorError(
      "byte_length",
      `tensor data has ${data.byteLength} bytes but shape ${formatShape(shape)} of ${info.name} needs ${needed}`,
    );
  }
  let bytes = data;
  const aligned = data.byteOffset % info.itemSize === 0;
  if (info.itemSize > 1 && !(aligned && HOST_IS_LITTLE_ENDIAN)) {
    bytes = data.slice();
    if (!HOST_IS_LITTLE_ENDIAN) swapByteOrder(bytes, info.itemSize);
  }
  const values = new info.arrayType(bytes.buffer, bytes.byteOffset, needed / info.itemSize);
  return { dtype: tensor.dtype, shape, values } as DecodedTensor<D>;
}

function describe(value: unknown): string {
  return (value as object | null)?.constructor?.name ?? typeof value;
}
