import { type FileHandle, open, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { TensorSource } from "../onnx/index.ts";
import { bfloat16ToFloat32, float32ToHalf, halfToFloat32 } from "../onnx/index.ts";
import { CheckpointError } from "./errors.ts";
import { readSafetensorsHeader, type TensorEntry } from "./safetensors.ts";

export const INDEX_FILE = "model.safetensors.index.json";

/** Float dtypes the converter reads. */
const FLOAT_DTYPES = new Set(["F16", "BF16", "F32"]);

/** Source elements converted per chunk: bounds the converter's working memory. */
const CHUNK_ELEMENTS = 1 << 21;

/**
 * The tensors of an official checkpoint directory: one `*.safetensors` file, or shards listed by
 * `model.safetensors.index.json`. Only headers are read up front; data is read tensor by tensor, chunk by chunk.
 */
export class Checkpoint {
  readonly dir: string;
  readonly tensors: ReadonlyMap<string, TensorEntry>;
  readonly files: readonly string[];
  private readonly handles = new Map<string, Promise<FileHandle>>();

  private constructor(dir: string, tensors: Map<string, TensorEntry>, files: string[]) {
    this.dir = dir;
    this.tensors = tensors;
    this.files = files;
  }

  static async open(dir: string): Promise<Checkpoint> {
    const names = await readdir(dir).catch((error: Error) => {
      throw new CheckpointError(`cannot read checkpoint directory ${dir}: ${error.message}`);
    });
    const shards = names.filter((n) => n.endsWith(".safetensors")).sort();
    let files: string[];
    let weightMap: Record<string, string> | undefined;
    if (names.includes(INDEX_FILE)) {
      let index: { weight_map?: Record<string, string> } | null;
      try {
        index = JSON.parse(await readFile(join(dir, INDEX_FILE), "utf8")) as typeof index;
      } catch (error) {
        throw new CheckpointError(`${INDEX_FILE} is not readable JSON: ${(error as Error).message}`);
      }
      if (!index || typeof index.weight_map !== "object" || index.weight_map === null)
        throw new CheckpointError(`${INDEX_FILE}: missing "weight_map"`);
      weightMap = index.weight_map;
      files = [...new Set(Object.values(weightMap))].sort();
      for (const file of files)
        if (!shards.includes(file)) throw new CheckpointError(`${INDEX_FILE}: shard ${file} is missing from ${dir}`);
    } else if (shards.length === 1) {
      files = shards;
    } else if (shards.length === 0) {
      throw new CheckpointError(`${dir}: no *.safetensors file`);
    } else {
      throw new CheckpointError(`${dir}: ${shards.length} safetensors files but no ${INDEX_FILE}`);
    }
    const tensors = new Map<string, TensorEntry>();
    for (const file of files) {
      const header = await readSafetensorsHeader(join(dir, file));
      for (const tensor of header.tensors) {
        if (tensors.has(tensor.name))
          throw new CheckpointError(`tensor ${tensor.name} appears in two files (${tensors.get(tensor.name)!.file} and ${file})`);
        if (weightMap && weightMap[tensor.name] !== file) {
          throw new CheckpointError(
            `tensor ${tensor.name} is in ${file} but ${INDEX_FILE} maps it to ${weightMap[tensor.name] ?? "nothing"}`,
          );
        }
        tensors.set(tensor.name, tensor);
      }
    }
    if (weightMap) {
      for (const [name, file] of Object.entries(weightMap)) {
        if (!tensors.has(name)) throw new CheckpointError(`tensor ${name}: listed in ${INDEX_FILE} for ${file} but absent from that file`);
      }
    }
    return new Checkpoint(
      dir,
      tensors,
      files.map((f) => join(dir, f)),
    );
  }

  entry(name: string): TensorEntry {
    const tensor = this.tensors.get(name);
    if (!tensor) throw new CheckpointError(`missing tensor ${name}`);
    return tensor;
  }

  private handle(file: string): Promise<FileHandle> {
    let handle = this.handles.get(file);
    if (!handle) {
      handle = open(file, "r");
      this.handles.set(file, handle);
    }
    return handle;
  }

  /** Reads `length` bytes of `file` at `position` into a fresh buffer. */
  private async read(file: string, position: number, length: number): Promise<Buffer> {
    const handle = await this.handle(file);
    const buffer = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
      if (bytesRead === 0) throw new CheckpointError(`${file}: unexpected end of file at byte ${position + done}`);
      done += bytesRead;
    }
    return buffer;
  }

  /** The tensor's data converted to `target`, produced chunk by chunk. */
  source(name: string, target: "float32" | "float16"): TensorSource {
    const entry = this.entry(name);
    if (!FLOAT_DTYPES.has(entry.dtype))
      throw new CheckpointError(`tensor ${name}: dtype ${entry.dtype} is not a float type (F16, BF16 or F32 expected)`);
    const sourceBytes = entry.dtype === "F32" ? 4 : 2;
    const targetBytes = target === "float32" ? 4 : 2;
    const count = entry.byteLength / sourceBytes;
    return {
      byteLength: count * targetBytes,
      writeTo: async (sink) => {
        for (let start = 0; start < count; start += CHUNK_ELEMENTS) {
          const n = Math.min(CHUNK_ELEMENTS, count - start);
          const raw = await this.read(entry.file, entry.begin + start * sourceBytes, n * sourceBytes);
          await sink(convert(raw, entry.dtype, target, n));
        }
      },
    };
  }

  async close(): Promise<void> {
    const handles = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(handles.map(async (h) => (await h).close()));
  }
}

function convert(raw: Buffer, dtype: string, target: "float32" | "float16", n: number): Uint8Array {
  if ((dtype === "F16" && target === "float16") || (dtype === "F32" && target === "float32")) return raw;
  const aligned = new Uint8Array(raw); // copy: typed views need element alignment
  if (dtype === "F32") {
    const out = new Uint16Array(n);
    float32ToHalf(new Float32Array(aligned.buffer, 0, n), out);
    return new Uint8Array(out.buffer);
  }
  const wide = new Float32Array(n);
  const halves = new Uint16Array(aligned.buffer, 0, n);
  if (dtype === "F16") halfToFloat32(halves, wide);
  else bfloat16ToFloat32(halves, wide);
  if (target === "float32") return new Uint8Array(wide.buffer);
  const out = new Uint16Array(n);
  float32ToHalf(wide, out);
  return new Uint8Array(out.buffer);
}
