import { ImageError } from "../errors.ts";
import type { Turn } from "../orientation.ts";
import type { Rgb } from "../pad-colour.ts";
import { type AxisWeights, axisWeights } from "../resize-bicubic.ts";
import type { Pixels } from "../rgb-image.ts";
import type { SquarePlacement } from "../square.ts";
import { type CodecInstances, codecFor, releaseCodec } from "./codecs.ts";

/**
 * What the module exports: `libjpeg/decoder.c`, a decoder per image, fed bytes, giving up to 16 RGB rows at a time,
 * and `libjpeg/resize.c`, Pillow's turn and resize of those rows as they come.
 */
interface ModuleExports {
  readonly memory: WebAssembly.Memory;
  _initialize(): void;
  decoder_create(): number;
  decoder_input(decoder: number, count: number): number;
  decoder_pushed(decoder: number, count: number, ended: number): void;
  decoder_read_header(decoder: number): number;
  decoder_width(decoder: number): number;
  decoder_height(decoder: number): number;
  decoder_message(decoder: number): number;
  decoder_start(decoder: number): number;
  decoder_read_rows(decoder: number): number;
  decoder_rows(decoder: number): number;
  decoder_finish(decoder: number): number;
  decoder_destroy(decoder: number): void;
  resize_create(
    storedWidth: number,
    storedHeight: number,
    swap: number,
    mirrorX: number,
    mirrorY: number,
    width: number,
    height: number,
  ): number;
  resize_axis(resize: number, vertical: number, stride: number): number;
  resize_start(resize: number, side: number, left: number, top: number, red: number, green: number, blue: number): number;
  resize_push(resize: number, rows: number, first: number, count: number): number;
  resize_result(resize: number): number;
  resize_destroy(resize: number): void;
}

interface LibjpegCodec {
  readonly exports: ModuleExports;
  readonly memory: WebAssembly.Memory;
  broken: boolean;
}

/**
 * The module's few system imports (libjpeg links stdio and getenv, never called on this path): empty answers,
 * so an unexpected call fails the decode instead of reaching anything.
 */
function imports(memory: () => WebAssembly.Memory): WebAssembly.Imports {
  const unavailable = () => 52; // WASI ENOSYS
  return {
    wasi_snapshot_preview1: {
      proc_exit: (code: number) => {
        throw new Error(`libjpeg exited with ${code}`);
      },
      environ_sizes_get: (count: number, size: number) => {
        const view = new DataView(memory().buffer);
        view.setUint32(count, 0, true);
        view.setUint32(size, 0, true);
        return 0;
      },
      environ_get: () => 0,
      fd_close: unavailable,
      fd_write: unavailable,
      fd_seek: unavailable,
    },
    env: { emscripten_notify_memory_growth: () => undefined },
  };
}

async function instantiate(wasm: WebAssembly.Module): Promise<LibjpegCodec> {
  let memory: WebAssembly.Memory | undefined;
  const instance = new WebAssembly.Instance(
    wasm,
    imports(() => memory!),
  );
  const exports = instance.exports as unknown as ModuleExports;
  memory = exports.memory;
  exports._initialize();
  return { exports, memory, broken: false };
}

/** How many bytes of the file the module is given at a time. */
const INPUT_CHUNK_BYTES = 256 * 1024;

/** What takes one decode's rows, inside the module. */
interface RowConsumer {
  /** `count` stored rows from row `first`, RGB, back to back at `pointer` in the module's memory. */
  rows(pointer: number, first: number, count: number): void;
  /** After the last row (and the end of the file) was read. */
  end?(): void;
  /** Frees what the consumer holds in the module, unless the instance broke (it is then dropped whole). */
  release?(): void;
}

/**
 * A JPEG decoded by libjpeg-turbo 2.1.5 as Pillow runs it (`Image.open(f).convert("RGB")`), handed over as RGB rows
 * in decode order, 16 at a time, so no caller has to hold the frame: libjpeg's defaults (ISLOW IDCT, fancy
 * upsampling, block smoothing), every process libjpeg reads (baseline, extended, progressive, arithmetic), every
 * sampling, grey replicated, CMYK/YCCK by Pillow's own conversion. `start` gets the size from the header and gives
 * what takes the rows. Warnings are tolerated as Pillow tolerates them; an error — a truncated file included — is
 * "corrupt_image" with libjpeg's message, and the instance it happened in is dropped.
 */
async function decode(
  bytes: Uint8Array,
  wasm: WebAssembly.Module,
  codecs: CodecInstances,
  start: (exports: ModuleExports, width: number, height: number) => RowConsumer,
): Promise<void> {
  const { codec, cached } = await codecFor(wasm, codecs, instantiate);
  const { exports } = codec;
  const decoder = exports.decoder_create();
  if (decoder === 0) {
    releaseCodec(wasm, codecs, cached, codec);
    throw new ImageError("too_many_pixels", "JPEG could not be decoded: out of the decoder's memory");
  }
  let consumer: RowConsumer | undefined;
  try {
    // The bytes go in a chunk at a time, as libjpeg asks for them (it suspends when it runs out), so the module
    // holds a chunk and what libjpeg has not consumed of it, never the whole file.
    let offset = 0;
    const more = (): void => {
      if (offset >= bytes.length) throw new ImageError("corrupt_image", "JPEG is truncated");
      const count = Math.min(INPUT_CHUNK_BYTES, bytes.length - offset);
      const input = exports.decoder_input(decoder, count);
      if (input === 0) throw new ImageError("too_many_pixels", "JPEG could not be decoded: out of the decoder's memory");
      new Uint8Array(exports.memory.buffer, input, count).set(bytes.subarray(offset, offset + count));
      offset += count;
      exports.decoder_pushed(decoder, count, offset >= bytes.length ? 1 : 0);
    };
    while (!exports.decoder_read_header(decoder)) more();
    const width = exports.decoder_width(decoder);
    const height = exports.decoder_height(decoder);
    consumer = start(exports, width, height);
    while (!exports.decoder_start(decoder)) more();
    for (let row = 0; row < height; ) {
      const count = exports.decoder_read_rows(decoder);
      if (count === 0) {
        more();
        continue;
      }
      consumer.rows(exports.decoder_rows(decoder), row, count);
      row += count;
    }
    while (!exports.decoder_finish(decoder)) more();
    consumer.end?.();
    exports.decoder_destroy(decoder);
  } catch (error) {
    if (error instanceof ImageError) {
      exports.decoder_destroy(decoder);
      throw error;
    }
    // A C call that did not return (libjpeg's error_exit stored its message and trapped): the instance's stack and
    // heap are not to be trusted.
    codec.broken = true;
    // A trap is a WebAssembly.RuntimeError (not in every runtime's typings).
    if (!(error instanceof Error && error.name === "RuntimeError")) throw error;
    throw new ImageError("corrupt_image", `JPEG could not be decoded: ${cString(exports.memory, exports.decoder_message(decoder))}`);
  } finally {
    if (!codec.broken) consumer?.release?.();
    releaseCodec(wasm, codecs, cached, codec);
  }
}

/** The whole JPEG as RGB pixels (see `decode`). */
export async function decodeJpeg(bytes: Uint8Array, wasm: WebAssembly.Module, codecs: CodecInstances): Promise<Pixels> {
  let image: Pixels | undefined;
  await decode(bytes, wasm, codecs, (exports, width, height) => {
    const data = new Uint8Array(width * height * 3);
    image = { data, width, height, channels: 3 };
    return {
      rows: (pointer, first, count) => data.set(new Uint8Array(exports.memory.buffer, pointer, count * width * 3), first * width * 3),
    };
  });
  return image!;
}

/**
 * What `resizeJpeg` makes: the stored size it expects, the turn, the output size, and the padded square the output
 * is placed on.
 */
export interface JpegResize {
  readonly stored: { readonly width: number; readonly height: number };
  readonly turn: Turn;
  readonly width: number;
  readonly height: number;
  readonly square: SquarePlacement & { readonly colour: Rgb };
}

const resizeOutOfMemory = () => new ImageError("too_many_pixels", "JPEG could not be resized: out of the decoder's memory");

/** Writes one axis's weights where `resize_axis` made room for them. */
function writeAxis(exports: ModuleExports, resize: number, vertical: boolean, axis: AxisWeights): void {
  const size = axis.first.length;
  const pointer = exports.resize_axis(resize, vertical ? 1 : 0, axis.stride);
  if (pointer === 0) throw resizeOutOfMemory();
  const block = new Int32Array(exports.memory.buffer, pointer, size * (2 + axis.stride));
  block.set(axis.first);
  block.set(axis.count, size);
  block.set(axis.weights, 2 * size);
}

/**
 * Pillow's `exif_transpose` then `resize((width, height), BICUBIC)` of a JPEG (see `decode`), pasted onto the padded
 * square: channel-planar `[3, side, side]`. The decoder's rows go straight into `libjpeg/resize.c` inside the module,
 * which writes the planes: no frame is held, in JavaScript or in the module. Byte for byte Pillow's result.
 */
export async function resizeJpeg(
  bytes: Uint8Array,
  wasm: WebAssembly.Module,
  codecs: CodecInstances,
  target: JpegResize,
): Promise<Uint8Array> {
  const { stored, turn, width, height, square } = target;
  let planes: Uint8Array | undefined;
  await decode(bytes, wasm, codecs, (exports, decodedWidth, decodedHeight) => {
    if (decodedWidth !== stored.width || decodedHeight !== stored.height) {
      throw new ImageError(
        "corrupt_image",
        `decoded ${decodedWidth}x${decodedHeight} pixels where the header declares ${stored.width}x${stored.height}`,
      );
    }
    const [uprightWidth, uprightHeight] = turn.swap ? [stored.height, stored.width] : [stored.width, stored.height];
    const resize = exports.resize_create(stored.width, stored.height, +turn.swap, +turn.mirrorX, +turn.mirrorY, width, height);
    if (resize === 0) throw resizeOutOfMemory();
    const consumer: RowConsumer = {
      rows: (pointer, first, count) => {
        if (!exports.resize_push(resize, pointer, first, count)) throw resizeOutOfMemory();
      },
      end: () => {
        const result = exports.resize_result(resize);
        if (result === 0) throw new Error("the JPEG's rows ended with outputs of the resize still missing");
        planes = new Uint8Array(exports.memory.buffer, result, 3 * square.side * square.side).slice();
      },
      release: () => exports.resize_destroy(resize),
    };
    try {
      if (width !== uprightWidth) writeAxis(exports, resize, false, axisWeights(uprightWidth, width));
      if (height !== uprightHeight) writeAxis(exports, resize, true, axisWeights(uprightHeight, height));
      if (!exports.resize_start(resize, square.side, square.left, square.top, ...square.colour)) throw resizeOutOfMemory();
    } catch (error) {
      exports.resize_destroy(resize);
      throw error;
    }
    return consumer;
  });
  return planes!;
}

function cString(memory: WebAssembly.Memory, pointer: number): string {
  const bytes = new Uint8Array(memory.buffer, pointer);
  return new TextDecoder().decode(bytes.subarray(0, Math.max(0, bytes.indexOf(0))));
}
