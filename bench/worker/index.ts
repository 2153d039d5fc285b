/// <reference path="../../edge/image/decode/wasm-modules.d.ts" />
// The benchmarks' Worker: runs the edge's own image and prompt code inside workerd, `iterations` times per request.
// A Worker's clock stands still while it computes (timers advance only across I/O, a Spectre mitigation), so the
// caller times requests from outside; the difference between k iterations and 1, over k - 1, is one iteration
// without the HTTP round trip.
//
//   POST /preprocess?iterations=N  body: an image file    -> {width, height, sha256} of the last run
//   POST /tokenizer?iterations=N   body: tokenizer.json   -> {} (builds it N times; keeps the last)
//   POST /tokenize?iterations=N    body: JSON array of OpenAI `messages` arrays; iteration i tokenizes
//                                  conversation i (they must be at least N)  -> {tokens: [count per iteration]}

import { sha256Hex } from "../../edge/digest.ts";
import { workerdCodecWasm } from "../../edge/image/decode/workerd-wasm.ts";
import { ChatTokenizer } from "../../edge/prompt/index.ts";
import { type Preprocessed, preprocessPhoto, promptIds } from "../edge-work.ts";

let tokenizer: ChatTokenizer | undefined;

async function preprocessRoute(request: Request, iterations: number): Promise<Response> {
  const bytes = new Uint8Array(await request.arrayBuffer());
  let result: Preprocessed | undefined;
  for (let i = 0; i < iterations; i++) result = await preprocessPhoto(bytes, workerdCodecWasm);
  const { width, height, pixels } = result!;
  return Response.json({ width, height, sha256: await sha256Hex(pixels) });
}

async function tokenizerRoute(request: Request, iterations: number): Promise<Response> {
  const json = await request.text();
  for (let i = 0; i < iterations; i++) tokenizer = new ChatTokenizer(json);
  return Response.json({});
}

async function tokenizeRoute(request: Request, iterations: number): Promise<Response> {
  if (!tokenizer) return new Response("POST /tokenizer first", { status: 409 });
  const conversations = (await request.json()) as unknown[];
  if (!Array.isArray(conversations) || conversations.length < iterations)
    return new Response(`send at least ${iterations} conversations`, { status: 400 });
  const tokens: number[] = [];
  for (let i = 0; i < iterations; i++) tokens.push(promptIds(conversations[i], tokenizer).length);
  return Response.json({ tokens });
}

const ROUTES: Record<string, (request: Request, iterations: number) => Promise<Response>> = {
  "/preprocess": preprocessRoute,
  "/tokenizer": tokenizerRoute,
  "/tokenize": tokenizeRoute,
};

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const route = ROUTES[url.pathname];
    if (!route || request.method !== "POST") return new Response("not found", { status: 404 });
    const iterations = Number(url.searchParams.get("iterations") ?? "1");
    if (!Number.isSafeInteger(iterations) || iterations < 1) return new Response("iterations must be a positive integer", { status: 400 });
    try {
      return await route(request, iterations);
    } catch (error) {
      return new Response(`${(error as Error).name}: ${(error as Error).message}`, { status: 500 });
    }
  },
};
