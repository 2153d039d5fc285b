import { ByteLru } from "../../shared/cache/index.ts";
import type { Manifest } from "../../shared/manifest/index.ts";
import { sha256Hex } from "../digest.ts";
import { type DecodeOptions, ImageError, preprocessImage } from "../image/index.ts";

/** Changes whenever preprocessing could produce different pixels: part of every cache key. */
export const PREPROCESS_VERSION = "pillow-bicubic-pad-v1";

/**
 * One image of a request: its content key, and its uint8 [3,S,S] pixels on demand (an image seen
 * before is not decoded again unless its pixels must travel).
 */
export type PreparedImage = { key: string; pixels: () => Promise<Uint8Array> };

/**
 * Decodes (pixel count checked from the header first), orients and preprocesses an image exactly
 * as the official pipeline does.
 */
async function preprocessedPixels(bytes: Uint8Array, index: number, manifest: Manifest, decoding: DecodeOptions): Promise<Uint8Array> {
  const param = `image ${index + 1}`;
  try {
    const { imageSize, imageMean, minSize } = manifest.vision;
    return (await preprocessImage(bytes, { ...decoding, imageSize, imageMean, minSize })).data;
  } catch (error) {
    // Names the image; what a client sees of it is decided by toApiError (../errors.ts).
    if (error instanceof ImageError) throw new ImageError(error.code, `${param}: ${error.message}`, { cause: error });
    throw error;
  }
}

/** Content keys of encoded files already preprocessed (the file's hash -> its pixels' key); an isolate keeps one. */
export type FileKeys = ByteLru<string, string>;

export function createFileKeys(): FileKeys {
  return new ByteLru<string, string>({ maxBytes: 1 << 20, sizeOf: (key) => key.length * 2 + 64 });
}

/**
 * Names an image by content: SHA-256 over the preprocessing version, the model revision, the tenant
 * salt and the preprocessed pixels. A file seen before (in `keysOfFiles`) keeps its key without being
 * decoded again; its pixels are computed only if asked for.
 */
export async function prepareImage(
  keysOfFiles: FileKeys,
  bytes: Uint8Array,
  index: number,
  manifest: Manifest,
  decoding: DecodeOptions,
  salt: string,
): Promise<PreparedImage> {
  const fileKey = await digestHex("file", bytes, manifest.revision, salt);
  const decode = () => preprocessedPixels(bytes, index, manifest, decoding);
  const known = keysOfFiles.get(fileKey);
  if (known !== undefined) return { key: known, pixels: once(decode) };
  const pixels = await decode();
  const key = await digestHex(PREPROCESS_VERSION, pixels, manifest.revision, salt);
  keysOfFiles.set(fileKey, key);
  return { key, pixels: () => Promise.resolve(pixels) };
}

/** The routing key of a conversation without images: a digest of its rendered opening. */
export function openingKey(opening: string, revision: string, salt: string): Promise<string> {
  return digestHex("opening", new TextEncoder().encode(opening), revision, salt);
}

/** The tenant's namespace for prefix reuse at the GPU service: a digest of the salt, which itself never leaves the edge. */
export function cacheNamespace(revision: string, salt: string): Promise<string> {
  return digestHex("namespace", new Uint8Array(), revision, salt);
}

function once<T>(work: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () => (result ??= work());
}

function digestHex(kind: string, data: Uint8Array, revision: string, salt: string): Promise<string> {
  return sha256Hex(`${kind}\n${revision}\n${salt}\n`, data);
}
