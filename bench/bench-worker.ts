// The benchmarks' Worker (bench/worker/) in workerd, driven from Node: requests timed from outside, and the
// workerd process's memory as Linux reports it.
import { type Running, startEdge, workerdRuntimePid } from "../processes/index.ts";

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
  let workerdPid: number;
  try {
    workerdPid = workerdRuntimePid(worker.process.pid!);
  } catch (error) {
    await worker.stop();
    throw error;
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
