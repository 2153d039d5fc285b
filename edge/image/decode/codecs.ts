import mozjpegFactory from "@jsquash/jpeg/codec/dec/mozjpeg_dec.js";
import webpFactory from "@jsquash/webp/codec/dec/webp_dec.js";

import { ImageError } from "../errors.ts";
import type { Pixels } from "../rgb-image.ts";

/**
 * The compiled WebAssembly of the codecs. In workerd these come from static `.wasm` imports
 * (workerd refuses to compile WebAssembly from bytes at run time); in Node, compile the files.
 */
export interface CodecWasm {
  /** `@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm` (MozJPEG 3.3.1, built on libjpeg-turbo 1.5). */
  readonly jpeg: WebAssembly.Module;
  /** `@jsquash/webp/codec/dec/webp_dec.wasm` (libwebp 1.1.0). */
  readonly webp: WebAssembly.Module;
}

interface RgbaImage {
  readonly data: Uint8ClampedArray;
  readonly width: number;
  readonly height: number;
}

/** What the Emscripten glue of each codec builds: a synchronous decode to RGBA, null or a throw on failure. */
interface CodecModule {
  decode(data: Uint8Array, preserveOrientation?: boolean): RgbaImage | null;
}

interface EmscriptenOptions {
  noInitialRun: boolean;
  print(text: string): void;
  printErr(text: string): void;
  instantiateWasm(imports: WebAssembly.Imports, done: (instance: WebAssembly.Instance) => void): WebAssembly.Exports;
}

interface CodecSpec {
  readonly name: string;
  readonly factory: (options: EmscriptenOptions) => Promise<CodecModule>;
  readonly decode: (module: CodecModule, bytes: Uint8Array) => RgbaImage | null;
}

const JPEG: CodecSpec = {
  name: "JPEG",
  factory: mozjpegFactory as unknown as CodecSpec["factory"],
  // The second argument (apply EXIF orientation) stays false: orientation is applied afterwards, for every format.
  decode: (module, bytes) => module.decode(bytes, false),
};

const WEBP: CodecSpec = {
  name: "WebP",
  factory: webpFactory as unknown as CodecSpec["factory"],
  decode: (module, bytes) => module.decode(bytes),
};

/** A codec instance: its module, its linear memory, and what libjpeg/libwebp printed during the last call. */
interface Codec {
  readonly module: CodecModule;
  readonly memory: WebAssembly.Memory;
  readonly messages: string[];
  /** Set once a call threw: an aborted C call leaves the instance's stack and heap unusable. */
  broken: boolean;
}

/**
 * Wasm memory never shrinks, so an instance that grew past this for a large image is dropped
 * after the call rather than holding that memory in the isolate.
 */
const RETAINED_MEMORY_BYTES = 32 * 1024 * 1024;

/**
 * Codec instances by their compiled WebAssembly, reused across decodes: an isolate keeps one (edge/isolate.ts),
 * each instance holding at most RETAINED_MEMORY_BYTES between calls.
 */
export type CodecInstances = WeakMap<WebAssembly.Module, Promise<Codec>>;

export function createCodecInstances(): CodecInstances {
  return new WeakMap();
}

async function instantiate(spec: CodecSpec, wasm: WebAssembly.Module): Promise<Codec> {
  const messages: string[] = [];
  let memory: WebAssembly.Memory | undefined;
  const module = await spec.factory({
    noInitialRun: true,
    print: () => undefined,
    printErr: (text) => void messages.push(text),
    instantiateWasm(imports, done) {
      const instance = new WebAssembly.Instance(wasm, imports);
      memory = Object.values(instance.exports).find((e): e is WebAssembly.Memory => e instanceof WebAssembly.Memory);
      done(instance);
      return instance.exports;
    },
  });
  if (memory === undefined) throw new Error(`${spec.name} codec WebAssembly exports no memory`);
  return { module, memory, messages, broken: false };
}

/** The cached instance for `wasm` (and the promise it is cached under), made on first use or after a failure. */
async function codecFor(
  spec: CodecSpec,
  wasm: WebAssembly.Module,
  codecs: CodecInstances,
): Promise<{ codec: Codec; cached: Promise<Codec> }> {
  for (;;) {
    let cached = codecs.get(wasm);
    if (cached === undefined) {
      cached = instantiate(spec, wasm);
      codecs.set(wasm, cached);
    }
    const codec = await cached;
    // Another call may have broken this instance while this one waited.
    if (!codec.broken) return { codec, cached };
    if (codecs.get(wasm) === cached) codecs.delete(wasm);
  }
}

async function decodeRgba(spec: CodecSpec, wasm: WebAssembly.Module, bytes: Uint8Array, codecs: CodecInstances): Promise<RgbaImage> {
  const { codec, cached } = await codecFor(spec, wasm, codecs);
  codec.messages.length = 0;
  let image: RgbaImage | null = null;
  let failure: unknown;
  try {
    image = spec.decode(codec.module, bytes);
  } catch (error) {
    failure = error;
    codec.broken = true;
  }
  if ((codec.broken || codec.memory.buffer.byteLength > RETAINED_MEMORY_BYTES) && codecs.get(wasm) === cached) {
    codecs.delete(wasm);
  }
  if (image === null) {
    // libjpeg prints its error before aborting; Emscripten then throws an ExitStatus, not an Error.
    const detail = codec.messages.at(-1) ?? (failure instanceof Error ? failure.message : "the decoder failed");
    throw new ImageError("corrupt_image", `${spec.name} could not be decoded: ${detail}`);
  }
  return image;
}

/** The codec's RGBA as pixels; the alpha is left for the reader to skip. */
function rgbaPixels({ data, width, height }: RgbaImage): Pixels {
  if (data.length !== width * height * 4) {
    throw new ImageError("corrupt_image", "codec returned a buffer of the wrong size");
  }
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width, height, channels: 4 };
}

/** Baseline or progressive JPEG (grey, YCbCr or RGB) to RGBA, with libjpeg's defaults: ISLOW IDCT, fancy upsampling. */
export async function decodeJpegWithWasmCodec(bytes: Uint8Array, wasm: WebAssembly.Module, codecs: CodecInstances): Promise<Pixels> {
  return rgbaPixels(await decodeRgba(JPEG, wasm, bytes, codecs));
}

/** Lossy or lossless still WebP to RGBA. */
export async function decodeWebpWithWasmCodec(bytes: Uint8Array, wasm: WebAssembly.Module, codecs: CodecInstances): Promise<Pixels> {
  return rgbaPixels(await decodeRgba(WEBP, wasm, bytes, codecs));
}
