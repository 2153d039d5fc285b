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

/** JSON, or multipart/form-data with the request as a `request` part and images as file parts. */
export async function readBody(c: Context<EdgeEnv>): Promise<{ body: unknown; attachments: Map<string, Uint8Array> }> {
  const type = c.req.header("content-type") ?? "";
  const attachments = new Map<string, Uint8Array>();
  if (type.startsWith("multipart/form-data")) {
    let form: FormData;
    try {
      form = await c.req.raw.formData();
    } catch {
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
  return { body: parseJson(await c.req.text()), attachments };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, "invalid_json", "The request body is not valid JSON");
  }
}
