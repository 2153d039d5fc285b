import { type Code, ConnectError } from "@connectrpc/connect";

export { gpuClients, type Protocol } from "../../processes/index.ts";

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
