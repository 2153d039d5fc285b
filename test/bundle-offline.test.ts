// `npm run bundle:offline` builds an archive that serves a model on a host with no Node: unpacked into an
// empty folder and started with nothing but a shell's basic tools on PATH.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, type Running, randomSecret, startGpuService } from "../processes/index.ts";
import { FinishReason, type GenerateRequest } from "../shared/gen/deepseek_vl/v1/inference_pb.js";
import { collectGenerate } from "./support/generate-calls.ts";
import { gpuClients } from "./support/gpu-client.ts";
import { tinyModel } from "./support/models.ts";

const scratch = mkdtempSync(join(tmpdir(), "bundle-offline-"));
const archive = join(scratch, "bundle.tar.xz");
const secret = randomSecret();
let gpu: Running;

beforeAll(async () => {
  const { dir } = await tinyModel("siglip");
  execFileSync(join(ROOT, "node_modules/.bin/node"), ["scripts/bundle-offline.ts", "--out", archive], { cwd: ROOT, stdio: "pipe" });
  const host = join(scratch, "host");
  execFileSync("mkdir", [host]);
  execFileSync("tar", ["-C", host, "-xJf", archive]);
  // PATH: only the tools the start script uses, so no `node` can be found.
  const bin = join(scratch, "bin");
  execFileSync("mkdir", [bin]);
  for (const tool of ["sh", "dirname", "grep"])
    symlinkSync(
      execFileSync("sh", ["-c", `command -v ${tool}`])
        .toString()
        .trim(),
      join(bin, tool),
    );
  gpu = await startGpuService({
    secret,
    executable: join(host, "deepseek-vl-gpu-service/start"),
    env: { PATH: bin, MODEL_DIR: dir, GPU_SERVICE_EXECUTION_PROVIDERS: "cpu" },
  });
}, 600_000);
afterAll(async () => {
  await gpu?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe("the offline bundle", () => {
  it("is at most 60 MiB", () => {
    expect(statSync(archive).size).toBeLessThanOrEqual(60 * 1024 * 1024);
  });

  it("serves the model from an empty folder with no node on PATH", async () => {
    const health = (await (await fetch(`${gpu.url}/healthz`)).json()) as { status: string };
    expect(health.status).toBe("serving");
    const { manifest } = await tinyModel("siglip");
    const result = await collectGenerate(gpuClients(gpu.url, secret).inference, {
      requestId: "bundle",
      inputIds: [manifest.tokens.bos, 300, 301],
      images: [],
      sampling: { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, maxNewTokens: 4 },
    } as unknown as GenerateRequest);
    expect(result.tokens).toHaveLength(4);
    expect(result.finished.reason).toBe(FinishReason.LENGTH);
  });
});
