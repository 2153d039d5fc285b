import { ApiError } from "../errors.ts";
import { fetchImage, type ImageFetchLimits } from "./image-fetch.ts";

/**
 * The bytes behind an `image_url`: a base64 `data:` URL, an `https:` URL, or `attachment:NAME`
 * for a file part of a multipart request.
 */
export async function imageBytes(
  url: string,
  index: number,
  attachments: ReadonlyMap<string, Uint8Array>,
  limits: ImageFetchLimits,
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
