import { getMultipartBoundary, MultipartParseError, parseMultipart } from "@remix-run/multipart-parser";
import type { Context } from "hono";
import type { EdgeEnv } from "../env.ts";
import { ApiError } from "../errors.ts";

/** More parts than a request with MAX_IMAGES images and its `request` part could need. */
const MAX_MULTIPART_PARTS = 64;

export type BodyLimits = {
  /** 413 once the body is over this (before reading it, when its Content-Length says so). */
  readonly maxBytes: number;
  /** 408 once no byte came for this long: a client that stalls mid-upload would otherwise hold the request. */
  readonly idleMs: number;
};

/** A body's first buffer when it declares its length; it doubles from there up to the declared length. */
const FIRST_BUFFER_BYTES = 1 << 20;

/**
 * The request's body, whole, in one buffer, so an upload is held once and every multipart part is a view into it.
 * A body that declares its Content-Length (as apps' uploads do) is read into a buffer that grows by doubling
 * from 1 MiB to exactly that length, so a client that declares much and sends little claims little; a chunked
 * body is joined when it ends. Fails with 413 over `maxBytes` (before reading, when Content-Length says so), and
 * with 408 after `idleMs` without a byte.
 */
export async function readBodyBytes(request: Request, { maxBytes, idleMs }: BodyLimits): Promise<Uint8Array> {
  const tooLarge = () => new ApiError(413, "body_too_large", `The request body is over ${maxBytes} bytes`);
  const declaredHeader = request.headers.has("transfer-encoding") ? null : request.headers.get("content-length");
  const declared = declaredHeader === null ? Number.NaN : Number(declaredHeader);
  const expected = Number.isSafeInteger(declared) && declared >= 0 ? declared : undefined;
  if (expected !== undefined && expected > maxBytes) throw tooLarge();
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  let buffer = new Uint8Array(expected === undefined ? 0 : Math.min(expected, FIRST_BUFFER_BYTES));
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const idle = new Promise<"stalled">((resolve) => {
      timer = setTimeout(() => resolve("stalled"), idleMs);
    });
    const read = await Promise.race([reader.read(), idle]).finally(() => clearTimeout(timer));
    if (read === "stalled") {
      reader.cancel("the request body stalled").catch(() => undefined);
      throw new ApiError(
        408,
        "request_timeout",
        `No bytes of the request body arrived for ${idleMs} ms; send the whole body without pausing`,
      );
    }
    if (read.done) break;
    const chunk = read.value;
    if (length + chunk.length > maxBytes) {
      reader.cancel("the request body is too large").catch(() => undefined);
      throw tooLarge();
    }
    if (expected === undefined) chunks.push(chunk);
    else {
      if (length + chunk.length > buffer.length) {
        const grown = new Uint8Array(Math.max(length + chunk.length, Math.min(expected, buffer.length * 2)));
        grown.set(buffer.subarray(0, length));
        buffer = grown;
      }
      buffer.set(chunk, length);
    }
    length += chunk.length;
  }
  if (expected !== undefined) return buffer.subarray(0, length);
  const body = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.length;
  }
  return body;
}

/**
 * JSON, or multipart/form-data with the request as a `request` part and images as file parts (each a view into
 * the body, never copied).
 */
export async function readBody(c: Context<EdgeEnv>): Promise<{ body: unknown; attachments: Map<string, Uint8Array> }> {
  const type = c.req.header("content-type") ?? "";
  const attachments = new Map<string, Uint8Array>();
  const multipart = type.startsWith("multipart/form-data");
  if (!multipart && !type.startsWith("application/json")) {
    throw new ApiError(415, "unsupported_media_type", "Send the request as application/json or multipart/form-data");
  }
  const boundary = multipart ? getMultipartBoundary(type) : null;
  if (multipart && !boundary) throw new ApiError(400, "invalid_multipart", "A multipart/form-data Content-Type needs a boundary");
  const { maxBodyBytes: maxBytes, bodyIdleTimeoutMs: idleMs } = c.var.config;
  const bytes = await readBodyBytes(c.req.raw, { maxBytes, idleMs });
  if (!boundary) return { body: parseJson(new TextDecoder().decode(bytes)), attachments };

  let json: string | undefined;
  try {
    for (const part of parseMultipart(bytes, { boundary, maxParts: MAX_MULTIPART_PARTS, maxFileSize: maxBytes, maxTotalSize: maxBytes })) {
      const name = part.name;
      if (!name) continue;
      if (!part.isFile) {
        if (name === "request") json ??= part.text;
        continue;
      }
      if (attachments.has(name)) throw new ApiError(400, "invalid_multipart", `More than one file part is named "${name}"`);
      attachments.set(name, part.content.length === 1 ? part.content[0]! : part.bytes);
    }
  } catch (error) {
    if (error instanceof MultipartParseError)
      throw new ApiError(400, "invalid_multipart", `The multipart body could not be parsed: ${error.message}`);
    throw error;
  }
  if (json === undefined) throw new ApiError(400, "invalid_multipart", "A multipart request needs a `request` part holding the JSON body");
  return { body: parseJson(json), attachments };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, "invalid_json", "The request body is not valid JSON");
  }
}
