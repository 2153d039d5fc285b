import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { DiagnosticsService } from "../../shared/gen/deepseek_vl/v1/diagnostics_pb.js";
import { InferenceService } from "../../shared/gen/deepseek_vl/v1/inference_pb.js";

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
 * workerd rejects connect-web's `redirect: "error"`, and a refused connection surfaces as a bare
 * TypeError: send `redirect: "manual"` and report network failures as UNAVAILABLE.
 */
async function upstreamFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(input, { ...init, redirect: "manual" });
  } catch (error) {
    if (init?.signal?.aborted) throw error;
    throw new ConnectError(`cannot reach the GPU service: ${String(error)}`, Code.Unavailable);
  }
}
