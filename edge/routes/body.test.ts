import { describe, expect, it } from "vitest";
import { ApiError } from "../errors.ts";
import { readBodyBytes } from "./body.ts";

// Runs inside workerd, on Requests whose bodies arrive as the streams below.

/** Bytes 0, 1, 2, ... mod 251, so a chunk out of place or a byte lost shows. */
function pattern(length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => i % 251);
}

function chunksOf(bytes: Uint8Array, chunkBytes: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += chunkBytes) chunks.push(bytes.slice(at, at + chunkBytes));
  return chunks;
}

/** A POST whose body is `chunks`, then (with `stall`) a stream that never ends; `declared` as its Content-Length. */
function upload(chunks: Uint8Array[], options: { declared?: number; stall?: boolean } = {}): Request {
  let next = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (next < chunks.length) controller.enqueue(chunks[next++]!);
      else if (!options.stall) controller.close();
      else return new Promise<void>(() => undefined);
    },
  });
  const headers = options.declared === undefined ? undefined : { "content-length": String(options.declared) };
  return new Request("https://edge.test/v1/chat/completions", { method: "POST", body, ...(headers && { headers }) });
}

async function refusal(read: Promise<unknown>): Promise<{ status: number; code: string }> {
  const error = await read.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(error).toBeInstanceOf(ApiError);
  return { status: (error as ApiError).status, code: (error as ApiError).code };
}

const LIMITS = { maxBytes: 4 << 20, idleMs: 200 };

describe("readBodyBytes", () => {
  it.each([
    ["declared, across the buffer's doublings", 3_000_001, 65_536, true],
    ["declared, in odd chunks", 1_048_577, 4097, true],
    ["declared, a single byte", 1, 1, true],
    ["chunked", 2_500_000, 100_000, false],
    ["chunked, empty", 0, 1, false],
  ] as const)("reads the whole body exactly: %s", async (_, length, chunkBytes, declare) => {
    const bytes = pattern(length);
    const read = await readBodyBytes(upload(chunksOf(bytes, chunkBytes), declare ? { declared: length } : {}), LIMITS);
    expect(read.length).toBe(length);
    expect(read.findIndex((byte, i) => byte !== bytes[i])).toBe(-1);
  });

  it("ends a declared body in a buffer of exactly its length (a view of it is all a part holds)", async () => {
    const length = 3_000_001;
    const read = await readBodyBytes(upload(chunksOf(pattern(length), 65_536), { declared: length }), LIMITS);
    expect(read.buffer.byteLength).toBe(length);
  });

  it("refuses a body that declares more than maxBytes with 413 before reading a byte of it", async () => {
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new Uint8Array(16));
      },
    });
    const request = new Request("https://edge.test/", { method: "POST", body, headers: { "content-length": String(LIMITS.maxBytes + 1) } });
    expect(await refusal(readBodyBytes(request, LIMITS))).toEqual({ status: 413, code: "body_too_large" });
    expect(pulled).toBeLessThanOrEqual(1);
  });

  it("refuses a chunked body with 413 as soon as it passes maxBytes", async () => {
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += 1 << 20;
        controller.enqueue(new Uint8Array(1 << 20));
      },
    });
    const request = new Request("https://edge.test/", { method: "POST", body });
    expect(await refusal(readBodyBytes(request, LIMITS))).toEqual({ status: 413, code: "body_too_large" });
    expect(sent).toBeLessThanOrEqual(LIMITS.maxBytes + 2 * (1 << 20));
  });

  it.each([
    ["declared", true],
    ["chunked", false],
  ])("answers a %s body that stops sending with 408 once idleMs passes", async (_, declare) => {
    const started = Date.now();
    const request = upload(chunksOf(pattern(10_000), 1000), { stall: true, ...(declare && { declared: 20_000 }) });
    expect(await refusal(readBodyBytes(request, LIMITS))).toEqual({ status: 408, code: "request_timeout" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(LIMITS.idleMs);
  });
});
