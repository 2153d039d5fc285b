import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { DiagnosticsService } from "../../shared/gen/deepseek_vl/v1/diagnostics_pb.js";
import { InferenceService } from "../../shared/gen/deepseek_vl/v1/inference_pb.js";
import { CANCELLED, followSignal } from "../signals.ts";

export type GpuClients = {
  inference: Client<typeof InferenceService>;
  diagnostics: Client<typeof DiagnosticsService>;
};

/**
 * Clients of the GPU service over gRPC-web (binary, HTTP/1.1: what Workers' fetch speaks to an
 * origin). The caller authenticates with the shared secret on every call.
 */
export function createGpuClients(baseUrl: string, secret: string): GpuClients {
  const authenticate: Interceptor = (next) => (request) => {
    request.header.set("authorization", `Bearer ${secret}`);
    return next(request);
  };
  const transport = createGrpcWebTransport({
    baseUrl,
    useBinaryFormat: true,
    fetch: upstreamFetch,
    interceptors: [authenticate],
  });
  return { inference: createClient(InferenceService, transport), diagnostics: createClient(DiagnosticsService, transport) };
}

/**
 * workerd rejects connect-web's `redirect: "error"`, and a refused or broken connection surfaces as a
 * bare error: send `redirect: "manual"` and report network failures as UNAVAILABLE. The call's signal
 * reaches workerd's fetch only through a follower unlinked once the body has ended: connect aborts its
 * signal when every call finishes, with a reason holding the call's stack (its request message included),
 * and workerd keeps the signals it was handed.
 */
async function upstreamFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const follower = followSignal(init?.signal);
  // Cancelled: connect reports its own signal's reason. workerd's AbortError would capture this stack, and
  // keep it, with the body's reader and its connection, as long as workerd keeps the errored stream.
  const unavailable = (what: string, error: unknown) =>
    follower.signal.aborted ? CANCELLED : new ConnectError(`${what}: ${String(error)}`, Code.Unavailable);
  let response: Response;
  try {
    response = await fetch(input, { ...init, signal: follower.signal, redirect: "manual" });
  } catch (error) {
    follower.unlink();
    throw unavailable("cannot reach the GPU service", error);
  }
  if (!response.body) {
    follower.unlink();
    return response;
  }
  // A connection that breaks mid-stream (the service died) is UNAVAILABLE too, as gRPC defines it.
  const reader = response.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await reader.read();
        if (done) {
          follower.unlink();
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        follower.unlink();
        controller.error(unavailable("the connection to the GPU service broke", error));
      }
    },
    cancel: (reason) => {
      follower.unlink();
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}
