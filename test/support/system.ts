// The whole system on loopback for cross-component tests: the GPU service process (or several replicas) on the
// tiny converted model (CPU) and the edge Worker in workerd (`wrangler dev`), with the given edge vars.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { prepareEdgeAssets, type Running, randomSecret, startEdge, startGpuService } from "../../processes/index.ts";
import type { Manifest } from "../../shared/manifest/index.ts";
import { tinyModel } from "./models.ts";

export type TestSystem = {
  edge: Running & { inspectorPort: number };
  /** The first GPU service replica. */
  gpu: Running;
  /** Every replica, in the edge's GPU_SERVICE_URLS order. */
  gpus: Running[];
  model: { dir: string; manifest: Manifest };
  /** A client API key the edge accepts. */
  apiKey: string;
  /** The secret the edge and the GPU service share (for direct calls to the service). */
  secret: string;
  stop(): Promise<void>;
};

export async function startTestSystem(
  options: {
    kind?: "hybrid" | "siglip";
    /** GPU service replicas behind the edge (GPU_SERVICE_URLS); unset: one, named by GPU_SERVICE_URL. */
    replicas?: number;
    edgeVars?: Record<string, string>;
    gpuEnv?: Record<string, string>;
    /** Settings of one replica only, by its index. */
    replicaEnv?: Record<number, Record<string, string>>;
  } = {},
): Promise<TestSystem> {
  const secret = randomSecret();
  const apiKey = `sk-test-${randomSecret()}`;
  const model = await tinyModel(options.kind ?? "hybrid");
  const assets = await mkdtemp(join(tmpdir(), "edge-assets-"));
  const started: Running[] = [];
  const stop = async () => {
    await Promise.all(started.map((process) => process.stop()));
    await rm(assets, { recursive: true, force: true });
  };
  try {
    await prepareEdgeAssets(model.dir, assets);
    const env = { MODEL_DIR: model.dir, GPU_SERVICE_EXECUTION_PROVIDERS: "cpu", ...options.gpuEnv };
    const launches = await Promise.allSettled(
      Array.from({ length: options.replicas ?? 1 }, (_, i) => startGpuService({ secret, env: { ...env, ...options.replicaEnv?.[i] } })),
    );
    for (const launch of launches) if (launch.status === "fulfilled") started.push(launch.value);
    for (const launch of launches) if (launch.status === "rejected") throw launch.reason;
    const gpus = started.slice();
    const addresses: Record<string, string> =
      options.replicas === undefined ? { GPU_SERVICE_URL: gpus[0]!.url } : { GPU_SERVICE_URLS: gpus.map((gpu) => gpu.url).join(",") };
    const edge = await startEdge(
      { ...addresses, GPU_SERVICE_SECRET: secret, API_KEYS: apiKey, ...options.edgeVars },
      { assetsDir: assets },
    );
    started.push(edge);
    return { edge, gpu: gpus[0]!, gpus, model, apiKey, secret, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
