// Hostile input at the edge, against the real system on loopback: the GPU service process on the
// tiny hybrid model and the Worker in workerd (`wrangler dev`), with small limits so oversize cases
// are cheap. Every case states the documented answer (README "API", edge/errors.ts, the codes the
// chat route and its modules define): the HTTP status, OpenAI's error envelope with its `type` and
// `code`, never a 5xx; and after every case the Worker still answers /healthz 200 with the GPU
// service reachable. Images are built by the suite (test/support/crafted-images.ts): no public
// corrupt-image set ships in the npm registry or Debian.
import { deflateSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Manifest } from "../../shared/manifest/index.ts";
import {
  concat,
  ihdr,
  jpegPhoto,
  jpegSegment,
  OTHER_FORMATS,
  PNG_SIGNATURE,
  pngChunk,
  pngFile,
  pngPhoto,
  scanlines,
  vp8Frame,
  vp8lHeader,
  vp8x,
  webpFile,
  webpPhoto,
  withFrame,
} from "../support/crafted-images.ts";
import { readJson } from "../support/json.ts";
import { startTestSystem, type TestSystem } from "../support/system.ts";

const MiB = 1024 * 1024;
const LIMITS = { maxBodyBytes: 2 * MiB, maxImages: 3, maxImagePixels: 4 * MiB, maxCompletionTokens: 256 };

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem({
    edgeVars: {
      MAX_BODY_BYTES: String(LIMITS.maxBodyBytes),
      MAX_IMAGES: String(LIMITS.maxImages),
      MAX_IMAGE_PIXELS: String(LIMITS.maxImagePixels),
      // JPEGs have their own cap (they stream); the same value here, so every format meets one boundary.
      MAX_JPEG_PIXELS: String(LIMITS.maxImagePixels),
      MAX_COMPLETION_TOKENS: String(LIMITS.maxCompletionTokens),
      IMAGE_FETCH_TIMEOUT_MS: "3000",
    },
  });
});

afterAll(async () => {
  await system?.stop();
});

// ---------------------------------------------------------------------------------------------
// Requests

type Ctx = { url: string; apiKey: string; model: string };
const ctx = (): Ctx => ({ url: system.edge.url, apiKey: system.apiKey, model: system.model.manifest.name });

type Send = (c: Ctx) => Promise<Response>;

/** POST /v1/chat/completions with the key, a JSON content type and `body` as given (strings are sent verbatim). */
function post(
  body: (c: Ctx) => unknown,
  headers: (c: Ctx) => Record<string, string> = (c) => ({ authorization: `Bearer ${c.apiKey}`, "content-type": "application/json" }),
): Send {
  return (c) => {
    const value = body(c);
    const payload =
      typeof value === "string" || value instanceof FormData || value instanceof ReadableStream ? value : JSON.stringify(value);
    return fetch(`${c.url}/v1/chat/completions`, {
      method: "POST",
      headers: headers(c),
      body: payload,
      ...(value instanceof ReadableStream && { duplex: "half" }),
    } as RequestInit);
  };
}

/** A valid request with `patch` applied (a field set to `undefined` is left out). */
const chat = (patch: (c: Ctx) => Record<string, unknown> = () => ({})): Send =>
  post((c) => ({ model: c.model, messages: [{ role: "user", content: "Hi" }], max_tokens: 1, ...patch(c) }));

const withField = (field: string, value: unknown) => chat(() => ({ [field]: value }));
const withMessages = (messages: unknown) => chat(() => ({ messages }));

const imagePart = (url: string) => ({ type: "image_url", image_url: { url } });
const userWithImages = (...urls: string[]) => [{ role: "user", content: [...urls.map(imagePart), { type: "text", text: "Describe." }] }];
const withImageUrls = (...urls: string[]) => withMessages(userWithImages(...urls));
const dataUrl = (bytes: Uint8Array, mime = "image/png") => `data:${mime};base64,${Buffer.from(bytes).toString("base64")}`;
const withImage = (bytes: Uint8Array, mime = "image/png") => withImageUrls(dataUrl(bytes, mime));

const multipart = (parts: (form: FormData, c: Ctx) => void): Send =>
  post(
    (c) => {
      const form = new FormData();
      parts(form, c);
      return form;
    },
    (c) => ({ authorization: `Bearer ${c.apiKey}` }),
  );
/** A multipart body written out by hand (boundary `b`), for what FormData cannot send. */
const rawMultipart = (body: (c: Ctx) => string): Send =>
  post(body, (c) => ({ authorization: `Bearer ${c.apiKey}`, "content-type": "multipart/form-data; boundary=b" }));
const requestPart = (c: Ctx, urls: string[]) => JSON.stringify({ model: c.model, messages: userWithImages(...urls), max_tokens: 1 });

// ---------------------------------------------------------------------------------------------
// Expected answers

type Refusal = { status: number; code: string; type: "invalid_request_error" | "authentication_error"; param?: string | null };
/** Served: a chat completion whose prompt has at least this many tokens for the model (proof the input was taken in). */
type Served = { status: 200; minPromptTokens: (manifest: Manifest) => number };
type Case = { name: string; send: Send; expect: Refusal | Served };

const refused = (status: number, code: string, param?: string | null): Refusal => ({
  status,
  code,
  type: "invalid_request_error",
  ...(param !== undefined && { param }),
});
const unauthenticated = (code: string): Refusal => ({ status: 401, code, type: "authentication_error" });
/** Each image adds the model's image tokens to the prompt. */
const served = (images = 1): Served => ({ status: 200, minPromptTokens: (m) => images * m.vision.imageTokens + 1 });
/** A prompt so long that `maxTokens` more would not fit the context. */
const servedLeavingLessThan = (maxTokens: number): Served => ({ status: 200, minPromptTokens: (m) => m.llm.contextLength - maxTokens + 1 });
const invalid = (param: string) => refused(400, "invalid_request", param);
const unsupported = (param: string) => refused(400, "unsupported_parameter", param);
const conversation = (code: string) => refused(400, code, "messages");
const badImage = refused(400, "invalid_image");
const badImageUrl = refused(400, "invalid_image_url");
const notAnImage = refused(415, "unsupported_image_format");
const tooManyPixels = refused(413, "image_too_large");

// ---------------------------------------------------------------------------------------------
// The images, built once

const gradient = (x: number, y: number, c: number) => (x * 7 + y * 3 + c * 50) & 255;
const png = pngPhoto(64, 48);
const jpeg = await jpegPhoto(64, 48);
/** Larger than the chunks the edge feeds its decoder (256 KiB), baseline and progressive. */
const largeJpeg = await jpegPhoto(1600, 1200);
const largeProgressiveJpeg = await jpegPhoto(1600, 1200, 2, true);

/** `bytes` cut at `count` offsets spread evenly over its scan data, each as one case expecting `expect`. */
function truncations(label: string, bytes: Uint8Array, count: number, expect: Refusal | Served): Case[] {
  const scan = jpegSegment(bytes, 0xda).end;
  return Array.from({ length: count }, (_, i) => {
    const at = scan + Math.floor(((bytes.length - 2 - scan) * i) / count);
    return { name: `${label} truncated at byte ${at} of ${bytes.length}`, send: withImage(bytes.subarray(0, at), "image/jpeg"), expect };
  });
}
const webp = await webpPhoto(64, 48);
const IEND_LENGTH = 12;
const IHDR_END = PNG_SIGNATURE.length + 25;
const idatAt = IHDR_END; // pngFile writes IDAT right after IHDR

/** A PNG whose IHDR declares width x height, with a tiny IDAT: the header alone is the bomb. */
const pngDeclaring = (width: number, height: number) => pngFile({ width, height }, deflateSync(new Uint8Array(64)));
/** A grey PNG with every row present (all zero): compresses about 1000:1. */
const greyPng = (width: number, height: number) =>
  pngFile({ width, height, colorType: 0 }, deflateSync(new Uint8Array((width + 1) * height)));

function withByte(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const out = bytes.slice();
  out[at] = value;
  return out;
}

const jpegSos = jpegSegment(jpeg, 0xda);
const jpegSof = jpegSegment(jpeg, 0xc0);
const jpegDht = jpegSegment(jpeg, 0xc4);
const jpegDqt = jpegSegment(jpeg, 0xdb);

/** Entropy-coded bytes overwritten with values below 0x80: never a marker, so only the coded data is garbage. */
function garbledScan(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  for (let i = jpegSos.end + 16; i < Math.min(jpegSos.end + 80, bytes.length - 2); i++) out[i] = (out[i]! * 7 + 13) & 0x7f;
  return out;
}

/** Huffman code counts that overflow the code space: libjpeg stops with "Bogus Huffman table definition". */
function bogusHuffman(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  out.fill(0xff, jpegDht.at + 5, jpegDht.at + 21);
  return out;
}

/** The JPEG without its frame header: the scan comes before any SOFn. */
const jpegWithoutFrame = concat(jpeg.subarray(0, jpegSof.at), jpeg.subarray(jpegSof.end));
/** A segment length below 2 (the length counts its own two bytes). */
const jpegBadLength = (() => {
  const out = jpeg.slice();
  out[jpegDqt.at + 2] = 0;
  out[jpegDqt.at + 3] = 1;
  return out;
})();
/** A second SOI marker before the first scan. */
const jpegSecondSoi = concat(jpeg.subarray(0, jpegDqt.at), Uint8Array.of(0xff, 0xd8), jpeg.subarray(jpegDqt.at));

/** The WebP with its RIFF size and its VP8 chunk's data cut to half: the container is consistent, the bitstream short. */
function webpCutInside(bytes: Uint8Array): Uint8Array {
  const keep = 20 + Math.floor((bytes.length - 20) / 2);
  const out = bytes.slice(0, keep);
  new DataView(out.buffer).setUint32(4, keep - 8, true);
  return out;
}

/** Base64 wrapped at 76 columns with CRLF, as MIME encoders write it. */
const wrappedBase64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64").replace(/.{76}/g, "$&\r\n");

/** A text of `count` words. The tiny model's tokenizer spends 5 tokens on each " hello" (and 92 on the rest of
 * the prompt): 760 words make a prompt of about 3900 of its 4096 tokens, which 256 more do not fit. */
const words = (count: number) => "hello ".repeat(count).trim();

/** The same JSON twice over the body limit: ~3 MiB of text. */
const oversizeJson = (c: Ctx) => JSON.stringify({ model: c.model, messages: [{ role: "user", content: "x".repeat(3 * MiB) }] });

/** A body sent without Content-Length (chunked), `total` bytes of a JSON string in 64 KiB pieces. */
function chunkedJson(c: Ctx, total: number): ReadableStream<Uint8Array> {
  const head = new TextEncoder().encode(`{"model":${JSON.stringify(c.model)},"messages":[{"role":"user","content":"`);
  const tail = new TextEncoder().encode(`"}]}`);
  const piece = new Uint8Array(64 * 1024).fill(0x78);
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent === 0) controller.enqueue(head);
      if (sent >= total) {
        controller.enqueue(tail);
        controller.close();
        return;
      }
      controller.enqueue(piece);
      sent += piece.length;
    },
  });
}

// ---------------------------------------------------------------------------------------------
// The matrix

const groups: Record<string, Case[]> = {
  "authentication (checked before the body is read)": [
    {
      name: "no Authorization header",
      send: post(
        (c) => ({ model: c.model, messages: [] }),
        () => ({ "content-type": "application/json" }),
      ),
      expect: unauthenticated("missing_api_key"),
    },
    {
      name: "a wrong key",
      send: post(
        (c) => ({ model: c.model, messages: [{ role: "user", content: "Hi" }] }),
        () => ({ authorization: "Bearer sk-wrong", "content-type": "application/json" }),
      ),
      expect: unauthenticated("invalid_api_key"),
    },
    {
      name: "the key with one character changed",
      send: post(
        (c) => ({ model: c.model, messages: [{ role: "user", content: "Hi" }] }),
        (c) => ({
          authorization: `Bearer ${c.apiKey.slice(0, -1)}${c.apiKey.endsWith("0") ? "1" : "0"}`,
          "content-type": "application/json",
        }),
      ),
      expect: unauthenticated("invalid_api_key"),
    },
    {
      name: "Basic instead of Bearer",
      send: post(
        () => "{}",
        (c) => ({ authorization: `Basic ${Buffer.from(`user:${c.apiKey}`).toString("base64")}`, "content-type": "application/json" }),
      ),
      expect: unauthenticated("missing_api_key"),
    },
    {
      name: "Bearer without a token",
      send: post(
        () => "{}",
        () => ({ authorization: "Bearer", "content-type": "application/json" }),
      ),
      expect: unauthenticated("missing_api_key"),
    },
    {
      name: "Bearer with two tokens",
      send: post(
        () => "{}",
        (c) => ({ authorization: `Bearer ${c.apiKey} ${c.apiKey}`, "content-type": "application/json" }),
      ),
      expect: unauthenticated("missing_api_key"),
    },
    {
      name: "the key in x-api-key instead of Authorization",
      send: post(
        () => "{}",
        (c) => ({ "x-api-key": c.apiKey, "content-type": "application/json" }),
      ),
      expect: unauthenticated("missing_api_key"),
    },
    {
      name: "no key and a body over the limit",
      send: post(oversizeJson, () => ({ "content-type": "application/json" })),
      expect: unauthenticated("missing_api_key"),
    },
    {
      name: "GET /v1/models with a wrong key",
      send: (c) => fetch(`${c.url}/v1/models`, { headers: { authorization: "Bearer sk-wrong" } }),
      expect: unauthenticated("invalid_api_key"),
    },
  ],

  "transport: routes, content types, body size": [
    {
      name: "GET on the completions route",
      send: (c) => fetch(`${c.url}/v1/chat/completions`, { headers: { authorization: `Bearer ${c.apiKey}` } }),
      expect: refused(404, "not_found"),
    },
    {
      name: "an unknown route",
      send: (c) => fetch(`${c.url}/v1/completions`, { method: "POST", headers: { authorization: `Bearer ${c.apiKey}` }, body: "{}" }),
      expect: refused(404, "not_found"),
    },
    {
      name: "JSON sent as text/plain",
      send: post(
        (c) => ({ model: c.model, messages: [{ role: "user", content: "Hi" }] }),
        (c) => ({ authorization: `Bearer ${c.apiKey}`, "content-type": "text/plain" }),
      ),
      expect: refused(415, "unsupported_media_type"),
    },
    {
      name: "JSON sent without a content type",
      send: (c) =>
        fetch(`${c.url}/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: `Bearer ${c.apiKey}` },
          body: new Blob([JSON.stringify({ model: c.model, messages: [] })]),
        }),
      expect: refused(415, "unsupported_media_type"),
    },
    {
      name: "a form-urlencoded body",
      send: post(
        () => "model=x&messages=y",
        (c) => ({ authorization: `Bearer ${c.apiKey}`, "content-type": "application/x-www-form-urlencoded" }),
      ),
      expect: refused(415, "unsupported_media_type"),
    },
    {
      name: "a multipart body labelled application/json",
      send: post((c) => `--b\r\nContent-Disposition: form-data; name="request"\r\n\r\n{"model":"${c.model}"}\r\n--b--\r\n`),
      expect: refused(400, "invalid_json"),
    },
    {
      name: "a JSON body labelled multipart/form-data",
      send: post(
        (c) => JSON.stringify({ model: c.model, messages: [] }),
        (c) => ({ authorization: `Bearer ${c.apiKey}`, "content-type": "multipart/form-data; boundary=xyz" }),
      ),
      expect: refused(400, "invalid_multipart"),
    },
    {
      name: "multipart/form-data without a boundary",
      send: post(
        () => "--x\r\n\r\n",
        (c) => ({ authorization: `Bearer ${c.apiKey}`, "content-type": "multipart/form-data" }),
      ),
      expect: refused(400, "invalid_multipart"),
    },
    { name: "a body over MAX_BODY_BYTES with its Content-Length", send: post(oversizeJson), expect: refused(413, "body_too_large") },
    {
      name: "a chunked body over MAX_BODY_BYTES (no Content-Length)",
      send: post((c) => chunkedJson(c, 3 * MiB)),
      expect: refused(413, "body_too_large"),
    },
    {
      name: "a multipart body over MAX_BODY_BYTES",
      send: multipart((form, c) => {
        form.set("request", requestPart(c, ["attachment:photo"]));
        form.set("photo", new Blob([new Uint8Array(3 * MiB)]), "big.png");
      }),
      expect: refused(413, "body_too_large"),
    },
  ],

  "JSON body": [
    { name: "an empty body", send: post(() => ""), expect: refused(400, "invalid_json") },
    {
      name: "truncated JSON",
      send: post((c) => `{"model":"${c.model}","messages":[{"role":"user","content":"Hi"`),
      expect: refused(400, "invalid_json"),
    },
    {
      name: "JSON followed by garbage",
      send: post((c) => `{"model":"${c.model}","messages":[{"role":"user","content":"Hi"}]} x`),
      expect: refused(400, "invalid_json"),
    },
    { name: "single-quoted pseudo-JSON", send: post(() => "{'model': 'x'}"), expect: refused(400, "invalid_json") },
    { name: "a JSON array", send: post(() => "[]"), expect: refused(400, "invalid_request") },
    { name: "a JSON string", send: post(() => '"hello"'), expect: refused(400, "invalid_request") },
    { name: "JSON null", send: post(() => "null"), expect: refused(400, "invalid_request") },
    {
      name: "100000 nested arrays in a message",
      send: post((c) => `{"model":"${c.model}","messages":[${"[".repeat(100_000)}${"]".repeat(100_000)}]}`),
      expect: conversation("invalid_message"),
    },
  ],

  "fields: types and ranges": [
    { name: "no model", send: chat(() => ({ model: undefined })), expect: invalid("model") },
    { name: "model is a number", send: withField("model", 42), expect: invalid("model") },
    { name: "model is empty", send: withField("model", ""), expect: invalid("model") },
    { name: "an unknown model", send: withField("model", "gpt-4o"), expect: refused(404, "model_not_found", "model") },
    { name: "no messages", send: chat(() => ({ messages: undefined })), expect: invalid("messages") },
    { name: "messages is a string", send: withField("messages", "Hi"), expect: invalid("messages") },
    { name: "messages is an object", send: withField("messages", { role: "user", content: "Hi" }), expect: invalid("messages") },
    { name: "messages is empty", send: withField("messages", []), expect: invalid("messages") },
    { name: "stream is a string", send: withField("stream", "yes"), expect: invalid("stream") },
    { name: "stream_options is a string", send: withField("stream_options", "usage"), expect: invalid("stream_options") },
    { name: "max_tokens 0", send: withField("max_tokens", 0), expect: invalid("max_tokens") },
    { name: "max_tokens -1", send: withField("max_tokens", -1), expect: invalid("max_tokens") },
    { name: "max_tokens 1.5", send: withField("max_tokens", 1.5), expect: invalid("max_tokens") },
    { name: 'max_tokens "10"', send: withField("max_tokens", "10"), expect: invalid("max_tokens") },
    {
      name: "max_tokens 1e309 (Infinity once parsed)",
      send: post((c) => `{"model":"${c.model}","messages":[{"role":"user","content":"Hi"}],"max_tokens":1e309}`),
      expect: invalid("max_tokens"),
    },
    {
      name: "max_tokens over MAX_COMPLETION_TOKENS",
      send: withField("max_tokens", LIMITS.maxCompletionTokens + 1),
      expect: invalid("max_tokens"),
    },
    { name: "max_completion_tokens 0", send: withField("max_completion_tokens", 0), expect: invalid("max_completion_tokens") },
    {
      name: "max_completion_tokens over MAX_COMPLETION_TOKENS",
      send: withField("max_completion_tokens", 100_000),
      expect: refused(400, "invalid_request"),
    },
    { name: "temperature -1", send: withField("temperature", -1), expect: invalid("temperature") },
    { name: "temperature 2.5", send: withField("temperature", 2.5), expect: invalid("temperature") },
    { name: 'temperature "hot"', send: withField("temperature", "hot"), expect: invalid("temperature") },
    { name: "top_p 0", send: withField("top_p", 0), expect: invalid("top_p") },
    { name: "top_p 1.5", send: withField("top_p", 1.5), expect: invalid("top_p") },
    { name: "top_k -1", send: withField("top_k", -1), expect: invalid("top_k") },
    { name: "repetition_penalty 0", send: withField("repetition_penalty", 0), expect: invalid("repetition_penalty") },
    { name: "seed -1", send: withField("seed", -1), expect: invalid("seed") },
    { name: "seed 1.5", send: withField("seed", 1.5), expect: invalid("seed") },
    { name: "stop with 5 strings", send: withField("stop", ["a", "b", "c", "d", "e"]), expect: invalid("stop") },
    { name: "stop is an empty string", send: withField("stop", ""), expect: invalid("stop") },
    { name: "stop is a number", send: withField("stop", 42), expect: invalid("stop") },
    { name: "user is a number", send: withField("user", 42), expect: invalid("user") },
    { name: "n 2", send: withField("n", 2), expect: unsupported("n") },
    { name: "n 0", send: withField("n", 0), expect: unsupported("n") },
    { name: "frequency_penalty 0.5", send: withField("frequency_penalty", 0.5), expect: unsupported("frequency_penalty") },
    { name: "presence_penalty 1", send: withField("presence_penalty", 1), expect: unsupported("presence_penalty") },
    {
      name: "tools",
      send: withField("tools", [{ type: "function", function: { name: "f", parameters: {} } }]),
      expect: unsupported("tools"),
    },
    {
      name: "response_format json_object",
      send: withField("response_format", { type: "json_object" }),
      expect: refused(400, "unsupported_parameter"),
    },
    { name: "top_logprobs without logprobs", send: withField("top_logprobs", 3), expect: refused(400, "invalid_request", "top_logprobs") },
  ],

  conversation: [
    { name: "a message that is a string", send: withMessages(["Hi"]), expect: conversation("invalid_message") },
    { name: 'role "tool"', send: withMessages([{ role: "tool", content: "x", tool_call_id: "1" }]), expect: conversation("unknown_role") },
    { name: 'role "robot"', send: withMessages([{ role: "robot", content: "Hi" }]), expect: conversation("unknown_role") },
    { name: "no role", send: withMessages([{ content: "Hi" }]), expect: conversation("unknown_role") },
    { name: "role is a number", send: withMessages([{ role: 1, content: "Hi" }]), expect: conversation("unknown_role") },
    { name: "an empty user message", send: withMessages([{ role: "user", content: "" }]), expect: conversation("empty_message") },
    {
      name: "a whitespace-only user message",
      send: withMessages([{ role: "user", content: " \n\t " }]),
      expect: conversation("empty_message"),
    },
    { name: "a user message with no parts", send: withMessages([{ role: "user", content: [] }]), expect: conversation("empty_message") },
    {
      name: "a user message with null content",
      send: withMessages([{ role: "user", content: null }]),
      expect: conversation("empty_message"),
    },
    { name: "content is a number", send: withMessages([{ role: "user", content: 42 }]), expect: conversation("invalid_message") },
    {
      name: "an input_audio part",
      send: withMessages([{ role: "user", content: [{ type: "input_audio", input_audio: { data: "AAAA", format: "wav" } }] }]),
      expect: conversation("invalid_message"),
    },
    {
      name: "a text part whose text is a number",
      send: withMessages([{ role: "user", content: [{ type: "text", text: 5 }] }]),
      expect: conversation("invalid_message"),
    },
    {
      name: "an image_url part without a URL",
      send: withMessages([{ role: "user", content: [{ type: "image_url", image_url: {} }] }]),
      expect: conversation("invalid_message"),
    },
    {
      name: "an image in an assistant message",
      send: withMessages([
        { role: "user", content: "a" },
        { role: "assistant", content: [imagePart(dataUrl(png))] },
        { role: "user", content: "b" },
      ]),
      expect: conversation("image_not_allowed"),
    },
    {
      name: "an image in a system message",
      send: withMessages([
        { role: "system", content: [imagePart(dataUrl(png))] },
        { role: "user", content: "b" },
      ]),
      expect: conversation("image_not_allowed"),
    },
    {
      name: "two consecutive user messages",
      send: withMessages([
        { role: "user", content: "a" },
        { role: "user", content: "b" },
      ]),
      expect: conversation("consecutive_roles"),
    },
    {
      name: "two consecutive assistant messages",
      send: withMessages([
        { role: "user", content: "a" },
        { role: "assistant", content: "b" },
        { role: "assistant", content: "c" },
        { role: "user", content: "d" },
      ]),
      expect: conversation("consecutive_roles"),
    },
    {
      name: "an assistant message first",
      send: withMessages([
        { role: "assistant", content: "a" },
        { role: "user", content: "b" },
      ]),
      expect: conversation("first_not_user"),
    },
    {
      name: "an assistant message last",
      send: withMessages([
        { role: "user", content: "a" },
        { role: "assistant", content: "b" },
      ]),
      expect: conversation("last_not_user"),
    },
    {
      name: "only a system message",
      send: withMessages([{ role: "system", content: "Be brief." }]),
      expect: conversation("empty_conversation"),
    },
    {
      name: "the image placeholder typed as text",
      send: withMessages([{ role: "user", content: "look: <image_placeholder>" }]),
      expect: conversation("reserved_text"),
    },
    {
      name: "the BOS token typed as text",
      send: withMessages([{ role: "user", content: "<｜begin▁of▁sentence｜>Hi" }]),
      expect: conversation("reserved_text"),
    },
    {
      name: "a prompt over the context",
      send: chat(() => ({ messages: [{ role: "user", content: words(6000) }] })),
      expect: conversation("context_length_exceeded"),
    },
    {
      name: "a prompt within the context whose max_tokens is not",
      send: chat(() => ({ messages: [{ role: "user", content: words(760) }], max_tokens: 256 })),
      expect: conversation("context_length_exceeded"),
    },
    {
      name: "the same prompt with max_tokens 1 (control: it fits)",
      send: chat(() => ({ messages: [{ role: "user", content: words(760) }] })),
      expect: servedLeavingLessThan(256),
    },
  ],

  "image references: data URLs, schemes, counts": [
    {
      name: "more images than MAX_IMAGES",
      send: withImageUrls(...Array.from({ length: LIMITS.maxImages + 1 }, () => dataUrl(png))),
      expect: conversation("too_many_images"),
    },
    {
      name: "MAX_IMAGES images (the limit itself), text between them",
      send: withMessages([
        {
          role: "user",
          content: [
            imagePart(dataUrl(png)),
            { type: "text", text: "and" },
            imagePart(dataUrl(pngPhoto(32, 32, 2))),
            { type: "text", text: "and" },
            imagePart(dataUrl(pngPhoto(24, 40, 3))),
            { type: "text", text: "?" },
          ],
        },
      ]),
      expect: served(3),
    },
    {
      name: "two images side by side, nothing between them",
      send: withImageUrls(dataUrl(pngPhoto(20, 20, 4)), dataUrl(pngPhoto(30, 20, 5))),
      expect: served(2),
    },
    { name: "base64 with invalid characters", send: withImageUrls("data:image/png;base64,@@@@"), expect: badImageUrl },
    { name: "base64 of impossible length (4n+1)", send: withImageUrls("data:image/png;base64,AAAAA"), expect: badImageUrl },
    { name: "base64 with padding in an unpadded-length string", send: withImageUrls("data:image/png;base64,AAAAA=="), expect: badImageUrl },
    { name: "base64 with padding in the middle", send: withImageUrls("data:image/png;base64,AA==AAAA"), expect: badImageUrl },
    { name: "an empty base64 payload", send: withImageUrls("data:image/png;base64,"), expect: badImageUrl },
    { name: "a data URL that is not base64", send: withImageUrls("data:image/png,%89PNG"), expect: badImageUrl },
    { name: "a data URL without a comma", send: withImageUrls("data:image/png;base64"), expect: badImageUrl },
    { name: "not a URL", send: withImageUrls("photo.png"), expect: badImageUrl },
    { name: "an ftp: URL", send: withImageUrls("ftp://example.com/a.png"), expect: badImageUrl },
    { name: "a file: URL", send: withImageUrls("file:///etc/passwd"), expect: badImageUrl },
    { name: "a javascript: URL", send: withImageUrls("javascript:alert(1)"), expect: badImageUrl },
    { name: "attachment: in a JSON request", send: withImageUrls("attachment:photo"), expect: badImageUrl },
    {
      name: "base64 wrapped at 76 columns with CRLF (MIME style)",
      send: withImageUrls(`data:image/png;base64,${wrappedBase64(png)}`),
      expect: served(),
    },
    {
      name: "a data URL with extra parameters",
      send: withImageUrls(`data:image/png;name=a.png;charset=binary;base64,${Buffer.from(png).toString("base64")}`),
      expect: served(),
    },
    {
      name: "stream: true with a broken image: a JSON error, not an event stream",
      send: chat(() => ({ stream: true, messages: userWithImages(dataUrl(png.subarray(0, 40))) })),
      expect: badImage,
    },
  ],

  "declared content types lie (the format is sniffed from the bytes)": [
    { name: "a PNG in a data:image/jpeg URL", send: withImage(png, "image/jpeg"), expect: served() },
    { name: "a JPEG in a data:image/png URL", send: withImage(jpeg, "image/png"), expect: served() },
    { name: "a WebP in a data:image/png URL", send: withImage(webp, "image/png"), expect: served() },
    { name: "a PNG in a data:text/plain URL", send: withImage(png, "text/plain"), expect: served() },
    { name: "text in a data:image/png URL", send: withImage(OTHER_FORMATS.text), expect: notAnImage },
    { name: "a GIF", send: withImage(OTHER_FORMATS.gif, "image/gif"), expect: notAnImage },
    { name: "a BMP", send: withImage(OTHER_FORMATS.bmp, "image/bmp"), expect: notAnImage },
    { name: "an SVG", send: withImage(OTHER_FORMATS.svg, "image/svg+xml"), expect: notAnImage },
    { name: "a HEIC header", send: withImage(OTHER_FORMATS.heic, "image/heic"), expect: notAnImage },
    {
      name: "multipart: a PNG part labelled image/jpeg",
      send: multipart((form, c) => {
        form.set("request", requestPart(c, ["attachment:photo"]));
        form.set("photo", new Blob([png], { type: "image/jpeg" }), "photo.jpg");
      }),
      expect: served(),
    },
    {
      name: "multipart: a PNG part labelled text/plain",
      send: multipart((form, c) => {
        form.set("request", requestPart(c, ["attachment:photo"]));
        form.set("photo", new Blob([png], { type: "text/plain" }), "photo.txt");
      }),
      expect: served(),
    },
    {
      name: "multipart: HTML labelled image/png",
      send: multipart((form, c) => {
        form.set("request", requestPart(c, ["attachment:photo"]));
        form.set("photo", new Blob(["<html><body>hi</body></html>"], { type: "image/png" }), "photo.png");
      }),
      expect: notAnImage,
    },
    {
      name: "multipart: no request part",
      send: multipart((form) => form.set("photo", new Blob([png], { type: "image/png" }), "photo.png")),
      expect: refused(400, "invalid_multipart"),
    },
    {
      name: "multipart: the request as a file part",
      send: multipart((form, c) => form.set("request", new Blob([requestPart(c, [])], { type: "application/json" }), "request.json")),
      expect: refused(400, "invalid_multipart"),
    },
    {
      name: "multipart: a request part that is not JSON",
      send: multipart((form) => form.set("request", "{model:")),
      expect: refused(400, "invalid_json"),
    },
    {
      name: "multipart: an attachment that is not there",
      send: multipart((form, c) => form.set("request", requestPart(c, ["attachment:missing"]))),
      expect: badImageUrl,
    },
    {
      name: "multipart: two file parts with the same name",
      send: multipart((form, c) => {
        form.set("request", requestPart(c, ["attachment:photo"]));
        form.append("photo", new Blob([png], { type: "image/png" }), "a.png");
        form.append("photo", new Blob([png], { type: "image/png" }), "b.png");
      }),
      expect: refused(400, "invalid_multipart"),
    },
    {
      name: "multipart: more parts than MAX_IMAGES images and 8 others",
      send: multipart((form, c) => {
        form.set("request", requestPart(c, ["attachment:photo"]));
        form.set("photo", new Blob([png], { type: "image/png" }), "photo.png");
        for (let i = 0; i < LIMITS.maxImages + 7; i++) form.set(`field${i}`, "x");
      }),
      expect: refused(400, "invalid_multipart"),
    },
    {
      name: "multipart: MAX_IMAGES images and 8 other parts",
      send: multipart((form, c) => {
        form.set("request", requestPart(c, ["attachment:photo"]));
        for (let i = 0; i < LIMITS.maxImages; i++)
          form.set(i === 0 ? "photo" : `photo${i}`, new Blob([png], { type: "image/png" }), "p.png");
        for (let i = 0; i < 7; i++) form.set(`field${i}`, "x");
      }),
      expect: served(),
    },
    {
      name: "multipart: a body that ends before its closing boundary",
      send: rawMultipart(
        (c) =>
          `--b\r\ncontent-disposition: form-data; name="request"\r\n\r\n${requestPart(c, [])}\r\n--b\r\ncontent-disposition: form-data; name="photo"; filename="p.png"\r\n\r\n\x89PNG`,
      ),
      expect: refused(400, "invalid_multipart"),
    },
    {
      name: "multipart: a part header of 64 KiB",
      send: rawMultipart(
        (c) =>
          `--b\r\ncontent-disposition: form-data; name="request"; x="${"x".repeat(64 * 1024)}"\r\n\r\n${requestPart(c, [])}\r\n--b--\r\n`,
      ),
      expect: refused(400, "invalid_multipart"),
    },
    {
      name: "multipart: a body that is not multipart",
      send: post(
        () => "this is not multipart at all",
        (c) => ({ authorization: `Bearer ${c.apiKey}`, "content-type": "multipart/form-data; boundary=----x" }),
      ),
      expect: refused(400, "invalid_multipart"),
    },
  ],

  "PNG: sizes, bombs, truncation, corruption": [
    { name: "1x1", send: withImage(pngPhoto(1, 1)), expect: served() },
    { name: "1x512 (one column)", send: withImage(pngPhoto(1, 512)), expect: served() },
    { name: "4096x1 (one row)", send: withImage(pngPhoto(4096, 1)), expect: served() },
    {
      name: "1x100000 (aspect 1:100000, under the pixel cap)",
      send: withImage(pngFile({ width: 1, height: 100_000 }, deflateSync(scanlines(1, 100_000, 3, gradient)))),
      expect: served(),
    },
    { name: "2048x2048: exactly MAX_IMAGE_PIXELS", send: withImage(greyPng(2048, 2048)), expect: served() },
    { name: "2049x2048 with every row present: one column over the cap", send: withImage(greyPng(2049, 2048)), expect: tooManyPixels },
    { name: "IHDR declaring 100000x100000 in a 100-byte file", send: withImage(pngDeclaring(100_000, 100_000)), expect: tooManyPixels },
    { name: "IHDR declaring 2^31-1 x 2^31-1", send: withImage(pngDeclaring(0x7fffffff, 0x7fffffff)), expect: tooManyPixels },
    {
      name: "16x16 whose zlib stream inflates to 100 MiB (extra data after the image)",
      send: withImage(pngFile({ width: 16, height: 16 }, deflateSync(new Uint8Array(100 * MiB)))),
      expect: served(),
    },
    { name: "0x0", send: withImage(pngDeclaring(0, 0)), expect: badImage },
    { name: "0x10", send: withImage(pngDeclaring(0, 10)), expect: badImage },
    { name: "truncated after the signature", send: withImage(png.subarray(0, 8)), expect: badImage },
    { name: "truncated inside IHDR", send: withImage(png.subarray(0, 20)), expect: badImage },
    { name: "truncated after IHDR (no image data)", send: withImage(png.subarray(0, IHDR_END)), expect: badImage },
    { name: "truncated inside IDAT", send: withImage(png.subarray(0, idatAt + Math.floor((png.length - idatAt) / 2))), expect: badImage },
    {
      name: "truncated before IEND only (all image data there; Pillow decodes it)",
      send: withImage(png.subarray(0, png.length - IEND_LENGTH)),
      expect: served(),
    },
    { name: "a wrong IHDR CRC", send: withImage(withByte(png, IHDR_END - 1, png[IHDR_END - 1]! ^ 0xff)), expect: badImage },
    {
      name: "a wrong IDAT CRC (not checked, as in Pillow)",
      send: withImage(withByte(png, png.length - IEND_LENGTH - 1, png[png.length - IEND_LENGTH - 1]! ^ 0xff)),
      expect: served(),
    },
    {
      name: "a broken zlib header",
      send: withImage(
        concat(
          PNG_SIGNATURE,
          pngChunk("IHDR", ihdr({ width: 8, height: 8 })),
          pngChunk("IDAT", Uint8Array.of(0xff, 0xff, 1, 2, 3, 4)),
          pngChunk("IEND", new Uint8Array(0)),
        ),
      ),
      expect: badImage,
    },
    {
      name: "an unknown row filter type",
      send: withImage(pngFile({ width: 8, height: 8 }, deflateSync(scanlines(8, 8, 3, gradient, 7)))),
      expect: badImage,
    },
    {
      name: "RGB at 4 bits per sample (invalid combination)",
      send: withImage(pngFile({ width: 8, height: 8, bitDepth: 4 }, deflateSync(scanlines(8, 8, 3, gradient)))),
      expect: badImage,
    },
    {
      name: "colour type 5 (does not exist)",
      send: withImage(pngFile({ width: 8, height: 8, colorType: 5 }, deflateSync(scanlines(8, 8, 3, gradient)))),
      expect: badImage,
    },
    {
      name: "a first chunk claiming 4 GiB",
      send: withImage(concat(PNG_SIGNATURE, Uint8Array.of(0xff, 0xff, 0xff, 0xff), new TextEncoder().encode("IHDR"), new Uint8Array(20))),
      expect: badImage,
    },
    { name: "the signature followed by garbage", send: withImage(concat(PNG_SIGNATURE, new Uint8Array(100).fill(0xab))), expect: badImage },
  ],

  "JPEG: sizes, bombs, truncation, corruption": [
    { name: "1x300 (one column)", send: withImage(await jpegPhoto(1, 300), "image/jpeg"), expect: served() },
    { name: "2000x8 (aspect 250:1)", send: withImage(await jpegPhoto(2000, 8), "image/jpeg"), expect: served() },
    {
      name: "a frame header declaring 65535x65535 (4.3 G pixels) in a 1 KiB file",
      send: withImage(withFrame(jpeg, { width: 65535, height: 65535 }), "image/jpeg"),
      expect: tooManyPixels,
    },
    {
      name: "a frame header declaring 2049x2048",
      send: withImage(withFrame(jpeg, { width: 2049, height: 2048 }), "image/jpeg"),
      expect: tooManyPixels,
    },
    {
      name: "a frame header declaring 0x0 (DNL, not supported)",
      send: withImage(withFrame(jpeg, { width: 0, height: 0 }), "image/jpeg"),
      expect: notAnImage,
    },
    {
      name: "truncated to its first 2 bytes (no format left to sniff)",
      send: withImage(jpeg.subarray(0, 2), "image/jpeg"),
      expect: notAnImage,
    },
    { name: "truncated to 3 bytes", send: withImage(jpeg.subarray(0, 3), "image/jpeg"), expect: badImage },
    { name: "truncated inside a quantization table", send: withImage(jpeg.subarray(0, jpegDqt.at + 20), "image/jpeg"), expect: badImage },
    { name: "truncated right after the frame header", send: withImage(jpeg.subarray(0, jpegSof.end), "image/jpeg"), expect: badImage },
    { name: "truncated right after the scan header", send: withImage(jpeg.subarray(0, jpegSos.end), "image/jpeg"), expect: badImage },
    {
      name: "truncated in the middle of the scan",
      send: withImage(jpeg.subarray(0, Math.floor((jpegSos.end + jpeg.length) / 2)), "image/jpeg"),
      expect: badImage,
    },
    {
      name: "missing only its end-of-image marker (Pillow: truncated)",
      send: withImage(jpeg.subarray(0, jpeg.length - 2), "image/jpeg"),
      expect: badImage,
    },
    ...truncations("a 1600x1200 baseline JPEG", largeJpeg, 12, badImage),
    ...truncations("a 1600x1200 progressive JPEG", largeProgressiveJpeg, 12, badImage),
    {
      name: "a scan that never ends: 1 MiB of entropy-coded data past the last MCU, no end-of-image marker",
      send: withImage(concat(jpeg.subarray(0, jpeg.length - 2), new Uint8Array(1 << 20).fill(0x5a)), "image/jpeg"),
      expect: badImage,
    },
    { name: "a bogus Huffman table (a fatal libjpeg error)", send: withImage(bogusHuffman(jpeg), "image/jpeg"), expect: badImage },
    {
      name: "garbled scan data, markers intact (decoded with libjpeg's concealment, as Pillow does)",
      send: withImage(garbledScan(jpeg), "image/jpeg"),
      expect: served(),
    },
    { name: "a scan before any frame header", send: withImage(jpegWithoutFrame, "image/jpeg"), expect: badImage },
    { name: "a segment length of 1", send: withImage(jpegBadLength, "image/jpeg"), expect: badImage },
    { name: "a second SOI marker", send: withImage(jpegSecondSoi, "image/jpeg"), expect: badImage },
    { name: "12-bit samples", send: withImage(withFrame(jpeg, { precision: 12 }), "image/jpeg"), expect: notAnImage },
    // Pillow's libjpeg decodes a Huffman scan declared arithmetic-coded (to noise, with warnings), and so does the edge.
    {
      name: "a Huffman scan declared arithmetic (SOF9)",
      send: withImage(withFrame(jpeg, { marker: 0xc9 }), "image/jpeg"),
      expect: served(),
    },
    { name: "lossless (SOF3)", send: withImage(withFrame(jpeg, { marker: 0xc3 }), "image/jpeg"), expect: notAnImage },
    { name: "2 components", send: withImage(withFrame(jpeg, { components: 2 }), "image/jpeg"), expect: notAnImage },
  ],

  "WebP: sizes, bombs, truncation, corruption": [
    { name: "1x200 (one column)", send: withImage(await webpPhoto(1, 200), "image/webp"), expect: served() },
    {
      name: "truncated to half (its RIFF size says more)",
      send: withImage(webp.subarray(0, webp.length >> 1), "image/webp"),
      expect: badImage,
    },
    { name: "only the RIFF/WEBP header", send: withImage(webp.subarray(0, 12), "image/webp"), expect: badImage },
    { name: "a bitstream cut short inside a consistent container", send: withImage(webpCutInside(webp), "image/webp"), expect: badImage },
    {
      name: "VP8X declaring 16384x16384 with no image data",
      send: withImage(webpFile("VP8X", vp8x(16384, 16384)), "image/webp"),
      expect: tooManyPixels,
    },
    { name: "VP8X declaring 2^24 x 2^24", send: withImage(webpFile("VP8X", vp8x(1 << 24, 1 << 24)), "image/webp"), expect: tooManyPixels },
    {
      name: "VP8L declaring 16384x16384 in 5 bytes",
      send: withImage(webpFile("VP8L", vp8lHeader(16384, 16384)), "image/webp"),
      expect: tooManyPixels,
    },
    {
      name: "a VP8 frame declaring 0x0",
      send: withImage(webpFile("VP8 ", vp8Frame(0, 0, new Uint8Array(32))), "image/webp"),
      expect: badImage,
    },
    { name: "animated (VP8X animation flag)", send: withImage(webpFile("VP8X", vp8x(64, 48, 0x02)), "image/webp"), expect: notAnImage },
    { name: "an unknown first chunk", send: withImage(webpFile("ABCD", new Uint8Array(16)), "image/webp"), expect: badImage },
  ],

  "image URLs: never plain http, never loopback, private or internal hosts": [
    ...[
      "http://example.com/a.png",
      "https://127.0.0.1/a.png",
      "https://127.1/a.png",
      "https://2130706433/a.png",
      "https://0x7f.0.0.1/a.png",
      "https://0.0.0.0/a.png",
      "https://10.0.0.1/a.png",
      "https://172.16.0.1/a.png",
      "https://192.168.1.1/a.png",
      "https://100.64.0.1/a.png",
      "https://169.254.169.254/latest/meta-data/",
      "https://[::1]/a.png",
      "https://[::]/a.png",
      "https://[::ffff:127.0.0.1]/a.png",
      "https://[::127.0.0.1]/a.png",
      "https://[fd00::1]/a.png",
      "https://[fe80::1]/a.png",
      "https://localhost/a.png",
      "https://LOCALHOST:8443/a.png",
      "https://app.localhost/a.png",
      "https://metadata.google.internal/computeMetadata/v1/",
      "https://printer.local/a.png",
      "https://user:secret@127.0.0.1/a.png",
      "https://localhost./a.png",
      "https://metadata.google.internal./computeMetadata/v1/",
    ].map((url): Case => ({ name: url, send: withImageUrls(url), expect: badImageUrl })),
    // No name resolves on this machine (no network): the fetch fails fast, never hangs.
    {
      name: "https://nonexistent.invalid/a.png (resolves nowhere)",
      send: withImageUrls("https://nonexistent.invalid/a.png"),
      expect: refused(400, "image_fetch_failed"),
    },
    {
      name: "https://user:secret@nonexistent.invalid/a.png",
      send: withImageUrls("https://user:secret@nonexistent.invalid/a.png"),
      expect: refused(400, "image_fetch_failed"),
    },
  ],
};

async function expectHealthy(c: Ctx): Promise<void> {
  const response = await fetch(`${c.url}/healthz`);
  const body = await readJson(response);
  expect(
    { status: response.status, gpu: body.gpu?.replicas?.[0]?.reachable },
    "the Worker stays healthy and the GPU service reachable",
  ).toEqual({
    status: 200,
    gpu: true,
  });
}

async function expectAnswer(response: Response, expected: Refusal | Served): Promise<void> {
  const text = await response.text();
  expect(response.headers.get("x-request-id"), "every response carries X-Request-Id").toBeTruthy();
  if ("minPromptTokens" in expected) {
    expect(response.status, `no 5xx (body: ${text.slice(0, 300)})`).toBeLessThan(500);
    expect(response.status, `status (body: ${text.slice(0, 300)})`).toBe(200);
    const completion = JSON.parse(text);
    expect(completion.object).toBe("chat.completion");
    expect(completion.choices[0].message.role).toBe("assistant");
    expect(completion.usage.prompt_tokens).toBeGreaterThanOrEqual(expected.minPromptTokens(system.model.manifest));
    return;
  }
  expect(response.status, `no 5xx (body: ${text.slice(0, 300)})`).toBeLessThan(500);
  expect(response.status, `status (body: ${text.slice(0, 300)})`).toBe(expected.status);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  const body = JSON.parse(text);
  expect(Object.keys(body)).toEqual(["error"]);
  expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
  expect(body.error.message).toEqual(expect.stringMatching(/\S/));
  expect(body.error.param === null || typeof body.error.param === "string").toBe(true);
  expect({ code: body.error.code, type: body.error.type }).toEqual({ code: expected.code, type: expected.type });
  if (expected.param !== undefined) expect(body.error.param).toBe(expected.param);
}

const cases = Object.values(groups).flat();

describe("hostile input at the edge", () => {
  it("covers at least 60 cases, refusals and the valid oddities", () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  for (const [group, members] of Object.entries(groups)) {
    describe(group, () => {
      for (const { name, send, expect: expected } of members) {
        it(`${name} -> ${"code" in expected ? `${expected.status} ${expected.code}` : "200"}`, async () => {
          const c = ctx();
          await expectAnswer(await send(c), expected);
          await expectHealthy(c);
        });
      }
    });
  }
});
