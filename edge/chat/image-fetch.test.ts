// The edge's guards on `https:` image URLs against a hostile image server, inside workerd: redirect chains,
// redirects to plain http or to internal hosts, a server that never answers, one that drips its body, one
// that never ends. The server runs in Node (test/support/hostile-image-server.ts); the edge refuses loopback
// hosts, so `fetch` carries the public-looking test host, and only it, to that server. Everything else (URL
// checks, redirect handling, caps, timeouts, workerd's own fetch and streams) is the product's code.
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { ApiError } from "../errors.ts";
import type { ImageFetchLimits } from "./image-fetch.ts";
import { imageBytes } from "./image-source.ts";

const LIMITS: ImageFetchLimits = { fetchMaxBytes: 256 * 1024, fetchTimeoutMs: 500 };
const { origin, host: HOSTILE_IMAGE_HOST } = inject("hostileImageServer");
const realFetch = globalThis.fetch;

beforeAll(() => {
  vi.stubGlobal("fetch", (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : input);
    if (url.hostname !== HOSTILE_IMAGE_HOST)
      return Promise.reject(new TypeError(`fetch failed: ${url.hostname} is not reachable in this test`));
    return realFetch(`${origin}${url.pathname}${url.search}`, init);
  });
});

afterAll(() => {
  vi.unstubAllGlobals();
});

const fetchImage = (path: string) => imageBytes(`https://${HOSTILE_IMAGE_HOST}${path}`, 0, new Map(), LIMITS, new AbortController().signal);

async function refusal(path: string): Promise<{ status: number; code: string }> {
  const error = await fetchImage(path).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error, `${path} should be refused`).toBeInstanceOf(ApiError);
  return { status: (error as ApiError).status, code: (error as ApiError).code };
}

describe("https: image URLs against a hostile server", () => {
  it("fetches an image behind 3 redirects (the documented maximum) and a relative redirect", async () => {
    const image = new Uint8Array(await (await realFetch(`${origin}/image`)).arrayBuffer());
    expect(image.length).toBeGreaterThan(0);
    expect(await fetchImage("/redirect/2")).toEqual(image); // 3 redirects: 2 -> 1 -> 0 -> /image
    expect(await fetchImage("/relative-redirect")).toEqual(image);
  });

  it.each([
    ["a 4th redirect", "/redirect/3", 400, "invalid_image_url"],
    ["a redirect loop", "/redirect-loop", 400, "invalid_image_url"],
    ["a redirect to plain http", "/redirect-to-http", 400, "invalid_image_url"],
    ["a redirect to a loopback address", "/redirect-to-loopback", 400, "invalid_image_url"],
    ["a redirect to a private address", "/redirect-to-private", 400, "invalid_image_url"],
    ["a redirect to the cloud metadata address", "/redirect-to-metadata", 400, "invalid_image_url"],
    ["a redirect to localhost", "/redirect-to-localhost", 400, "invalid_image_url"],
    ["a 404", "/missing", 400, "image_fetch_failed"],
    ["a 500", "/broken", 400, "image_fetch_failed"],
    ["a server that never answers", "/never-answers", 400, "image_fetch_timeout"],
    ["a body that drips forever under the byte cap", "/drips", 400, "image_fetch_timeout"],
    ["a body that never ends", "/endless", 413, "image_too_large"],
    ["a declared Content-Length over the cap", "/declares-a-gigabyte", 413, "image_too_large"],
  ])("refuses %s", async (_, path, status, code) => {
    expect(await refusal(path)).toEqual({ status, code });
  });
});
