// `npm start`: the whole system on this machine — the GPU service (or `--gpu-replicas N` of them) on the embedded
// default model (a tiny random checkpoint generated and converted on first run) and the edge Worker in workerd,
// routing across the replicas.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ensureDefaultModel } from "../converter/index.ts";
import { EDGE_ASSETS_DIR, prepareEdgeAssets, ROOT, type Running, startEdge, startGpuService } from "../processes/index.ts";

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

const secrets = localSecrets();
if (!secrets.GPU_SERVICE_SECRET) throw new Error(".dev.vars has no GPU_SERVICE_SECRET");

let modelDir = values["model-dir"];
if (modelDir === undefined) {
  modelDir = join(ROOT, ".cache/default-model");
  console.log("preparing the embedded default model (first run: generate + convert a tiny checkpoint)...");
  const manifest = await ensureDefaultModel(modelDir);
  console.log(`default model: ${manifest.name} (revision ${manifest.revision.slice(0, 12)})`);
}

await prepareEdgeAssets(modelDir, join(ROOT, EDGE_ASSETS_DIR));

const running: Running[] = [];
const stopAll = async () => {
  await Promise.all(running.map((process) => process.stop()));
  process.exit(0);
};
process.on("SIGINT", stopAll);
process.on("SIGTERM", stopAll);

const replicas = Number(values["gpu-replicas"]);
if (!Number.isSafeInteger(replicas) || replicas < 1 || replicas > 16) throw new Error("--gpu-replicas must be an integer from 1 to 16");
// Replica i listens on gpu-port + 2i (HTTP/1.1) and the port after it (gRPC).
const gpuPort = Number(values["gpu-port"]);
const gpus = await Promise.all(
  Array.from({ length: replicas }, (_, i) =>
    startGpuService({
      port: gpuPort + 2 * i,
      grpcPort: gpuPort + 2 * i + 1,
      secret: secrets.GPU_SERVICE_SECRET!,
      env: { MODEL_DIR: modelDir },
      echo: true,
    }).then((gpu) => {
      running.push(gpu);
      return gpu;
    }),
  ),
);
const edge = await startEdge(
  replicas === 1 ? { GPU_SERVICE_URL: gpus[0]!.url } : { GPU_SERVICE_URLS: gpus.map((gpu) => gpu.url).join(",") },
  { port: Number(values["edge-port"]), echo: true, persistTo: join(ROOT, ".wrangler/state") },
);
running.push(edge);

const gpuLines = gpus.map((gpu, i) => `  GPU service${replicas === 1 ? "" : ` ${i}`}  ${gpu.url}  (gRPC on 127.0.0.1:${gpu.grpcPort})`);
console.log(`
${gpuLines.join("\n")}
  edge API     ${edge.url}  (try: curl ${edge.url}/healthz)
  API key      ${secrets.API_KEYS?.split(",")[0] ?? "(none: set API_KEYS in .dev.vars)"}
  Ctrl-C stops them all.
`);
