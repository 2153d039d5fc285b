import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { type GraphName, graphFileName, graphsOf, type Manifest, type ModelDtype } from "../../shared/manifest/index.ts";
import type { Logger } from "../log.ts";

export const EXECUTION_PROVIDERS = ["cuda", "webgpu", "cpu"] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

export type GraphSessions = Partial<Record<GraphName, ort.InferenceSession>>;

export type LoadedSessions = {
  sessions: GraphSessions;
  /** Provider each graph actually runs on. */
  providers: Partial<Record<GraphName, ExecutionProvider>>;
};

export type SessionOptions = {
  /** Tried in order per graph; the first that loads wins (so CUDA falls back to CPU where it is missing). */
  providers: readonly ExecutionProvider[];
  /** Intra-op threads for the CPU provider; 0 lets onnxruntime choose. */
  cpuThreads: number;
};

/** Loads every graph of the model set for `dtype`, choosing each one's provider as configured. */
export async function loadSessions(
  dir: string,
  manifest: Manifest,
  dtype: ModelDtype,
  options: SessionOptions,
  log: Logger,
): Promise<LoadedSessions> {
  const available = new Map(ort.listSupportedBackends().map((backend) => [backend.name, backend.bundled]));
  const sessions: GraphSessions = {};
  const providers: LoadedSessions["providers"] = {};
  for (const graph of graphsOf(manifest.kind)) {
    const path = join(dir, graphFileName(graph, dtype));
    const failures: string[] = [];
    for (const provider of options.providers) {
      if (!available.has(provider)) {
        failures.push(`${provider}: not in this onnxruntime-node build`);
        continue;
      }
      try {
        sessions[graph] = await ort.InferenceSession.create(path, {
          executionProviders: [provider],
          graphOptimizationLevel: "all",
          ...(provider === "cpu" && options.cpuThreads > 0 ? { intraOpNumThreads: options.cpuThreads } : {}),
        });
        providers[graph] = provider;
        break;
      } catch (error) {
        failures.push(`${provider}: ${(error as Error).message.split("\n")[0]}`);
      }
    }
    if (!sessions[graph]) throw new Error(`${graphFileName(graph, dtype)}: no execution provider could load it (${failures.join("; ")})`);
    if (failures.length > 0) log.warn("execution provider fallback", { graph, provider: providers[graph], tried: failures });
  }
  return { sessions, providers };
}
