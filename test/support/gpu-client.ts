import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { DiagnosticsService } from "../../shared/gen/deepseek_vl/v1/diagnostics_pb.js";
import { InferenceService } from "../../shared/gen/deepseek_vl/v1/inference_pb.js";

export type Protocol = "grpc-web" | "grpc" | "connect";

/** Node clients of the GPU service, as a test (or another Node program) would call it. */
export function gpuClients(baseUrl: string, token: string | undefined, protocol: Protocol = "grpc-web") {
  const interceptors: Interceptor[] =
    token === undefined ? [] : [(next) => (request) => (request.header.set("authorization", `Bearer ${token}`), next(request))];
  const transport =
    protocol === "grpc"
      ? createGrpcTransport({ baseUrl, interceptors })
      : protocol === "grpc-web"
        ? createGrpcWebTransport({ baseUrl, interceptors, httpVersion: "1.1" })
        : createConnectTransport({ baseUrl, interceptors, httpVersion: "1.1" });
  return { inference: createClient(InferenceService, transport), diagnostics: createClient(DiagnosticsService, transport) };
}

/** The Connect code a call ends with, or "ok". */
export async function codeOf(call: Promise<unknown> | AsyncIterable<unknown>): Promise<Code | "ok"> {
  try {
    if (Symbol.asyncIterator in call) for await (const _ of call);
    else await call;
    return "ok";
  } catch (error) {
    return ConnectError.from(error).code;
  }
}

/** The error a call ends with. */
export async function errorOf(call: Promise<unknown> | AsyncIterable<unknown>): Promise<ConnectError> {
  try {
    if (Symbol.asyncIterator in call) for await (const _ of call);
    else await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("the call succeeded");
}
