// The edge's guards on `https:` image URLs against a hostile image server: redirect chains, redirects
// to plain http or to internal hosts, a server that never answers, one that drips its body, one that
// never ends. These cannot run through the Worker in workerd here: the edge (rightly) refuses loopback
// hosts and this machine reaches no public one. So the edge's own `imageBytes` runs in Node, its
// `fetch` routed from one public-looking host to a real HTTP server on loopback; everything else
// (URL checks, redirect handling, caps, timeouts) is the product's code as the Worker runs it.
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
// Not through edge/chat's door: it also exports the SigLIP feature sources, which load onnxruntime-web (workerd only).
import { imageBytes, type ImageLimits } from "../../edge/chat/images.ts";
import { ApiError } from "../../edge/errors.ts";
import { pngPhoto } from "../support/crafted-images.ts";

const HOST = "images.example.com";
const LIMITS: ImageLimits = { maxPixels: 4 * 1024 * 1024, fetchMaxBytes: 256 * 1024, fetchTimeoutMs: 500 };
const png = pngPhoto(32, 24);

let server: Server;
let origin: string;
const realFetch = globalThis.fetch;

/** What the hostile server does, by path. */
function route(path: string, response: ServerResponse): void {
  const redirect = (location: string): void => void response.writeHead(302, { location }).end();
  const hops = /^\/redirect\/(\d+)$/.exec(path);
  if (hops) return redirect(Number(hops[1]) === 0 ? `https://${HOST}/image` : `https://${HOST}/redirect/${Number(hops[1]) - 1}`);
  switch (path) {
    case "/image":
      return void response.writeHead(200, { "content-type": "image/png", "content-length": png.length }).end(png);
    case "/relative-redirect":
      return redirect("/image");
    case "/redirect-loop":
      return redirect(`https://${HOST}/redirect-loop`);
    case "/redirect-to-http":
      return redirect(`http://${HOST}/image`);
    case "/redirect-to-loopback":
      return redirect("https://127.0.0.1/image");
    case "/redirect-to-private":
      return redirect("https://10.0.0.7/image");
    case "/redirect-to-metadata":
      return redirect("https://169.254.169.254/latest/meta-data/");
    case "/redirect-to-localhost":
      return redirect("https://localhost/image");
    case "/missing":
      return void response.writeHead(404).end("not found");
    case "/broken":
      return void response.writeHead(500).end("oops");
    case "/never-answers":
      return; // holds the connection open, sends nothing
    case "/drips": {
      // Headers at once, then one byte every 50 ms: far under the byte cap, never done.
      response.writeHead(200, { "content-type": "image/png" });
      const timer = setInterval(() => response.write(Uint8Array.of(0)), 50);
      response.on("close", () => clearInterval(timer));
      return;
    }
    case "/endless": {
      // Streams as fast as the client reads, without a Content-Length, forever.
      response.writeHead(200, { "content-type": "image/png" });
      const chunk = new Uint8Array(16 * 1024);
      const pump = () => {
        while (!response.destroyed && response.write(chunk));
      };
      response.on("drain", pump);
      pump();
      return;
    }
    case "/declares-a-gigabyte":
      response.writeHead(200, { "content-type": "image/png", "content-length": 1024 ** 3 });
      response.write(png);
      return;
    default:
      response.writeHead(400).end();
  }
}

beforeAll(async () => {
  server = createServer((request, response) => route(request.url ?? "/", response));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // Only the public-looking test host is reachable, and it leads to the local server.
  vi.stubGlobal("fetch", (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : input);
    if (url.hostname !== HOST) return Promise.reject(new TypeError(`fetch failed: ${url.hostname} is not reachable in this test`));
    return realFetch(`${origin}${url.pathname}${url.search}`, init);
  });
});

afterAll(async () => {
  vi.unstubAllGlobals();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const fetchImage = (path: string) => imageBytes(`https://${HOST}${path}`, 0, new Map(), LIMITS, new AbortController().signal);

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
    expect(await fetchImage("/redirect/2")).toEqual(png); // 3 redirects: 2 -> 1 -> 0 -> /image
    expect(await fetchImage("/relative-redirect")).toEqual(png);
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
