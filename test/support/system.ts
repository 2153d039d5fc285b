// The whole system on loopback for cross-component tests: the GPU service process on the tiny
// converted model (CPU) and the edge Worker in workerd (`wrangler dev`), with the given edge vars.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { prepareEdgeAssets, type Running, randomSecret, startEdge, startGpuService } from "../../processes/index.ts";
import type { Manifest } from "../../shared/manifest/index.ts";
import { tinyModel } from "./models.ts";

export type TestSystem = {
  edge: Running & { inspectorPort: number };
  gpu: Running;
  model: { dir: string; manifest: Manifest };
  /** A client API key the edge accepts. */
  apiKey: string;
  /** The secret the edge and the GPU service share (for direct calls to the service). */
  secret: string;
  stop(): Promise<void>;
};

export async function startTestSystem(
  options: { kind?: "hybrid" | "siglip"; edgeVars?: Record<string, string>; gpuEnv?: Record<string, string> } = {},
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
    const gpu = await startGpuService({ secret, env: { MODEL_DIR: model.dir, GPU_SERVICE_EXECUTION_PROVIDERS: "cpu", ...options.gpuEnv } });
    started.push(gpu);
    const edge = await startEdge(
      { GPU_SERVICE_URL: gpu.url, GPU_SERVICE_SECRET: secret, API_KEYS: apiKey, ...options.edgeVars },
      { assetsDir: assets },
    );
    started.push(edge);
    return { edge, gpu, model, apiKey, secret, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
