// `npm start`: the whole system on this machine — the GPU service (or `--gpu-replicas N` of them) on the embedded
// default model (a tiny random checkpoint generated and converted on first run) and the edge Worker in workerd,
// routing across the replicas. A start that cannot complete stops what it started and says why in one sentence.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ensureDefaultModel } from "../converter/index.ts";
import { EDGE_ASSETS_DIR, prepareEdgeAssets, ROOT, type Running, startEdge, startGpuService } from "../processes/index.ts";

/** Why the start failed, in one sentence for the user (the processes' own output is above it). */
class StartError extends Error {}

const { values } = parseArgs({
  options: {
    "model-dir": { type: "string" },
    "gpu-port": { type: "string", default: "8600" },
    "gpu-replicas": { type: "string", default: "1" },
    "edge-port": { type: "string", default: "8787" },
  },
});

/** Local secrets live in .dev.vars (git-ignored; wrangler dev reads it too), made once with random values. */
function localSecrets(): Record<string, string> {
  const path = join(ROOT, ".dev.vars");
  if (!existsSync(path)) {
    const token = () => randomBytes(24).toString("hex");
    writeFileSync(path, `GPU_SERVICE_SECRET=${token()}\nAPI_KEYS=sk-local-${token()}\nADMIN_API_KEY=${token()}\n`, { mode: 0o600 });
    console.log("created .dev.vars with local secrets (git-ignored)");
  }
  const entries = readFileSync(path, "utf8")
    .split("\n")
    .map((line) => /^\s*([A-Z_][A-Z0-9_]*)\s*=\s*"?(.*?)"?\s*$/.exec(line))
    .filter((match) => match !== null)
    .map((match) => [match[1]!, match[2]!] as const);
  return Object.fromEntries(entries);
}

function integerFlag(name: "gpu-port" | "gpu-replicas" | "edge-port", min: number, max: number): number {
  const value = Number(values[name]);
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new StartError(`--${name} must be an integer from ${min} to ${max}`);
  return value;
}

/** Refuses a port something else holds before anything starts, naming the flag that moves it. */
async function checkPortFree(port: number, what: string, flag: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once("error", () =>
      reject(new StartError(`port ${port} (${what}) is in use: stop what holds it or choose another with ${flag}`)),
    );
    server.listen(port, "127.0.0.1", () => server.close(() => resolve()));
  });
}

const running: Running[] = [];
const stopAll = () => Promise.all(running.map((started) => started.stop()));

async function start(): Promise<void> {
  const replicas = integerFlag("gpu-replicas", 1, 16);
  const gpuPort = integerFlag("gpu-port", 1, 65535 - 2 * replicas);
  const edgePort = integerFlag("edge-port", 1, 65535);
  // Replica i listens on gpu-port + 2i (HTTP/1.1) and the port after it (gRPC).
  const gpuPorts = Array.from({ length: replicas }, (_, i) => [gpuPort + 2 * i, gpuPort + 2 * i + 1] as const);
  for (const [http, grpc] of gpuPorts) {
    await checkPortFree(http, "a GPU service", "--gpu-port");
    await checkPortFree(grpc, "a GPU service's gRPC", "--gpu-port");
  }
  await checkPortFree(edgePort, "the edge", "--edge-port");

  const secrets = localSecrets();
  if (!secrets.GPU_SERVICE_SECRET) throw new StartError(".dev.vars has no GPU_SERVICE_SECRET: delete the file to have it made again");
  let modelDir = values["model-dir"];
  if (modelDir === undefined) {
    modelDir = join(ROOT, ".cache/default-model");
    console.log("preparing the embedded default model (first run: generate + convert a tiny checkpoint)...");
    const manifest = await ensureDefaultModel(modelDir);
    console.log(`default model: ${manifest.name} (revision ${manifest.revision.slice(0, 12)})`);
  }
  await prepareEdgeAssets(modelDir, join(ROOT, EDGE_ASSETS_DIR)).catch((error: unknown) => {
    throw new StartError(
      `the model directory ${modelDir} cannot be served (${(error as Error).message.split("\n")[0]}): check --model-dir`,
    );
  });

  const launches = await Promise.allSettled(
    gpuPorts.map(([port, grpcPort]) =>
      startGpuService({ port, grpcPort, secret: secrets.GPU_SERVICE_SECRET!, env: { MODEL_DIR: modelDir }, echo: true }),
    ),
  );
  for (const launch of launches) if (launch.status === "fulfilled") running.push(launch.value);
  const failed = launches.find((launch) => launch.status === "rejected");
  if (failed) throw new StartError(`a GPU service did not start (${String(failed.reason).split("\n")[0]})`);
  const gpus = launches.flatMap((launch) => (launch.status === "fulfilled" ? [launch.value] : []));
  for (const gpu of gpus) {
    // Up, but without a model the system cannot answer: say so now, not on the first request.
    const ready = await fetch(`${gpu.url}/readyz`);
    if (!ready.ok) {
      const { message } = (await ready.json()) as { message?: string };
      throw new StartError(`the GPU service has no model (${message ?? ready.status}): check --model-dir`);
    }
  }
  const edge = await startEdge(
    replicas === 1 ? { GPU_SERVICE_URL: gpus[0]!.url } : { GPU_SERVICE_URLS: gpus.map((gpu) => gpu.url).join(",") },
    { port: edgePort, echo: true, persistTo: join(ROOT, ".wrangler/state") },
  );
  running.push(edge);

  const gpuLines = gpus.map((gpu, i) => `  GPU service${replicas === 1 ? "" : ` ${i}`}  ${gpu.url}  (gRPC on 127.0.0.1:${gpu.grpcPort})`);
  const apiKey = secrets.API_KEYS?.split(",")[0];
  console.log(`
  ready.
${gpuLines.join("\n")}
  edge API     ${edge.url}
  API key      ${apiKey ?? "(none: set API_KEYS in .dev.vars)"}

  try:  export API_KEY=${apiKey ?? "..."}
        curl -s ${edge.url}/v1/models -H "authorization: Bearer $API_KEY"
  Ctrl-C stops them all.
`);
}

const stopAndExit = async (code: number) => {
  await stopAll();
  process.exit(code);
};
process.on("SIGINT", () => void stopAndExit(0));
process.on("SIGTERM", () => void stopAndExit(0));
try {
  await start();
} catch (error) {
  await stopAll();
  const reason = error instanceof StartError ? error.message : `${(error as Error).message.split("\n")[0]}`;
  console.error(`\nnpm start failed: ${reason}`);
  process.exit(error instanceof StartError ? 2 : 1);
}
