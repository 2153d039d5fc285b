import webpFactory from "@jsquash/webp/codec/dec/webp_dec.js";

import { ImageError } from "../errors.ts";
import type { Pixels } from "../rgb-image.ts";

/**
 * The compiled WebAssembly of the codecs. In workerd these come from static `.wasm` imports
 * (workerd refuses to compile WebAssembly from bytes at run time); in Node, compile the files.
 */
export interface CodecWasm {
  /** `libjpeg/libjpeg.wasm`: libjpeg-turbo 2.1.5, the library Pillow links, built by scripts/libjpeg-wasm.sh. */
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

const WEBP: CodecSpec = {
  name: "WebP",
  factory: webpFactory as unknown as CodecSpec["factory"],
  decode: (module, bytes) => module.decode(bytes),
};

/** What every codec instance has: its linear memory, and whether a call broke it. */
export interface CodecInstance {
  readonly memory: WebAssembly.Memory;
  /** Set once a call threw: an aborted C call leaves the instance's stack and heap unusable. */
  broken: boolean;
}

/** An Emscripten-built codec instance: its module, and what libwebp printed during the last call. */
interface Codec extends CodecInstance {
  readonly module: CodecModule;
  readonly messages: string[];
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
export type CodecInstances = WeakMap<WebAssembly.Module, Promise<CodecInstance>>;

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

/** The cached instance for `wasm` (and the promise it is cached under), made by `make` on first use or after a failure. */
export async function codecFor<T extends CodecInstance>(
  wasm: WebAssembly.Module,
  codecs: CodecInstances,
  make: (wasm: WebAssembly.Module) => Promise<T>,
): Promise<{ codec: T; cached: Promise<CodecInstance> }> {
  for (;;) {
    let cached = codecs.get(wasm);
    if (cached === undefined) {
      cached = make(wasm);
      codecs.set(wasm, cached);
    }
    const codec = (await cached) as T;
    // Another call may have broken this instance while this one waited.
    if (!codec.broken) return { codec, cached };
    if (codecs.get(wasm) === cached) codecs.delete(wasm);
  }
}

/** After a call: drops the instance if the call broke it, or if it grew past what an idle instance may keep. */
export function releaseCodec(wasm: WebAssembly.Module, codecs: CodecInstances, cached: Promise<CodecInstance>, codec: CodecInstance): void {
  if ((codec.broken || codec.memory.buffer.byteLength > RETAINED_MEMORY_BYTES) && codecs.get(wasm) === cached) {
    codecs.delete(wasm);
  }
}

async function decodeRgba(spec: CodecSpec, wasm: WebAssembly.Module, bytes: Uint8Array, codecs: CodecInstances): Promise<RgbaImage> {
  const { codec, cached } = await codecFor(wasm, codecs, (module) => instantiate(spec, module));
  codec.messages.length = 0;
  let image: RgbaImage | null = null;
  let failure: unknown;
  try {
    image = spec.decode(codec.module, bytes);
  } catch (error) {
    failure = error;
    codec.broken = true;
  }
  releaseCodec(wasm, codecs, cached, codec);
  if (image === null) {
    // libwebp prints its error before aborting; Emscripten then throws an ExitStatus, not an Error.
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

/** Lossy or lossless still WebP to RGBA. */
export async function decodeWebpWithWasmCodec(bytes: Uint8Array, wasm: WebAssembly.Module, codecs: CodecInstances): Promise<Pixels> {
  return rgbaPixels(await decodeRgba(WEBP, wasm, bytes, codecs));
}
