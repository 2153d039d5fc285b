import * as ort from "onnxruntime-node";
import type { ModelDtype } from "../../shared/manifest/index.ts";
import { float16ToFloat32, float32ToFloat16 } from "../../shared/tensor/index.ts";

/** Float activations as the model set's graphs take them: fp32 values, or fp16 as raw bits. */
export type Activations = Float32Array | Uint16Array;

export type ActivationType = "float32" | "float16";

export const activationType = (dtype: ModelDtype): ActivationType => (dtype === "fp16" ? "float16" : "float32");

export function allocate(type: ActivationType, length: number): Activations {
  return type === "float16" ? new Uint16Array(length) : new Float32Array(length);
}

/** Converts fp16 bits (the wire format of features) to the activation type. */
export function fromFloat16Bits(bits: Uint16Array, type: ActivationType): Activations {
  return type === "float16" ? bits : float16ToFloat32(bits);
}

/** Converts activations to fp16 bits (the wire format of features). */
export function toFloat16Bits(values: Activations): Uint16Array {
  return values instanceof Uint16Array ? values : float32ToFloat16(values);
}

export function tensor(type: ActivationType, data: Activations, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor(type, data, dims);
}

export function int64Tensor(values: ArrayLike<number>, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor("int64", BigInt64Array.from(Array.from(values, BigInt)), dims);
}

/** The tensor's data as activations (fp16 tensors may hand out a Float16Array where the runtime has one). */
export function activationsOf(value: ort.Tensor): Activations {
  const data = value.data;
  if (data instanceof Float32Array || data instanceof Uint16Array) return data;
  if (ArrayBuffer.isView(data) && value.type === "float16") {
    return new Uint16Array(data.buffer, data.byteOffset, (data as unknown as ArrayLike<number>).length);
  }
  throw new Error(`expected float activations, got a ${value.type} tensor`);
}
