import { DataType } from "../gen/deepseek_vl/v1/inference_pb.js";

/** Typed-array view of a tensor's elements, per dtype. 16-bit floats travel as their raw bits. */
export interface TensorValuesByDtype {
  [DataType.UINT8]: Uint8Array;
  [DataType.INT32]: Int32Array;
  [DataType.INT64]: BigInt64Array;
  [DataType.FLOAT16]: Uint16Array;
  [DataType.BFLOAT16]: Uint16Array;
  [DataType.FLOAT32]: Float32Array;
}

/** The dtypes a tensor may carry (every DataType except UNSPECIFIED). */
export type TensorDataType = keyof TensorValuesByDtype;

export type TensorValues<D extends TensorDataType = TensorDataType> = TensorValuesByDtype[D];

interface TypedArrayConstructor {
  readonly name: string;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): TensorValues;
}

export interface DtypeInfo {
  readonly name: string;
  readonly itemSize: 1 | 2 | 4 | 8;
  readonly arrayType: TypedArrayConstructor;
}

const DTYPES: { readonly [D in TensorDataType]: DtypeInfo } = {
  [DataType.UINT8]: { name: "UINT8", itemSize: 1, arrayType: Uint8Array },
  [DataType.INT32]: { name: "INT32", itemSize: 4, arrayType: Int32Array },
  [DataType.INT64]: { name: "INT64", itemSize: 8, arrayType: BigInt64Array },
  [DataType.FLOAT16]: { name: "FLOAT16", itemSize: 2, arrayType: Uint16Array },
  [DataType.BFLOAT16]: { name: "BFLOAT16", itemSize: 2, arrayType: Uint16Array },
  [DataType.FLOAT32]: { name: "FLOAT32", itemSize: 4, arrayType: Float32Array },
};

export type TensorErrorCode =
  | "unknown_dtype"
  | "dtype_mismatch"
  | "invalid_dim"
  | "dim_limit"
  | "rank_limit"
  | "overflow"
  | "total_limit"
  | "byte_length"
  | "shape_mismatch";

/** A tensor (or the arguments to build one) breaks the protocol; servers map it to INVALID_ARGUMENT. */
export class TensorError extends Error {
  override name = "TensorError";
  readonly code: TensorErrorCode;

  constructor(code: TensorErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** Upper bounds (inclusive) checked before any element is touched. */
export interface TensorLimits {
  /** Most dimensions a shape may have. */
  maxDims: number;
  /** Largest single dimension. */
  maxDim: number;
  /** Most elements (product of the shape). */
  maxElements: number;
  /** Most bytes of data. */
  maxBytes: number;
}

/**
 * The largest tensors of the protocol are pixel batches uint8 [N,3,1024,1024] (3 MiB per image) and
 * features fp16 [576,1024] (1.1 MiB): these bounds leave ample room and still stop absurd shapes.
 */
export const DEFAULT_TENSOR_LIMITS: Readonly<TensorLimits> = {
  maxDims: 8,
  maxDim: 1 << 24,
  maxElements: 1 << 26,
  maxBytes: 1 << 28,
};

function findDtype(dtype: number): DtypeInfo | undefined {
  return (DTYPES as Partial<Record<number, DtypeInfo>>)[dtype];
}

export function dtypeName(dtype: number): string {
  return findDtype(dtype)?.name ?? (dtype === DataType.UNSPECIFIED ? "UNSPECIFIED (0)" : String(dtype));
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

export function dtypeInfo(dtype: number): DtypeInfo {
  const info = findDtype(dtype);
  if (info === undefined) {
    const known = Object.values(DTYPES)
      .map((d) => d.name)
      .join(", ");
    throw new TensorError("unknown_dtype", `tensor dtype ${dtypeName(dtype)} is not one of ${known}`);
  }
  return info;
}

/**
 * Checks every dim and the totals against the limits and returns the byte length the shape needs.
 * Dims come from JS callers as well as from uint32 wire fields, so negative, fractional and NaN dims are
 * rejected here too. Each product is checked to stay a safe integer, so nothing overflows silently.
 */
export function shapeByteLength(info: DtypeInfo, shape: readonly number[], limits: TensorLimits): number {
  if (shape.length > limits.maxDims) {
    throw new TensorError("rank_limit", `shape ${formatShape(shape)} has ${shape.length} dims, the limit is ${limits.maxDims}`);
  }
  let elements = 1;
  for (const [axis, dim] of shape.entries()) {
    // Zero-sized tensors carry nothing in this protocol, so a zero dim is an error, not an empty tensor.
    if (!Number.isInteger(dim) || dim < 1) {
      throw new TensorError("invalid_dim", `shape ${formatShape(shape)} has dim ${dim} at axis ${axis}; dims must be integers >= 1`);
    }
    if (dim > limits.maxDim) {
      throw new TensorError("dim_limit", `shape ${formatShape(shape)} has dim ${dim} at axis ${axis}, the limit is ${limits.maxDim}`);
    }
    // A true product above 2^53-1 rounds to at least 2^53, which is not a safe integer.
    elements *= dim;
    if (!Number.isSafeInteger(elements)) {
      throw new TensorError("overflow", `shape ${formatShape(shape)} has more than 2^53-1 elements`);
    }
  }
  if (elements > limits.maxElements) {
    throw new TensorError("total_limit", `shape ${formatShape(shape)} has ${elements} elements, the limit is ${limits.maxElements}`);
  }
  const bytes = elements * info.itemSize;
  if (!Number.isSafeInteger(bytes)) {
    throw new TensorError("overflow", `shape ${formatShape(shape)} of ${info.name} needs more than 2^53-1 bytes`);
  }
  if (bytes > limits.maxBytes) {
    throw new TensorError(
      "total_limit",
      `shape ${formatShape(shape)} of ${info.name} needs ${bytes} bytes, the limit is ${limits.maxBytes}`,
    );
  }
  return bytes;
}

/** An expected shape; -1 matches any size on that axis, e.g. [-1, 3, 384, 384]. */
export type ShapePattern = readonly number[];

export function checkShapePattern(shape: readonly number[], pattern: ShapePattern): void {
  const matches = shape.length === pattern.length && pattern.every((want, axis) => want === -1 || want === shape[axis]);
  if (!matches) {
    throw new TensorError("shape_mismatch", `tensor shape ${formatShape(shape)} does not match expected ${formatShape(pattern)}`);
  }
}
