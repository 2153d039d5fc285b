// Pillow for the benchmarks (bench/pillow.py on Debian's python3-pil): the photo they preprocess, and the
// official pipeline's own cost, timed inside one long-lived Python process.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rename } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { ROOT } from "../processes/index.ts";
import type { PREPROCESS_7B } from "./edge-work.ts";
import { BENCH_CACHE } from "./models.ts";

// Debian's interpreter: it has python3-pil and python3-numpy (the default python3 may not).
const PYTHON = "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("./pillow.py", import.meta.url));

let installed = false;

/** Installs python3-pil and python3-numpy when missing, as `npm test` does. */
function ensurePillow(): void {
  if (installed) return;
  const run = spawnSync("bash", ["scripts/debian-packages.sh"], { cwd: ROOT, stdio: "inherit" });
  if (run.status !== 0) throw new Error("the benchmarks need Debian's python3-pil and python3-numpy (scripts/debian-packages.sh failed)");
  installed = true;
}

export type PhotoSpec = { width: number; height: number; seed: number };

/**
 * A photo-like baseline JPEG (quality 90, 4:2:0) stored `width` x `height` with EXIF orientation 6, as a phone
 * held upright writes it: written once by Pillow into .cache/bench/photos/ and reused.
 */
export async function benchPhoto({ width, height, seed }: PhotoSpec): Promise<string> {
  const dir = join(BENCH_CACHE, "photos");
  const path = join(dir, `photo-${width}x${height}-${seed}.jpg`);
  if (existsSync(path)) return path;
  ensurePillow();
  await mkdir(dir, { recursive: true });
  const partial = `${path}.partial`;
  const run = spawnSync(PYTHON, [SCRIPT, "photo", partial, String(width), String(height), String(seed)], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`${SCRIPT} photo exited with ${run.status}: ${run.stderr}`);
  await rename(partial, path);
  return path;
}

export type PillowRun = {
  /** One run, timed inside Python. */
  ms: number;
  width: number;
  height: number;
  /** SHA-256 of the channel-planar uint8 result. */
  sha256: string;
};

export type PillowTimer = {
  /** One timed run of the official preprocessing on the file at `path` (read once, then held in memory). */
  run(path: string, options: typeof PREPROCESS_7B): Promise<PillowRun>;
  close(): Promise<void>;
};

/** A long-lived `pillow.py serve` process: its runs can interleave with the other contenders' rounds. */
export function startPillowTimer(): PillowTimer {
  ensurePillow();
  const child = spawn(PYTHON, [SCRIPT, "serve"], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    async run(path, { imageSize, imageMean }) {
      child.stdin.write(`${path} ${imageSize} ${imageMean.join(" ")}\n`);
      const { value, done } = await lines.next();
      if (done) throw new Error(`${SCRIPT} serve ended: ${stderr}`);
      return JSON.parse(value) as PillowRun;
    },
    async close() {
      child.stdin.end();
      await exited;
    },
  };
}
