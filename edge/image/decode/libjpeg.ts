import { ImageError } from "../errors.ts";
import type { Pixels } from "../rgb-image.ts";
import { type CodecInstances, codecFor, releaseCodec } from "./codecs.ts";

/** What `libjpeg/decoder.c` exports: a decoder per image, fed bytes, giving up to 16 rows at a time. */
interface DecoderExports {
  readonly memory: WebAssembly.Memory;
  _initialize(): void;
  decoder_create(): number;
  decoder_input(decoder: number, count: number): number;
  decoder_pushed(decoder: number, count: number, ended: number): void;
  decoder_read_header(decoder: number): number;
  decoder_width(decoder: number): number;
  decoder_height(decoder: number): number;
  decoder_color_space(decoder: number): number;
  decoder_message(decoder: number): number;
  decoder_start(decoder: number, outColorSpace: number): number;
  decoder_read_rows(decoder: number): number;
  decoder_rows(decoder: number): number;
  decoder_finish(decoder: number): number;
  decoder_destroy(decoder: number): void;
}

interface LibjpegCodec {
  readonly exports: DecoderExports;
  readonly memory: WebAssembly.Memory;
  broken: boolean;
}

/** libjpeg's J_COLOR_SPACE values: the decoder converts YCbCr and grey to RGB itself, YCCK to CMYK. */
const JCS_RGB = 2;
const JCS_CMYK = 4;
const JCS_YCCK = 5;

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
  const exports = instance.exports as unknown as DecoderExports;
  memory = exports.memory;
  exports._initialize();
  return { exports, memory, broken: false };
}

/**
 * Pillow's CMYK -> RGB (Convert.c cmyk2rgb) for one ink, on libjpeg's CMYK samples: Pillow opens every 4-component
 * JPEG as "CMYK;I" (Adobe's inverted inks), so its ink is `255 - sample` and its `255 - k` the sample of k.
 */
function ink(sample: number, k: number): number {
  const t = (255 - sample) * k + 128;
  return Math.max(0, k - (((t >> 8) + t) >> 8));
}

/** Where decoded rows go: `count` stored rows from row `first`, RGB, back to back (valid only during the call). */
export type RowSink = (rows: Uint8Array, first: number, count: number) => void;

/**
 * A JPEG decoded by libjpeg-turbo 2.1.5 as Pillow runs it (`Image.open(f).convert("RGB")`), handed over as RGB rows
 * in decode order, 16 at a time, so no caller has to hold the frame: libjpeg's defaults (ISLOW IDCT, fancy
 * upsampling, block smoothing), every process libjpeg reads (baseline, extended, progressive, arithmetic), every
 * sampling, grey replicated, CMYK/YCCK by Pillow's own conversion. `start` gets the size from the header and gives
 * the sink. Warnings are tolerated as Pillow tolerates them; an error — a truncated file included — is
 * "corrupt_image" with libjpeg's message, and the instance it happened in is dropped.
 */
export async function decodeJpegRows(
  bytes: Uint8Array,
  wasm: WebAssembly.Module,
  codecs: CodecInstances,
  start: (width: number, height: number) => RowSink,
): Promise<void> {
  const { codec, cached } = await codecFor(wasm, codecs, instantiate);
  const { exports } = codec;
  const decoder = exports.decoder_create();
  if (decoder === 0) {
    releaseCodec(wasm, codecs, cached, codec);
    throw new ImageError("too_many_pixels", "JPEG could not be decoded: out of the decoder's memory");
  }
  try {
    const input = exports.decoder_input(decoder, bytes.length);
    if (input === 0) throw new ImageError("too_many_pixels", "JPEG could not be decoded: its bytes do not fit the decoder's memory");
    new Uint8Array(exports.memory.buffer, input, bytes.length).set(bytes);
    exports.decoder_pushed(decoder, bytes.length, 1);
    // With every byte given and the input ended, libjpeg never suspends: a 0 below is a truncated file.
    if (!exports.decoder_read_header(decoder)) throw new ImageError("corrupt_image", "JPEG is truncated in its header");
    const width = exports.decoder_width(decoder);
    const height = exports.decoder_height(decoder);
    const colorSpace = exports.decoder_color_space(decoder);
    const cmyk = colorSpace === JCS_CMYK || colorSpace === JCS_YCCK;
    const sink = start(width, height);
    exports.decoder_start(decoder, cmyk ? JCS_CMYK : JCS_RGB);
    const rgb = cmyk ? new Uint8Array(16 * width * 3) : undefined;
    for (let row = 0; row < height; ) {
      const count = exports.decoder_read_rows(decoder);
      if (count === 0) throw new ImageError("corrupt_image", "JPEG is truncated in its scans");
      const rows = new Uint8Array(exports.memory.buffer, exports.decoder_rows(decoder), count * width * (cmyk ? 4 : 3));
      if (rgb) {
        for (let i = 0, o = 0; i < rows.length; i += 4, o += 3) {
          const k = rows[i + 3]!;
          rgb[o] = ink(rows[i]!, k);
          rgb[o + 1] = ink(rows[i + 1]!, k);
          rgb[o + 2] = ink(rows[i + 2]!, k);
        }
      }
      sink(rgb ? rgb.subarray(0, count * width * 3) : rows, row, count);
      row += count;
    }
    exports.decoder_finish(decoder);
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
    releaseCodec(wasm, codecs, cached, codec);
  }
}

/** The whole JPEG as RGB pixels (see `decodeJpegRows`). */
export async function decodeJpeg(bytes: Uint8Array, wasm: WebAssembly.Module, codecs: CodecInstances): Promise<Pixels> {
  let image: Pixels | undefined;
  await decodeJpegRows(bytes, wasm, codecs, (width, height) => {
    const data = new Uint8Array(width * height * 3);
    image = { data, width, height, channels: 3 };
    return (rows, first) => data.set(rows, first * width * 3);
  });
  return image!;
}

function cString(memory: WebAssembly.Memory, pointer: number): string {
  const bytes = new Uint8Array(memory.buffer, pointer);
  return new TextDecoder().decode(bytes.subarray(0, Math.max(0, bytes.indexOf(0))));
}
