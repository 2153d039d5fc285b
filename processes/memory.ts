// Memory of the system's processes as Linux reports it (/proc): what the reliability tests and the soak watch.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

/** Resident set size of a process in bytes (VmRSS of /proc/<pid>/status), or undefined once it is gone. */
export function rssBytes(pid: number): number | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return match ? Number(match[1]) * 1024 : undefined;
}

type ProcessEntry = { pid: number; parent: number; name: string };

/** pid, parent pid and command name of every process, from /proc/<pid>/stat. */
function processTable(): ProcessEntry[] {
  const entries: ProcessEntry[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue; // exited while listing
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split at the last ")".
    const close = stat.lastIndexOf(")");
    const fields = stat.slice(close + 2).split(" ");
    entries.push({ pid: Number(name), parent: Number(fields[1]), name: stat.slice(stat.indexOf("(") + 1, close) });
  }
  return entries;
}

/** Every descendant of `pid` (children, their children, ...), optionally only those whose command is `name`. */
export function descendantPids(pid: number, name?: string): number[] {
  const table = processTable();
  const found: ProcessEntry[] = [];
  let frontier = [pid];
  while (frontier.length > 0) {
    const children = table.filter((entry) => frontier.includes(entry.parent));
    found.push(...children);
    frontier = children.map((entry) => entry.pid);
  }
  return found.filter((entry) => name === undefined || entry.name === name).map((entry) => entry.pid);
}

/** Summed RSS of `pids` in bytes (processes already gone count 0). */
export function totalRssBytes(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (rssBytes(pid) ?? 0), 0);
}

/** Summed RSS of the workerd processes a `wrangler dev` process runs, in bytes. */
export function workerdRssBytes(wranglerPid: number): number {
  return totalRssBytes(descendantPids(wranglerPid, "workerd"));
}

/**
 * The workerd process that runs a `wrangler dev`'s Worker: wrangler runs two, its proxy in front and the Worker's
 * runtime, which alone has an inspector (wrangler's debugger connection).
 */
export function workerdRuntimePid(wranglerPid: number): number {
  const pid = descendantPids(wranglerPid, "workerd").find((candidate) =>
    readFileSync(`/proc/${candidate}/cmdline`, "utf8").includes("--inspector-addr"),
  );
  if (pid === undefined) throw new Error("wrangler dev runs no workerd process with an inspector (the Worker's runtime)");
  return pid;
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
