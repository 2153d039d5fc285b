import { create } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { DiagnosticsService } from "../../shared/gen/deepseek_vl/v1/diagnostics_pb.js";
import { InferenceService } from "../../shared/gen/deepseek_vl/v1/inference_pb.js";
import { CANCELLED, followSignal } from "../signals.ts";
import { encodeSegments, holdsLargeBytes, type Segments } from "./segments.ts";

export type GpuClients = {
  inference: Client<typeof InferenceService>;
  diagnostics: Client<typeof DiagnosticsService>;
};

export type GpuClientOptions = {
  /**
   * Keeps the request that made a call alive until the call has ended (the Worker's `waitUntil`). A client
   * that hangs up ends its request's I/O: workerd then never settles the call's pending fetch or body read,
   * and keeps all they reference (14–35 KB per cancelled stream).
   */
  waitUntil: (work: Promise<unknown>) => void;
};

/**
 * Clients of the GPU service over gRPC-web (binary, HTTP/1.1: what Workers' fetch speaks to an
 * origin). The caller authenticates with the shared secret on every call.
 */
export function createGpuClients(baseUrl: string, secret: string, options: GpuClientOptions): GpuClients {
  const authenticate: Interceptor = (next) => (request) => {
    request.header.set("authorization", `Bearer ${secret}`);
    return next(request);
  };
  const bodies = new Map<string, Segments>();
  const transport = createGrpcWebTransport({
    baseUrl,
    useBinaryFormat: true,
    fetch: (input, init) => upstreamFetch(input, withSegmentedBody(init, bodies), options.waitUntil),
    interceptors: [authenticate, encodeTensorsOnce(bodies)],
  });
  return { inference: createClient(InferenceService, transport), diagnostics: createClient(DiagnosticsService, transport) };
}

/** Names, between the interceptor and the fetch of one call, the body that call sends (never sent itself). */
const BODY_HEADER = "x-edge-segmented-body";

/**
 * Requests that carry large tensors (a cold image is 4 MiB) are encoded by `encodeSegments`, their tensors left
 * where they are, instead of by connect's serializer, which copies them several times over: connect then
 * serializes an empty message, and the fetch sends these segments as the body in its place. Same bytes on the
 * wire, same gRPC-web; the service reads the tensors as views of the body.
 */
function encodeTensorsOnce(bodies: Map<string, Segments>): Interceptor {
  return (next) => async (request) => {
    const message = request.stream ? await firstOf(request.message) : request.message;
    // Most calls (health, key-only images, text) carry no large bytes: connect's serializer is the one to use.
    if (!holdsLargeBytes(request.method.input, message)) return next(request.stream ? { ...request, message: once(message) } : request);
    const segments = encodeSegments(request.method.input, message);
    const id = crypto.randomUUID();
    const empty = create(request.method.input);
    bodies.set(id, segments);
    request.header.set(BODY_HEADER, id);
    try {
      return await next(request.stream ? { ...request, message: once(empty) } : { ...request, message: empty });
    } finally {
      bodies.delete(id);
    }
  };
}

async function firstOf<T>(messages: AsyncIterable<T>): Promise<T> {
  for await (const message of messages) return message;
  throw new ConnectError("a call without a request message", Code.Internal);
}

async function* once<T>(message: T): AsyncIterable<T> {
  yield message;
}

/** The call's init with its segmented body in place of connect's envelope, when the interceptor made one. */
function withSegmentedBody(init: RequestInit | undefined, bodies: Map<string, Segments>): RequestInit | undefined {
  const headers = new Headers(init?.headers);
  const id = headers.get(BODY_HEADER);
  const segments = id === null ? undefined : bodies.get(id);
  if (!segments) return init;
  headers.delete(BODY_HEADER);
  // One gRPC-web envelope: flags 0, then the message length (big-endian), then the message.
  const envelope = new Uint8Array(5);
  new DataView(envelope.buffer).setUint32(1, segments.byteLength);
  const parts = [envelope, ...segments.parts];
  const { readable, writable } = new FixedLengthStream(5 + segments.byteLength);
  const writer = writable.getWriter();
  void (async () => {
    for (const part of parts) await writer.write(part);
    await writer.close();
  })().catch(() => undefined);
  return { ...init, headers, body: readable };
}

/**
 * workerd rejects connect-web's `redirect: "error"`, and a refused or broken connection surfaces as a
 * bare error: send `redirect: "manual"` and report network failures as UNAVAILABLE. The call's signal
 * reaches workerd only through followers (../signals.ts): connect aborts it when every call finishes, with
 * a reason holding the call's stack, request message included. Once the response is in, the call ends
 * its body through the reader, the way workerd lets go of a response's stream and connection; the call
 * has ended when its body has, and no read of it is pending.
 */
async function upstreamFetch(
  input: RequestInfo | URL,
  init: RequestInit | undefined,
  waitUntil: GpuClientOptions["waitUntil"],
): Promise<Response> {
  let end!: () => void;
  waitUntil(new Promise<void>((resolve) => (end = resolve)));
  const call = init?.signal;
  const request = followSignal(call);
  let response: Response;
  try {
    response = await fetch(input, { ...init, signal: request.signal, redirect: "manual" });
  } catch (error) {
    end();
    throw request.signal.aborted ? CANCELLED : new ConnectError(`cannot reach the GPU service: ${String(error)}`, Code.Unavailable);
  } finally {
    request.unlink();
  }
  if (!response.body) {
    end();
    return response;
  }
  const reader = response.body.getReader();
  const body = followSignal(call);
  const finish = () => {
    body.unlink();
    end();
  };
  let pendingRead: Promise<unknown> | undefined;
  const cancel = (reason: unknown) => Promise.allSettled([reader.cancel(reason), pendingRead]).then(finish);
  if (body.signal.aborted) void cancel(CANCELLED);
  else body.signal.addEventListener("abort", () => void cancel(CANCELLED), { once: true });
  // A connection that breaks mid-stream (the service died) is UNAVAILABLE too, as gRPC defines it.
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const read = reader.read();
      pendingRead = read;
      try {
        const { value, done } = await read;
        if (done) {
          finish();
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        finish();
        // Cancelled: connect reports its own signal's reason. A fresh error would capture this stack, and
        // workerd keeps an errored stream's error.
        controller.error(
          body.signal.aborted ? CANCELLED : new ConnectError(`the connection to the GPU service broke: ${String(error)}`, Code.Unavailable),
        );
      } finally {
        pendingRead = undefined;
      }
    },
    cancel: (reason) => cancel(reason),
  });
  return new Response(stream, { status: response.status, statusText: response.statusText, headers: response.headers });
}
