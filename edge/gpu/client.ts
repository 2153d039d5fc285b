import { type Client, Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { DiagnosticsService } from "../../shared/gen/deepseek_vl/v1/diagnostics_pb.js";
import { InferenceService } from "../../shared/gen/deepseek_vl/v1/inference_pb.js";
import { CANCELLED, followSignal } from "../signals.ts";

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
  const transport = createGrpcWebTransport({
    baseUrl,
    useBinaryFormat: true,
    fetch: (input, init) => upstreamFetch(input, init, options.waitUntil),
    interceptors: [authenticate],
  });
  return { inference: createClient(InferenceService, transport), diagnostics: createClient(DiagnosticsService, transport) };
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
