import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { EdgeEnv } from "../env.ts";
import { ApiError } from "../errors.ts";

/** MAX_BODY_BYTES on a route's body, Content-Length or chunked. */
export const limitBody: MiddlewareHandler<EdgeEnv> = (c, next) =>
  bodyLimit({
    maxSize: c.var.config.maxBodyBytes,
    onError: () => {
      throw new ApiError(413, "body_too_large", `The request body is over ${c.var.config.maxBodyBytes} bytes`);
    },
  })(c, next);

/**
 * The request's body as a Response to read it from, failing once no byte came for `idleMs`: a client that stalls
 * mid-upload would otherwise hold the request, and its part of the isolate, for as long as the connection lives.
 * `stalled()` tells whether that is why a read failed.
 */
function bodyWithIdleTimeout(request: Request, idleMs: number): { body: Response; stalled: () => boolean } {
  const source = request.body;
  const headers = { "content-type": request.headers.get("content-type") ?? "" };
  let stalled = false;
  if (!source) return { body: new Response(null, { headers }), stalled: () => false };
  const reader = source.getReader();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let timer: ReturnType<typeof setTimeout> | null = null;
      const idle = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          stalled = true;
          reject(new Error("the request body stalled"));
        }, idleMs);
      });
      try {
        const { done, value } = await Promise.race([reader.read(), idle]);
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        if (stalled) reader.cancel(error).catch(() => undefined);
        controller.error(error);
      } finally {
        if (timer !== null) clearTimeout(timer);
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return { body: new Response(stream, { headers }), stalled: () => stalled };
}

function stalledError(idleMs: number): ApiError {
  return new ApiError(408, "request_timeout", `No bytes of the request body arrived for ${idleMs} ms; send the whole body without pausing`);
}

/** JSON, or multipart/form-data with the request as a `request` part and images as file parts. */
export async function readBody(c: Context<EdgeEnv>): Promise<{ body: unknown; attachments: Map<string, Uint8Array> }> {
  const type = c.req.header("content-type") ?? "";
  const attachments = new Map<string, Uint8Array>();
  const idleMs = c.var.config.bodyIdleTimeoutMs;
  const { body: raw, stalled } = bodyWithIdleTimeout(c.req.raw, idleMs);
  if (type.startsWith("multipart/form-data")) {
    let form: FormData;
    try {
      form = await raw.formData();
    } catch {
      if (stalled()) throw stalledError(idleMs);
      throw new ApiError(400, "invalid_multipart", "The multipart body could not be parsed");
    }
    const json = form.get("request");
    if (typeof json !== "string")
      throw new ApiError(400, "invalid_multipart", "A multipart request needs a `request` part holding the JSON body");
    for (const [name, value] of form.entries()) {
      if (typeof value !== "string") attachments.set(name, new Uint8Array(await value.arrayBuffer()));
    }
    return { body: parseJson(json), attachments };
  }
  if (!type.startsWith("application/json")) {
    throw new ApiError(415, "unsupported_media_type", "Send the request as application/json or multipart/form-data");
  }
  let text: string;
  try {
    text = await raw.text();
  } catch (error) {
    if (stalled()) throw stalledError(idleMs);
    throw error;
  }
  return { body: parseJson(text), attachments };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, "invalid_json", "The request body is not valid JSON");
  }
}
