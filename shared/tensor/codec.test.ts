import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { DataType, type Tensor, TensorSchema } from "../gen/deepseek_vl/v1/inference_pb.js";
import { decodeTensor, encodeTensor, swapByteOrder } from "./codec.ts";
import { type TensorDataType, TensorError, type TensorErrorCode, type TensorValues } from "./validate.ts";

function wireTensor(dtype: number, shape: number[], data: Uint8Array | number[] = []): Tensor {
  return create(TensorSchema, { dtype, shape, data: data instanceof Uint8Array ? data : Uint8Array.from(data) });
}

/** `bytes` placed at `offset` inside a larger buffer, the way protobuf decoders hand out fields. */
function atOffset(bytes: number[], offset: number): Uint8Array {
  const backing = new Uint8Array(offset + bytes.length + 3).fill(0xee);
  backing.set(bytes, offset);
  return backing.subarray(offset, offset + bytes.length);
}

function expectTensorError(run: () => unknown, code: TensorErrorCode, message?: string): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(TensorError);
  expect((caught as TensorError).code).toBe(code);
  if (message !== undefined) expect((caught as TensorError).message).toBe(message);
}

// Little-endian wire bytes written out by hand, and the values they mean.
const WIRE_CASES: { name: string; dtype: TensorDataType; bytes: number[]; values: TensorValues }[] = [
  { name: "UINT8", dtype: DataType.UINT8, bytes: [0, 1, 254, 255], values: Uint8Array.of(0, 1, 254, 255) },
  {
    name: "INT32",
    dtype: DataType.INT32,
    bytes: [1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0, 0, 0, 0x80, 0xff, 0xff, 0xff, 0x7f],
    values: Int32Array.of(1, -2, -(2 ** 31), 2 ** 31 - 1),
  },
  {
    name: "INT64",
    dtype: DataType.INT64,
    bytes: [
      0x15, 0x87, 1, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0x80, 1, 0, 0, 0, 0, 0, 0x20, 0,
    ],
    values: BigInt64Array.of(100_117n, -1n, -(2n ** 63n), 2n ** 53n + 1n),
  },
  { name: "FLOAT16", dtype: DataType.FLOAT16, bytes: [0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b], values: Uint16Array.of(0x3c00, 0xc000, 0x7bff) },
  { name: "BFLOAT16", dtype: DataType.BFLOAT16, bytes: [0x80, 0x3f, 0x49, 0x40], values: Uint16Array.of(0x3f80, 0x4049) },
  {
    name: "FLOAT32",
    dtype: DataType.FLOAT32,
    bytes: [0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc1, 0, 0, 0x80, 0x7f, 0, 0, 0, 0x80],
    values: Float32Array.of(1, -10, Infinity, -0),
  },
];

describe("encodeTensor / decodeTensor", () => {
  it.each(WIRE_CASES)("$name: encodes to little-endian bytes and decodes them back", ({ dtype, bytes, values }) => {
    const shape = [1, values.length];
    const tensor = encodeTensor(dtype, shape, values);
    expect(tensor.dtype).toBe(dtype);
    expect(tensor.shape).toEqual(shape);
    expect([...tensor.data]).toEqual(bytes);

    const decoded = decodeTensor(wireTensor(dtype, shape, bytes), { dtype });
    expect(decoded.dtype).toBe(dtype);
    expect(decoded.shape).toEqual(shape);
    expect(decoded.values).toEqual(values);
  });

  it.each(WIRE_CASES)("$name: survives protobuf serialization at every data offset", ({ dtype, values }) => {
    // Each leading 1 adds a byte to the packed shape, shifting where `data` starts in the message.
    for (let ones = 0; ones < 8; ones++) {
      const shape = [...new Array<number>(ones).fill(1), values.length];
      const received = fromBinary(TensorSchema, toBinary(TensorSchema, encodeTensor(dtype, shape, values)));
      const decoded = decodeTensor(received, { dtype, shape });
      expect(decoded.shape).toEqual(shape);
      expect(decoded.values).toEqual(values);
    }
  });

  it.each(WIRE_CASES.filter((c) => c.dtype !== DataType.UINT8))(
    "$name: decodes data at an unaligned offset correctly, copying it once",
    ({ dtype, bytes, values }) => {
      const data = atOffset(bytes, 1);
      const decoded = decodeTensor(wireTensor(dtype, [values.length], data));
      expect(decoded.values).toEqual(values);
      expect(decoded.values.buffer).not.toBe(data.buffer);
      // The copy is the decoder's own: later writes to the message do not leak in.
      data.fill(0);
      expect(decoded.values).toEqual(values);
    },
  );

  it.each(WIRE_CASES)("$name: views aligned data without copying (little-endian host)", ({ dtype, bytes, values }) => {
    const data = atOffset(bytes, 8);
    const decoded = decodeTensor(wireTensor(dtype, [values.length], data));
    expect(decoded.values.buffer).toBe(data.buffer);
    expect(decoded.values.byteOffset).toBe(8);
    expect(decoded.values).toEqual(values);
  });

  it("encodes without copying: data views the values' memory (little-endian host)", () => {
    const values = new Float32Array(new ArrayBuffer(64), 16, 4);
    const tensor = encodeTensor(DataType.FLOAT32, [4], values);
    expect(tensor.data.buffer).toBe(values.buffer);
    expect(tensor.data.byteOffset).toBe(16);
    expect(tensor.data.byteLength).toBe(16);
  });

  it("carries the 576×1024 fp16 features shape", () => {
    const features = new Uint16Array(576 * 1024).map((_, i) => i & 0xffff);
    const received = fromBinary(TensorSchema, toBinary(TensorSchema, encodeTensor(DataType.FLOAT16, [576, 1024], features)));
    const decoded = decodeTensor(received, { dtype: DataType.FLOAT16, shape: [576, 1024] });
    // One comparison over the whole array: element-wise toEqual on 590k items is needlessly slow.
    expect(decoded.values.every((bits, i) => bits === features[i])).toBe(true);
    expect(decoded.values).toHaveLength(features.length);
  });

  it("accepts a scalar (shape [])", () => {
    expect(decodeTensor(wireTensor(DataType.UINT8, [], [7])).values).toEqual(Uint8Array.of(7));
  });
});

describe("expectations", () => {
  const pixels = wireTensor(DataType.UINT8, [2, 3, 4, 4], new Array(96).fill(1));

  it("accepts the expected dtype and a shape pattern with wildcards", () => {
    expect(decodeTensor(pixels, { dtype: DataType.UINT8, shape: [-1, 3, 4, 4] }).shape).toEqual([2, 3, 4, 4]);
    expect(decodeTensor(pixels, { shape: [2, -1, -1, 4] }).shape).toEqual([2, 3, 4, 4]);
  });

  it("rejects another dtype than expected", () => {
    expectTensorError(() => decodeTensor(pixels, { dtype: DataType.FLOAT16 }), "dtype_mismatch", "expected a FLOAT16 tensor, got UINT8");
  });

  it.each([
    ["another size", [-1, 3, 4, 5]],
    ["fewer dims", [3, 4, 4]],
    ["more dims", [1, -1, 3, 4, 4]],
  ])("rejects a shape with %s", (_, pattern) => {
    expectTensorError(
      () => decodeTensor(pixels, { shape: pattern }),
      "shape_mismatch",
      `tensor shape [2,3,4,4] does not match expected [${pattern.join(",")}]`,
    );
  });
});

describe("malformed tensors", () => {
  it.each([
    ["long", 100],
    ["short", 59],
    ["empty", 0],
  ])("rejects %s data", (_, length) => {
    expectTensorError(
      () => decodeTensor(wireTensor(DataType.FLOAT32, [3, 5], new Array(length).fill(0))),
      "byte_length",
      `tensor data has ${length} bytes but shape [3,5] of FLOAT32 needs 60`,
    );
  });

  it("rejects a zero dim", () => {
    expectTensorError(
      () => decodeTensor(wireTensor(DataType.UINT8, [3, 0], [])),
      "invalid_dim",
      "shape [3,0] has dim 0 at axis 1; dims must be integers >= 1",
    );
  });

  it.each([-1, 1.5, NaN, Infinity, 0])("rejects the dim %s when encoding", (dim) => {
    expectTensorError(() => encodeTensor(DataType.UINT8, [2, dim], new Uint8Array(2)), "invalid_dim");
  });

  it("rejects a dim above maxDim", () => {
    expectTensorError(
      () => decodeTensor(wireTensor(DataType.UINT8, [1, 2 ** 32 - 1], [])),
      "dim_limit",
      `shape [1,4294967295] has dim 4294967295 at axis 1, the limit is ${2 ** 24}`,
    );
    expectTensorError(() => decodeTensor(wireTensor(DataType.UINT8, [11], []), { maxDim: 10 }), "dim_limit");
    expect(decodeTensor(wireTensor(DataType.UINT8, [10], new Array(10).fill(0)), { maxDim: 10 }).shape).toEqual([10]);
  });

  it("rejects more dims than maxDims", () => {
    const data = [1];
    expect(decodeTensor(wireTensor(DataType.UINT8, new Array(8).fill(1), data)).shape).toHaveLength(8);
    expectTensorError(
      () => decodeTensor(wireTensor(DataType.UINT8, new Array(9).fill(1), data)),
      "rank_limit",
      "shape [1,1,1,1,1,1,1,1,1] has 9 dims, the limit is 8",
    );
  });

  it("rejects element products beyond 2^53-1 instead of overflowing", () => {
    const big = 2 ** 24; // within the default maxDim: only the product is absurd
    expectTensorError(
      () => decodeTensor(wireTensor(DataType.UINT8, [big, big, big, big], [])),
      "overflow",
      `shape [${big},${big},${big},${big}] has more than 2^53-1 elements`,
    );
    const unlimited = { maxDim: Infinity, maxElements: Infinity, maxBytes: Infinity };
    expectTensorError(() => decodeTensor(wireTensor(DataType.UINT8, [2 ** 32 - 1, 2 ** 32 - 1], []), unlimited), "overflow");
  });

  it("rejects byte counts beyond 2^53-1 instead of overflowing", () => {
    const unlimited = { maxDim: Infinity, maxElements: Infinity, maxBytes: Infinity };
    expectTensorError(
      () => decodeTensor(wireTensor(DataType.INT64, [2 ** 26, 2 ** 26], []), unlimited),
      "overflow",
      `shape [${2 ** 26},${2 ** 26}] of INT64 needs more than 2^53-1 bytes`,
    );
  });

  it("rejects totals above maxElements and maxBytes", () => {
    expectTensorError(
      () => decodeTensor(wireTensor(DataType.UINT8, [2 ** 13, 2 ** 14], [])),
      "total_limit",
      `shape [8192,16384] has ${2 ** 27} elements, the limit is ${2 ** 26}`,
    );
    const sixteenFloats = new Array(64).fill(0);
    expect(decodeTensor(wireTensor(DataType.FLOAT32, [4, 4], sixteenFloats), { maxBytes: 64, maxElements: 16 }).values).toHaveLength(16);
    expectTensorError(
      () => decodeTensor(wireTensor(DataType.FLOAT32, [4, 5], []), { maxBytes: 64 }),
      "total_limit",
      "shape [4,5] of FLOAT32 needs 80 bytes, the limit is 64",
    );
    expectTensorError(
      () => decodeTensor(wireTensor(DataType.UINT8, [4, 5], []), { maxElements: 16 }),
      "total_limit",
      "shape [4,5] has 20 elements, the limit is 16",
    );
  });

  it.each([
    [DataType.UNSPECIFIED, "tensor dtype UNSPECIFIED (0) is not one of UINT8, INT32, INT64, FLOAT16, BFLOAT16, FLOAT32"],
    [99, "tensor dtype 99 is not one of UINT8, INT32, INT64, FLOAT16, BFLOAT16, FLOAT32"],
  ])("rejects the unknown dtype %s", (dtype, message) => {
    expectTensorError(() => decodeTensor(wireTensor(dtype, [1], [0])), "unknown_dtype", message);
    expectTensorError(() => encodeTensor(dtype as TensorDataType, [1], new Uint8Array(1)), "unknown_dtype", message);
  });

  it("rejects encoding values of the wrong array type", () => {
    expectTensorError(
      () => encodeTensor(DataType.FLOAT16, [2], new Float32Array(2) as unknown as Uint16Array),
      "dtype_mismatch",
      "FLOAT16 values must be a Uint16Array, got Float32Array",
    );
    expectTensorError(() => encodeTensor(DataType.INT64, [2], [1, 2] as unknown as BigInt64Array), "dtype_mismatch");
  });

  it("rejects encoding a value count that does not match the shape", () => {
    expectTensorError(
      () => encodeTensor(DataType.INT32, [2, 3], new Int32Array(5)),
      "byte_length",
      "values have 5 elements but shape [2,3] needs 6",
    );
  });

  it("reports through an Error subclass", () => {
    const error = new TensorError("overflow", "x");
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("TensorError");
  });
});

describe("swapByteOrder (big-endian hosts)", () => {
  it.each([
    [2, [2, 1, 4, 3, 6, 5, 8, 7]],
    [4, [4, 3, 2, 1, 8, 7, 6, 5]],
    [8, [8, 7, 6, 5, 4, 3, 2, 1]],
  ])("reverses each %i-byte item", (itemSize, want) => {
    const bytes = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
    swapByteOrder(bytes, itemSize);
    expect([...bytes]).toEqual(want);
  });
});
