import { ApiError } from "../errors.ts";
import { declaredLength, streamBytes } from "../stream-bytes.ts";

// Server-side fetches of `https:` image URLs, guarded against SSRF: no private, loopback or internal host, at
// every redirect hop; https only; bounded in hops, time and bytes.

export type ImageFetchLimits = {
  fetchMaxBytes: number;
  fetchTimeoutMs: number;
};

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

export async function fetchImage(start: URL, param: string, limits: ImageFetchLimits, signal: AbortSignal): Promise<Uint8Array> {
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
      const tooLarge = () => new ApiError(413, "image_too_large", `${param}: the image is over ${limits.fetchMaxBytes} bytes`);
      const declaredBytes = declaredLength(response.headers);
      if (declaredBytes !== undefined && declaredBytes > limits.fetchMaxBytes) throw tooLarge();
      return await streamBytes(response.body, { declaredBytes, maxBytes: limits.fetchMaxBytes, tooLarge });
    }
  } catch (error) {
    if (error instanceof ApiError) throw error;
    if (timeout.aborted)
      throw new ApiError(400, "image_fetch_timeout", `${param}: the image URL did not answer within ${limits.fetchTimeoutMs} ms`);
    throw new ApiError(400, "image_fetch_failed", `${param}: the image could not be fetched`);
  }
}
