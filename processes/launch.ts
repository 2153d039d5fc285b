// Starts the system's real processes on loopback: for `npm start`, the benchmarks and the cross-component tests.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { EDGE_ASSETS_DIR } from "./edge-assets.ts";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = `${ROOT}node_modules/.bin`;

export type Running = {
  process: ChildProcess;
  url: string;
  port: number;
  /** Everything the process printed so far. */
  output(): string;
  /** SIGTERM, then waits for the exit; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
};

/** A port free right now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export function randomSecret(): string {
  return randomBytes(24).toString("hex");
}

type LaunchOptions = { env: Record<string, string>; ready: RegExp; timeoutMs: number; echo?: string | undefined };

function launch(command: string, args: string[], { env, ready, timeoutMs, echo }: LaunchOptions) {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, PATH: `${BIN}:${process.env.PATH}`, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const started = new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} did not start within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (echo !== undefined) process.stdout.write(chunk.toString().replace(/^(?=.)/gm, `${echo} `));
      const match = ready.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code} before it was ready:\n${output}`));
    });
  });
  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // already gone
      }
    }
    return exited;
  };
  return { child, started, exited, stop, output: () => output };
}

export type GpuServiceOptions = {
  port?: number;
  grpcPort?: number;
  secret: string;
  env?: Record<string, string>;
  /** Copy the process's output to this process's stdout, each line prefixed. */
  echo?: boolean;
  /** Run this executable (e.g. an unpacked offline bundle's `start`) instead of this checkout's service. */
  executable?: string;
};

/** The GPU service as a real process (`node gpu-service/main.ts`). */
export async function startGpuService(options: GpuServiceOptions): Promise<Running & { grpcPort: number }> {
  const port = options.port ?? (await freePort());
  const grpcPort = options.grpcPort ?? (await freePort());
  const [command, args] = options.executable ? [options.executable, []] : [`${BIN}/node`, ["gpu-service/main.ts"]];
  const launched = launch(command, args, {
    env: {
      GPU_SERVICE_PORT: String(port),
      GPU_SERVICE_GRPC_PORT: String(grpcPort),
      GPU_SERVICE_SECRET: options.secret,
      ...options.env,
    },
    ready: /"message":"ready"/,
    timeoutMs: 120_000,
    echo: options.echo ? "[gpu] " : undefined,
  });
  await launched.started;
  return { process: launched.child, url: `http://127.0.0.1:${port}`, port, grpcPort, output: launched.output, stop: launched.stop };
}

export type EdgeOptions = {
  port?: number;
  echo?: boolean;
  assetsDir?: string;
  /** Another Worker's wrangler configuration, relative to the root (e.g. the benchmarks' Worker); default: the edge's. */
  config?: string;
  /**
   * Where workerd keeps local state (the Cache API among it). Default: a fresh folder per launch, removed at
   * stop, so a run never sees another run's cached entries.
   */
  persistTo?: string;
};

/** The edge Worker in workerd, through `wrangler dev` (local mode), with the given vars and secrets. */
export async function startEdge(vars: Record<string, string>, options: EdgeOptions = {}): Promise<Running & { inspectorPort: number }> {
  const port = options.port ?? (await freePort());
  const inspectorPort = await freePort();
  const args = [
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--log-level",
    "info",
    "--show-interactive-dev-session=false",
  ];
  if (options.config !== undefined) args.push("--config", options.config);
  // wrangler.toml's [assets] folder must exist even for an edge that serves no model.
  const assetsDir = options.assetsDir ?? (options.config === undefined ? join(ROOT, EDGE_ASSETS_DIR) : undefined);
  if (assetsDir !== undefined) {
    await mkdir(assetsDir, { recursive: true });
    args.push("--assets", assetsDir);
  }
  const scratch = options.persistTo === undefined ? await mkdtemp(join(tmpdir(), "edge-state-")) : undefined;
  args.push("--persist-to", options.persistTo ?? scratch!);
  for (const [name, value] of Object.entries(vars)) args.push("--var", `${name}:${value}`);
  const launched = launch(`${BIN}/wrangler`, args, {
    // Offline by design: Request.cf takes miniflare's built-in values instead of a fetch of cf.json that fails
    // (and prints a stack trace) without network.
    env: { CI: "true", WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
    ready: /Ready on (http:\/\/[^\s]+)/,
    timeoutMs: 90_000,
    echo: options.echo ? "[edge]" : undefined,
  });
  await launched.started;
  const stop = async (signal?: NodeJS.Signals) => {
    const code = await launched.stop(signal);
    if (scratch) await rm(scratch, { recursive: true, force: true });
    return code;
  };
  return { process: launched.child, url: `http://127.0.0.1:${port}`, port, inspectorPort, output: launched.output, stop };
}
