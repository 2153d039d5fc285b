import { ByteLru } from "../../shared/cache/index.ts";
import type { Manifest } from "../../shared/manifest/index.ts";
import { ApiError } from "../errors.ts";
import { type DecodeOptions, decodeImage, ImageError, preprocess } from "../image/index.ts";

/** Changes whenever preprocessing could produce different pixels: part of every cache key. */
export const PREPROCESS_VERSION = "pillow-bicubic-pad-v1";

/**
 * One image of a request: its content key, and its uint8 [3,S,S] pixels on demand (an image seen
 * before is not decoded again unless its pixels must travel).
 */
export type PreparedImage = { key: string; pixels: () => Promise<Uint8Array> };

export type ImageLimits = {
  maxPixels: number;
  fetchMaxBytes: number;
  fetchTimeoutMs: number;
};

/**
 * The bytes behind an `image_url`: a base64 `data:` URL, an `https:` URL, or `attachment:NAME`
 * for a file part of a multipart request.
 */
export async function imageBytes(
  url: string,
  index: number,
  attachments: ReadonlyMap<string, Uint8Array>,
  limits: ImageLimits,
  signal: AbortSignal,
): Promise<Uint8Array> {
  const param = `image ${index + 1}`;
  if (url.startsWith("data:")) return dataUrlBytes(url, param);
  if (url.startsWith("attachment:")) {
    const bytes = attachments.get(url.slice("attachment:".length));
    if (!bytes) throw new ApiError(400, "invalid_image_url", `${param}: no multipart file part named "${url.slice(11)}"`);
    return bytes;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ApiError(400, "invalid_image_url", `${param}: not a URL`);
  }
  if (parsed.protocol !== "https:") throw new ApiError(400, "invalid_image_url", `${param}: only https: and data: image URLs are accepted`);
  return fetchImage(parsed, param, limits, signal);
}

function dataUrlBytes(url: string, param: string): Uint8Array {
  const match = /^data:([^,;]*)((?:;[^,;]*)*?);base64,(.*)$/s.exec(url);
  if (!match) throw new ApiError(400, "invalid_image_url", `${param}: a data: URL must be base64 (data:image/...;base64,...)`);
  const base64 = match[3]!.replace(/\s+/g, "");
  const malformed = () => new ApiError(400, "invalid_image_url", `${param}: the data: URL's base64 is malformed`);
  if (base64.length === 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) throw malformed();
  let text: string;
  try {
    text = atob(base64);
  } catch {
    throw malformed();
  }
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** Hosts a server-side fetch must never reach: loopback, private, link-local and other internal ranges. */
export function isPrivateHost(hostname: string): boolean {
  // A trailing dot names the same host ("localhost." is localhost).
  const host = hostname
    .replace(/^\[|\]$/g, "")
    .replace(/\.+$/, "")
    .toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost") || host.endsWith(".local") || host.endsWith(".internal")) return true;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 100 && b >= 64 && b <= 127) ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      a >= 224
    );
  }
  if (host.includes(":")) {
    // ::/8 holds loopback, unspecified and the IPv4-compatible and -mapped forms; then ULA, link-local, NAT64.
    return host.startsWith("::") || /^f[cd]/.test(host) || /^fe[89ab]/.test(host) || host.startsWith("64:ff9b:");
  }
  return false;
}

const MAX_REDIRECTS = 3;

async function fetchImage(start: URL, param: string, limits: ImageLimits, signal: AbortSignal): Promise<Uint8Array> {
  const timeout = AbortSignal.timeout(limits.fetchTimeoutMs);
  const combined = AbortSignal.any([signal, timeout]);
  let url = start;
  try {
    for (let hop = 0; ; hop++) {
      if (isPrivateHost(url.hostname))
        throw new ApiError(400, "invalid_image_url", `${param}: private, loopback and internal hosts are not fetched`);
      const response = await fetch(url, { redirect: "manual", signal: combined });
      if (response.status >= 300 && response.status < 400 && response.headers.has("location")) {
        if (hop === MAX_REDIRECTS) throw new ApiError(400, "invalid_image_url", `${param}: more than ${MAX_REDIRECTS} redirects`);
        url = new URL(response.headers.get("location")!, url);
        if (url.protocol !== "https:") throw new ApiError(400, "invalid_image_url", `${param}: redirected to a non-https URL`);
        continue;
      }
      if (!response.ok || !response.body)
        throw new ApiError(400, "image_fetch_failed", `${param}: the image URL answered ${response.status}`);
      const declared = Number(response.headers.get("content-length"));
      if (declared > limits.fetchMaxBytes)
        throw new ApiError(413, "image_too_large", `${param}: the image is over ${limits.fetchMaxBytes} bytes`);
      return await readCapped(response.body, limits.fetchMaxBytes, param);
    }
  } catch (error) {
    if (error instanceof ApiError) throw error;
    if (timeout.aborted)
      throw new ApiError(400, "image_fetch_timeout", `${param}: the image URL did not answer within ${limits.fetchTimeoutMs} ms`);
    throw new ApiError(400, "image_fetch_failed", `${param}: the image could not be fetched`);
  }
}

async function readCapped(body: ReadableStream<Uint8Array>, maxBytes: number, param: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = body.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new ApiError(413, "image_too_large", `${param}: the image is over ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/**
 * Decodes (pixel count checked from the header first), orients and preprocesses an image exactly
 * as the official pipeline does.
 */
async function preprocessedPixels(bytes: Uint8Array, index: number, manifest: Manifest, decoding: DecodeOptions): Promise<Uint8Array> {
  const param = `image ${index + 1}`;
  try {
    const image = await decodeImage(bytes, decoding);
    return preprocess(image, {
      imageSize: manifest.vision.imageSize,
      imageMean: manifest.vision.imageMean,
      minSize: manifest.vision.minSize,
    }).data;
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

function once<T>(work: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () => (result ??= work());
}

async function digestHex(kind: string, data: Uint8Array, revision: string, salt: string): Promise<string> {
  const prefix = new TextEncoder().encode(`${kind}\n${revision}\n${salt}\n`);
  const message = new Uint8Array(prefix.length + data.length);
  message.set(prefix);
  message.set(data, prefix.length);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", message));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
