// The benchmarks' Worker (bench/worker/) in workerd, driven from Node: requests timed from outside, and the
// workerd process's memory as Linux reports it.
import { readFileSync, writeFileSync } from "node:fs";
import { descendantPids, type Running, startEdge } from "../processes/index.ts";

export type Timed<T> = { ms: number; body: T };

export type BenchWorker = {
  /** POSTs `body` to `route` (which runs its work `iterations` times) and times the whole round trip. */
  post<T>(route: string, iterations: number, body: Uint8Array | string, contentType?: string): Promise<Timed<T>>;
  /** The workerd process that runs the Worker. */
  workerdPid: number;
  stop(): Promise<number | null>;
};

export async function startBenchWorker(): Promise<BenchWorker> {
  const worker: Running = await startEdge({}, { config: "bench/worker/wrangler.toml" });
  // wrangler dev runs two workerd processes: its proxy in front, and the runtime of the Worker, which alone
  // has an inspector (wrangler's debugger connection).
  const workerdPid = descendantPids(worker.process.pid!, "workerd").find((pid) =>
    readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("--inspector-addr"),
  );
  if (workerdPid === undefined) {
    await worker.stop();
    throw new Error("wrangler dev runs no workerd process with an inspector (the Worker's runtime)");
  }
  return {
    workerdPid,
    stop: worker.stop,
    async post<T>(route: string, iterations: number, body: Uint8Array | string, contentType = "application/octet-stream") {
      const started = performance.now();
      const response = await fetch(`${worker.url}${route}?iterations=${iterations}`, {
        method: "POST",
        headers: { "content-type": contentType },
        body,
      });
      const text = await response.text();
      const ms = performance.now() - started;
      if (!response.ok) throw new Error(`bench Worker ${route}?iterations=${iterations} answered ${response.status}: ${text}`);
      return { ms, body: JSON.parse(text) as T };
    },
  };
}

function statusKiB(pid: number, field: "VmRSS" | "VmHWM"): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!match) throw new Error(`/proc/${pid}/status has no ${field}`);
  return Number(match[1]);
}

/**
 * How far the resident set of `pid` rose above its size at the start while `work` ran: the kernel's peak
 * (VmHWM) is reset first (clear_refs 5), so the figure is this work's peak, not an earlier one.
 */
export async function peakRssGrowthBytes(pid: number, work: () => Promise<unknown>): Promise<number> {
  writeFileSync(`/proc/${pid}/clear_refs`, "5");
  const before = statusKiB(pid, "VmRSS");
  await work();
  return (statusKiB(pid, "VmHWM") - before) * 1024;
}
