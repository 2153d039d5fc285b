import { Code, ConnectError, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import { bearerToken, secretsEqual } from "../shared/auth/index.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { ServingState } from "./serving-state.ts";

/**
 * Runs before a request body is read: refuses callers without the shared secret and, while
 * draining, every new call — so neither costs more than its headers.
 */
export function admitCall(secret: string, state: ServingState) {
  return async (context: HandlerContext): Promise<void> => {
    const token = bearerToken(context.requestHeader.get("authorization"));
    if (token === undefined) throw new ConnectError("missing bearer secret", Code.Unauthenticated);
    if (!(await secretsEqual(token, secret))) throw new ConnectError("wrong secret", Code.Unauthenticated);
    if (state.draining) throw new ConnectError("service is draining: retry on another instance", Code.Unavailable);
  };
}

/**
 * The signal a handler obeys: the client's cancellation and deadline, and the service's default
 * deadline when the client set none. Its reason is the ConnectError to end the call with.
 */
export function callSignal(context: HandlerContext, defaultTimeoutMs: number): AbortSignal {
  if (context.timeoutMs() !== undefined) return context.signal;
  const deadline = new AbortController();
  const timer = setTimeout(
    () => deadline.abort(new ConnectError(`deadline of ${defaultTimeoutMs} ms exceeded`, Code.DeadlineExceeded)),
    defaultTimeoutMs,
  );
  timer.unref();
  context.signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
  return AbortSignal.any([context.signal, deadline.signal]);
}

/** Resolves after `ms`, or rejects with the signal's reason as a ConnectError. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(ConnectError.from(signal.reason, Code.Canceled));
    const onAbort = () => {
      clearTimeout(timer);
      reject(ConnectError.from(signal.reason, Code.Canceled));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Logs every failed call; failures that are not ConnectErrors are bugs, so they get their stack. */
export function logFailures(log: Logger): Interceptor {
  return (next) => async (request) => {
    try {
      return await next(request);
    } catch (error) {
      const procedure = `${request.service.typeName}/${request.method.name}`;
      if (error instanceof ConnectError) {
        log.warn("call failed", { procedure, code: Code[error.code], error: error.rawMessage });
      } else {
        log.error("call failed with an unexpected error", { procedure, error: String(error), stack: (error as Error).stack });
      }
      throw error;
    }
  };
}

/** Counts finished calls by procedure and code; a server stream counts when it ends. */
export function countCalls(metrics: Metrics): Interceptor {
  return (next) => async (request) => {
    const procedure = `${request.service.typeName}/${request.method.name}`;
    const count = (error?: unknown) =>
      metrics.requests.inc({ procedure, code: error === undefined ? "ok" : (Code[ConnectError.from(error).code] ?? "unknown") });
    let response: Awaited<ReturnType<typeof next>>;
    try {
      response = await next(request);
    } catch (error) {
      count(error);
      throw error;
    }
    if (!response.stream) {
      count();
      return response;
    }
    const messages = response.message;
    return {
      ...response,
      message: (async function* () {
        try {
          yield* messages;
          count();
        } catch (error) {
          count(error);
          throw error;
        }
      })(),
    };
  };
}
