import { getMultipartBoundary, MultipartParseError, parseMultipart } from "@remix-run/multipart-parser";
import type { Context } from "hono";
import type { EdgeEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { declaredLength, streamBytes } from "../stream-bytes.ts";

/** Parts a multipart request may have beside its images: the `request` part, and a few fields the edge ignores. */
const OTHER_MULTIPART_PARTS = 8;

export type BodyLimits = {
  /** 413 once the body is over this (before reading it, when its Content-Length says so). */
  readonly maxBytes: number;
  /** 408 once no byte came for this long: a client that stalls mid-upload would otherwise hold the request. */
  readonly idleMs: number;
};

/**
 * The request's body, whole, in one buffer (see `streamBytes`: sized from its Content-Length when it declares one,
 * as apps' uploads do), so an upload is held once and every multipart part is a view into it. Fails with 413 over
 * `maxBytes` (before reading, when Content-Length says so), and with 408 after `idleMs` without a byte.
 */
export async function readBodyBytes(request: Request, { maxBytes, idleMs }: BodyLimits): Promise<Uint8Array> {
  const tooLarge = () => new ApiError(413, "body_too_large", `The request body is over ${maxBytes} bytes`);
  const declaredBytes = declaredLength(request.headers);
  if (declaredBytes !== undefined && declaredBytes > maxBytes) throw tooLarge();
  if (!request.body) return new Uint8Array();
  return streamBytes(request.body, {
    declaredBytes,
    maxBytes,
    tooLarge,
    idle: {
      ms: idleMs,
      stalled: () =>
        new ApiError(408, "request_timeout", `No bytes of the request body arrived for ${idleMs} ms; send the whole body without pausing`),
    },
  });
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
  const { maxBodyBytes: maxBytes, bodyIdleTimeoutMs: idleMs, maxImages } = c.var.config;
  const bytes = await readBodyBytes(c.req.raw, { maxBytes, idleMs });
  if (!boundary) return { body: parseJson(new TextDecoder().decode(bytes)), attachments };

  let json: string | undefined;
  try {
    for (const part of parseMultipart(bytes, {
      boundary,
      maxParts: maxImages + OTHER_MULTIPART_PARTS,
      maxFileSize: maxBytes,
      maxTotalSize: maxBytes,
    })) {
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
