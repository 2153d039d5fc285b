import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import * as ort from "onnxruntime-node";
import {
  GRAPH_IO,
  type GraphName,
  graphFileName,
  KV_SIDES,
  type Manifest,
  type ModelDtype,
  presentName,
  servedGraphsOf,
} from "../../shared/manifest/index.ts";
import type { Logger } from "../log.ts";

export const EXECUTION_PROVIDERS = ["cuda", "webgpu", "cpu"] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

export type GraphSessions = Partial<Record<GraphName, ort.InferenceSession>>;

export type LoadedSessions = {
  sessions: GraphSessions;
  /** Provider each graph actually runs on. */
  providers: Partial<Record<GraphName, ExecutionProvider>>;
  /** Where the accelerated sessions write the profile that shows their node placement (see cpuPlacedNodes). */
  profileDir: string;
};

export type SessionOptions = {
  /** Tried in order per graph; the first that loads wins (so CUDA falls back to CPU where it is missing). */
  providers: readonly ExecutionProvider[];
  /** Intra-op threads for the CPU provider; 0 lets onnxruntime choose. */
  cpuThreads: number;
};

/**
 * The graphs that hand the KV cache to each other. A device tensor can only be fed to a session of the
 * provider that made it, so all four load on the provider decoder_serving got, or the model does not load.
 */
const KV_GRAPHS: readonly GraphName[] = ["decoder_serving", "kv_select", "kv_join", "logits_rows"];

/**
 * embed_tokens runs on the CPU provider wherever the decoder runs: it is a lookup of a few rows, and the
 * host must merge image embeddings into the prompt's rows anyway, so its table never needs device memory.
 */
const HOST_GRAPHS: readonly GraphName[] = ["embed_tokens"];

const servedGraphs = servedGraphsOf("hybrid");

/** Outputs a WebGPU session keeps on the device: every cache, and the logits (read only through logits_rows). */
function deviceOutputs(graph: GraphName, manifest: Manifest): string[] {
  const caches = Array.from({ length: manifest.llm.numLayers }, (_, layer) => KV_SIDES.map((side) => presentName(layer, side))).flat();
  if (graph === "decoder_serving") return [GRAPH_IO.decoder_serving.outputs.logits, ...caches];
  if (graph === "kv_select" || graph === "kv_join") return caches;
  return [];
}

function sessionOptions(
  graph: GraphName,
  provider: ExecutionProvider,
  manifest: Manifest,
  options: SessionOptions,
  profileDir: string,
): ort.InferenceSession.SessionOptions {
  const base: ort.InferenceSession.SessionOptions = { executionProviders: [provider], graphOptimizationLevel: "all" };
  if (provider === "cpu") return options.cpuThreads > 0 ? { ...base, intraOpNumThreads: options.cpuThreads } : base;
  // Profiled until the warm-up has run every graph: the profile names the provider of each node that ran.
  const profiled = { ...base, enableProfiling: true, profileFilePrefix: join(profileDir, graph) };
  const onDevice = provider === "webgpu" ? deviceOutputs(graph, manifest) : [];
  if (onDevice.length === 0) return profiled;
  return { ...profiled, preferredOutputLocation: Object.fromEntries(onDevice.map((name) => [name, "gpu-buffer" as const])) };
}

/**
 * Ends the accelerated sessions' profiling and names, per graph, the node kinds onnxruntime ran on the CPU
 * instead (it places shape arithmetic there on purpose; a KV-touching node there would cost a copy each step).
 * Graphs that have not run since loading report nothing.
 */
export function cpuPlacedNodes(loaded: LoadedSessions): Partial<Record<GraphName, string[]>> {
  const placed: Partial<Record<GraphName, string[]>> = {};
  for (const [graph, session] of Object.entries(loaded.sessions) as [GraphName, ort.InferenceSession][]) {
    if (loaded.providers[graph] !== "cpu") session.endProfiling();
  }
  for (const file of readdirSync(loaded.profileDir)) {
    const graph = servedGraphs.find((name) => file.startsWith(`${name}_`));
    if (!graph) continue;
    const events = JSON.parse(readFileSync(join(loaded.profileDir, file), "utf8")) as {
      cat?: string;
      args?: { op_name?: string; provider?: string };
    }[];
    const kinds = new Set(
      events.flatMap((e) => (e.cat === "Node" && e.args?.provider === "CPUExecutionProvider" ? [e.args.op_name ?? "?"] : [])),
    );
    if (kinds.size > 0) placed[graph] = [...kinds].sort();
  }
  rmSync(loaded.profileDir, { recursive: true, force: true });
  return placed;
}

/**
 * Why `provider` cannot run on this machine, found without trying it (a failed try makes onnxruntime print native
 * errors), or undefined when it may. The CUDA provider needs its libraries beside onnxruntime-node's binding
 * (installed only on request) and an NVIDIA driver.
 */
function unavailableReason(provider: ExecutionProvider, inBuild: ReadonlySet<string>): string | undefined {
  if (!inBuild.has(provider)) return "not in this onnxruntime-node build";
  if (provider !== "cuda" || process.platform !== "linux") return undefined;
  const binding = join(dirname(createRequire(import.meta.url).resolve("onnxruntime-node")), "..", "bin", "napi-v6", "linux", process.arch);
  if (!existsSync(join(binding, "libonnxruntime_providers_cuda.so"))) {
    return "its libraries are not installed (ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci, as the Docker image does)";
  }
  if (!existsSync("/proc/driver/nvidia/version")) return "no NVIDIA driver on this machine";
  return undefined;
}

/** Loads every graph the service runs for `dtype`, choosing each one's provider as configured. */
export async function loadSessions(
  dir: string,
  manifest: Manifest,
  dtype: ModelDtype,
  options: SessionOptions,
  log: Logger,
): Promise<LoadedSessions> {
  const inBuild = new Set(ort.listSupportedBackends().map((backend) => backend.name));
  const unavailable = new Map(
    options.providers.flatMap((provider) => {
      const reason = unavailableReason(provider, inBuild);
      return reason === undefined ? [] : [[provider, reason] as const];
    }),
  );
  if (unavailable.size > 0) log.info("execution providers not available here, skipped", Object.fromEntries(unavailable));
  const sessions: GraphSessions = {};
  const providers: LoadedSessions["providers"] = {};
  const profileDir = mkdtempSync(join(tmpdir(), "gpu-service-placement-"));
  for (const graph of servedGraphsOf(manifest.kind)) {
    const file = graphFileName(graph, dtype);
    const kvProvider = graph !== "decoder_serving" && KV_GRAPHS.includes(graph) ? providers.decoder_serving : undefined;
    const candidates: readonly ExecutionProvider[] = HOST_GRAPHS.includes(graph) ? ["cpu"] : kvProvider ? [kvProvider] : options.providers;
    const failures: string[] = [];
    for (const provider of candidates) {
      const reason = unavailable.get(provider);
      if (reason !== undefined) {
        failures.push(`${provider}: ${reason}`);
        continue;
      }
      try {
        sessions[graph] = await ort.InferenceSession.create(
          join(dir, file),
          sessionOptions(graph, provider, manifest, options, profileDir),
        );
        providers[graph] = provider;
        break;
      } catch (error) {
        failures.push(`${provider}: ${(error as Error).message.split("\n")[0]}`);
      }
    }
    if (!sessions[graph]) throw new Error(`${file}: no execution provider could load it (${failures.join("; ")})`);
    // A provider skipped as unavailable was reported once above; a fallback from one that failed to load is news.
    const failed = failures.filter((failure) => !unavailable.has(failure.slice(0, failure.indexOf(":")) as ExecutionProvider));
    if (failed.length > 0) log.warn("execution provider fallback", { graph, provider: providers[graph], tried: failed });
  }
  return { sessions, providers, profileDir };
}
