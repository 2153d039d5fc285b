import { open } from "node:fs/promises";
import { CheckpointError } from "./errors.ts";

/** Byte size of each safetensors dtype. */
export const SAFETENSORS_DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
};

/** Headers above this size are refused (the format's own limit is 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor of a safetensors file: where its bytes are and what they mean. */
export interface TensorEntry {
  name: string;
  dtype: string;
  shape: number[];
  file: string;
  /** Absolute offset of the first data byte in `file`. */
  begin: number;
  byteLength: number;
}

export interface SafetensorsHeader {
  tensors: TensorEntry[];
  metadata: Record<string, string>;
}

const isCount = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value) && value >= 0;

/**
 * Reads and strictly validates the header of a safetensors file without touching its data: header length
 * within the file, JSON well formed, every dtype known, byte ranges matching shape x dtype size, in range,
 * non-overlapping and contiguous up to the end of the file.
 */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    if (size < 8) throw new CheckpointError(`${path}: truncated safetensors file (${size} bytes, no header length)`);
    const prefix = Buffer.alloc(8);
    await handle.read(prefix, 0, 8, 0);
    const headerLength = prefix.readBigUInt64LE(0);
    if (headerLength > BigInt(size - 8)) {
      throw new CheckpointError(
        `${path}: truncated or corrupt safetensors header (declares ${headerLength} header bytes, file has ${size - 8})`,
      );
    }
    if (headerLength > BigInt(MAX_HEADER_BYTES))
      throw new CheckpointError(`${path}: safetensors header of ${headerLength} bytes exceeds ${MAX_HEADER_BYTES}`);
    const length = Number(headerLength);
    const text = Buffer.alloc(length);
    await handle.read(text, 0, length, 8);
    let json: unknown;
    try {
      json = JSON.parse(text.toString("utf8"));
    } catch (error) {
      throw new CheckpointError(`${path}: corrupt safetensors header (invalid JSON: ${(error as Error).message})`);
    }
    if (typeof json !== "object" || json === null || Array.isArray(json))
      throw new CheckpointError(`${path}: corrupt safetensors header (not a JSON object)`);
    const dataStart = 8 + length;
    const dataLength = size - dataStart;
    const tensors: TensorEntry[] = [];
    let metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
      if (name === "__metadata__") {
        metadata = (value ?? {}) as Record<string, string>;
        continue;
      }
      const entry = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      const where = `${path}: tensor ${name}`;
      if (typeof entry !== "object" || entry === null) throw new CheckpointError(`${where}: header entry is not an object`);
      const { dtype, shape, data_offsets: offsets } = entry;
      if (typeof dtype !== "string" || !(dtype in SAFETENSORS_DTYPE_BYTES))
        throw new CheckpointError(`${where}: unknown dtype ${JSON.stringify(dtype)}`);
      if (!Array.isArray(shape) || !shape.every(isCount)) throw new CheckpointError(`${where}: invalid shape ${JSON.stringify(shape)}`);
      if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[1]! < offsets[0]!) {
        throw new CheckpointError(`${where}: invalid data_offsets ${JSON.stringify(offsets)}`);
      }
      const [begin, end] = offsets as [number, number];
      const expected = (shape as number[]).reduce((a, b) => a * b, 1) * SAFETENSORS_DTYPE_BYTES[dtype]!;
      if (end - begin !== expected)
        throw new CheckpointError(`${where}: ${end - begin} data bytes do not match ${dtype}[${shape.join(",")}] (${expected} bytes)`);
      if (end > dataLength)
        throw new CheckpointError(`${where}: data ends at byte ${end} beyond the file's ${dataLength} data bytes (truncated file?)`);
      tensors.push({ name, dtype, shape: shape as number[], file: path, begin: dataStart + begin, byteLength: expected });
    }
    const sorted = [...tensors].sort((a, b) => a.begin - b.begin);
    let cursor = dataStart;
    for (const tensor of sorted) {
      if (tensor.begin !== cursor) {
        throw new CheckpointError(
          `${path}: tensor ${tensor.name} ${tensor.begin < cursor ? "overlaps the previous tensor" : "leaves a hole before it"}`,
        );
      }
      cursor += tensor.byteLength;
    }
    if (cursor !== size) throw new CheckpointError(`${path}: ${size - cursor} trailing bytes after the last tensor`);
    return { tensors, metadata };
  } finally {
    await handle.close();
  }
}
