// Hand-made gRPC-web (HTTP/1.1) and gRPC (h2c) requests: broken frames that no well-behaved client sends.
import { connect as connectHttp2, constants as http2 } from "node:http2";
import { connect as connectTcp } from "node:net";

/** What came back: the HTTP status and the gRPC status, from the trailers or, trailers-only, the headers. */
export type RawReply = { httpStatus: number; grpcStatus: number | undefined; grpcMessage: string | undefined };

/** A length-prefixed message: flags byte, 4-byte big-endian length (the real one unless told otherwise), payload. */
export function envelope(payload: Uint8Array, options: { flags?: number; declaredLength?: number } = {}): Uint8Array {
  const bytes = new Uint8Array(5 + payload.length);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, options.flags ?? 0);
  view.setUint32(1, options.declaredLength ?? payload.length);
  bytes.set(payload, 5);
  return bytes;
}

const status = (value: string | string[] | null | undefined) => (value === undefined || value === null ? undefined : Number(value));
const message = (value: string | string[] | null | undefined) =>
  value === undefined || value === null ? undefined : decodeURIComponent(String(value));

/** Trailer fields of a gRPC-web body: the envelope flagged 0x80 holds them as HTTP/1 header lines. */
function grpcWebTrailer(body: Uint8Array): Map<string, string> {
  const fields = new Map<string, string>();
  let offset = 0;
  while (offset + 5 <= body.length) {
    const flags = body[offset]!;
    const length = new DataView(body.buffer, body.byteOffset + offset + 1, 4).getUint32(0);
    const payload = body.subarray(offset + 5, offset + 5 + length);
    offset += 5 + length;
    if ((flags & 0x80) === 0) continue;
    for (const line of new TextDecoder().decode(payload).split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon > 0) fields.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
  }
  return fields;
}

/** POSTs `body` to `path` as binary gRPC-web over HTTP/1.1; a stream body is sent as it is written. */
export async function grpcWebPost(
  baseUrl: string,
  path: string,
  body: Uint8Array | ReadableStream<Uint8Array>,
  headers: Record<string, string> = {},
): Promise<RawReply> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1", ...headers },
    body,
    signal: AbortSignal.timeout(30_000),
    // Node's fetch needs half duplex to send a stream body.
    ...(body instanceof ReadableStream ? { duplex: "half" } : {}),
  } as RequestInit);
  const trailer = grpcWebTrailer(new Uint8Array(await response.arrayBuffer()));
  const header = (name: string) => response.headers.get(name) ?? trailer.get(name);
  return { httpStatus: response.status, grpcStatus: status(header("grpc-status")), grpcMessage: message(header("grpc-message")) };
}

/** POSTs `body` to `path` as gRPC over cleartext HTTP/2 on `port`. */
export function grpcPost(port: number, path: string, body: Uint8Array, headers: Record<string, string> = {}): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const session = connectHttp2(`http://127.0.0.1:${port}`);
    session.on("error", reject);
    const stream = session.request({
      [http2.HTTP2_HEADER_METHOD]: "POST",
      [http2.HTTP2_HEADER_PATH]: path,
      "content-type": "application/grpc+proto",
      te: "trailers",
      ...headers,
    });
    stream.setTimeout(30_000, () => stream.close(http2.NGHTTP2_CANCEL));
    let responseHeaders: Record<string, string | string[] | undefined> = {};
    let trailers: Record<string, string | string[] | undefined> = {};
    stream.on("response", (received) => (responseHeaders = received));
    stream.on("trailers", (received) => (trailers = received));
    stream.on("data", () => {});
    stream.on("error", reject);
    stream.on("close", () => {
      session.close();
      const field = (name: string) => trailers[name] ?? responseHeaders[name];
      resolve({
        httpStatus: Number(responseHeaders[http2.HTTP2_HEADER_STATUS]),
        grpcStatus: status(field("grpc-status")),
        grpcMessage: message(field("grpc-message")),
      });
    });
    stream.end(body);
  });
}

/** The client connection preface of HTTP/2 (RFC 9113 §3.4). */
export const HTTP2_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/** One HTTP/2 frame (RFC 9113 §4.1); `declaredLength` lies about the payload's length when given. */
export function http2Frame(
  type: number,
  flags: number,
  streamId: number,
  payload: Uint8Array,
  declaredLength = payload.length,
): Uint8Array {
  const frame = new Uint8Array(9 + payload.length);
  const view = new DataView(frame.buffer);
  view.setUint8(0, declaredLength >>> 16);
  view.setUint16(1, declaredLength & 0xffff);
  view.setUint8(3, type);
  view.setUint8(4, flags);
  view.setUint32(5, streamId & 0x7fffffff);
  frame.set(payload, 9);
  return frame;
}

/** The error code of the first GOAWAY frame (type 7) among the frames a server sent (its preface is a plain SETTINGS frame). */
export function goAwayCode(received: Uint8Array): number | undefined {
  let offset = 0;
  while (offset + 9 <= received.length) {
    const view = new DataView(received.buffer, received.byteOffset + offset);
    const length = (view.getUint8(0) << 16) | view.getUint16(1);
    if (view.getUint8(3) === 7 && offset + 9 + 8 <= received.length) return view.getUint32(9 + 4);
    offset += 9 + length;
  }
  return undefined;
}

/**
 * Writes raw bytes to a TCP port and collects what the server sends until it closes the connection (or
 * `waitMs` passes: then the socket is closed from this side).
 */
export function rawTcp(port: number, bytes: Uint8Array | string, waitMs = 10_000): Promise<{ received: Buffer; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let closedByServer = true;
    const socket = connectTcp(port, "127.0.0.1", () => socket.write(bytes));
    const timer = setTimeout(() => {
      closedByServer = false;
      socket.destroy();
    }, waitMs);
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("error", (error: NodeJS.ErrnoException) => {
      // A reset is the server closing on us.
      if (error.code !== "ECONNRESET") reject(error);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ received: Buffer.concat(chunks), closedByServer });
    });
  });
}
