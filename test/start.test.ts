// `npm start` when it cannot complete: it stops every process it started, exits non-zero within seconds, and says
// why in one sentence naming the flag to change.
import { spawn } from "node:child_process";
import { copyFile, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { freePort, ROOT } from "../processes/index.ts";
import { tinyModel } from "./support/models.ts";

/** Runs `node scripts/start.ts ARGS` to its exit: its code, output and how long it took. */
function runStart(args: string[]): Promise<{ code: number | null; output: string; ms: number }> {
  const started = performance.now();
  const child = spawn(`${ROOT}node_modules/.bin/node`, ["scripts/start.ts", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.once("exit", (code) => resolve({ code, output, ms: performance.now() - started })));
}

/** Processes (of this user) whose environment names one of `ports` as a GPU service or edge port: what a start left behind. */
async function processesOn(ports: number[]): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const environ = await readFile(`/proc/${entry}/environ`, "utf8").catch(() => "");
    const cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    const named = ports.some((port) => environ.includes(`GPU_SERVICE_PORT=${port}\u0000`) || cmdline.includes(`\u0000${port}\u0000`));
    if (named) found.push(Number(entry));
  }
  return found;
}

const hold = async (port: number): Promise<Server> => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return server;
};

describe("npm start that cannot complete", () => {
  it("refuses a taken edge port at once, naming --edge-port, and starts nothing", async () => {
    const { dir } = await tinyModel("hybrid");
    const [gpuPort, edgePort] = [await freePort(), await freePort()];
    const taken = await hold(edgePort);
    try {
      const result = await runStart(["--model-dir", dir, "--gpu-port", String(gpuPort), "--edge-port", String(edgePort)]);
      expect(result.code).toBe(2);
      expect(result.ms).toBeLessThan(15_000);
      expect(result.output).toContain(`port ${edgePort} (the edge) is in use`);
      expect(result.output).toContain("--edge-port");
      expect(await processesOn([gpuPort, edgePort])).toEqual([]);
    } finally {
      taken.close();
    }
  });

  it("refuses a taken GPU service port, naming --gpu-port", async () => {
    const { dir } = await tinyModel("hybrid");
    const [gpuPort, edgePort] = [await freePort(), await freePort()];
    const taken = await hold(gpuPort);
    try {
      const result = await runStart(["--model-dir", dir, "--gpu-port", String(gpuPort), "--edge-port", String(edgePort)]);
      expect(result.code).toBe(2);
      expect(result.output).toContain("--gpu-port");
    } finally {
      taken.close();
    }
  });

  it("stops the GPU service it started when the model does not load, naming --model-dir", async () => {
    // The edge's files (manifest, tokenizer) without the graphs: the GPU service starts and finds no model.
    const { dir } = await tinyModel("hybrid");
    const broken = await mkdtemp(join(tmpdir(), "broken-model-"));
    try {
      for (const file of ["manifest.json", "tokenizer.json"]) await copyFile(join(dir, file), join(broken, file));
      const [gpuPort, edgePort] = [await freePort(), await freePort()];
      const result = await runStart(["--model-dir", broken, "--gpu-port", String(gpuPort), "--edge-port", String(edgePort)]);
      expect(result.code).toBe(2);
      expect(result.output).toContain("the GPU service has no model");
      expect(result.output).toContain("--model-dir");
      // It had started: its configuration was printed, and it is gone.
      expect(result.output).toContain(`127.0.0.1:${gpuPort}`);
      expect(await processesOn([gpuPort, edgePort])).toEqual([]);
    } finally {
      await rm(broken, { recursive: true, force: true });
    }
  });
});
