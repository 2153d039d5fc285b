// Node clients of the GPU service, as the benchmarks, the cross-component tests and other Node programs call it.
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { DiagnosticsService } from "../shared/gen/deepseek_vl/v1/diagnostics_pb.js";
import { InferenceService } from "../shared/gen/deepseek_vl/v1/inference_pb.js";

/** `grpc-web` and `connect` over HTTP/1.1 (the service's main port), `grpc` over h2c (its gRPC port). */
export type Protocol = "grpc-web" | "grpc" | "connect";

/** Clients of both services at `baseUrl`, presenting `token` as the bearer secret when given. */
export function gpuClients(baseUrl: string, token: string | undefined, protocol: Protocol = "grpc-web") {
  const interceptors: Interceptor[] =
    token === undefined
      ? []
      : [
          (next) => (request) => {
            request.header.set("authorization", `Bearer ${token}`);
            return next(request);
          },
        ];
  const transport =
    protocol === "grpc"
      ? createGrpcTransport({ baseUrl, interceptors })
      : protocol === "grpc-web"
        ? createGrpcWebTransport({ baseUrl, interceptors, httpVersion: "1.1" })
        : createConnectTransport({ baseUrl, interceptors, httpVersion: "1.1" });
  return { inference: createClient(InferenceService, transport), diagnostics: createClient(DiagnosticsService, transport) };
}

/** One sample of the GPU service's Prometheus metrics (GET /metrics): `name` with its exact `{labels}` if any. */
export async function gpuMetric(gpuUrl: string, name: string, labels = ""): Promise<number> {
  const text = await (await fetch(`${gpuUrl}/metrics`)).text();
  const line = text.split("\n").find((row) => row.startsWith(`${name}${labels} `));
  if (line === undefined) throw new Error(`metric ${name}${labels} not found`);
  return Number(line.slice(line.lastIndexOf(" ") + 1));
}
