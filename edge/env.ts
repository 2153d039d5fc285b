import type { RequestIdVariables } from "hono/request-id";
import type { Bindings, EdgeConfig } from "./config.ts";
import type { GpuReplicas } from "./gpu/index.ts";
import type { IsolateState } from "./isolate.ts";

/** What every handler of the Worker sees: its bindings, and what the app's middleware sets per request. */
export type EdgeEnv = {
  Bindings: Bindings;
  Variables: RequestIdVariables & { config: EdgeConfig; gpu: GpuReplicas; isolate: IsolateState };
};
