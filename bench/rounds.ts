import { median } from "./median.ts";

/**
 * Every case's figures over `rounds` rounds that run each case in turn, after one warm-up run of each: load
 * from other work on a shared machine then falls on all cases alike.
 */
export async function interleavedRounds<K extends string>(
  rounds: number,
  cases: Record<K, () => Promise<number>>,
): Promise<Record<K, number[]>> {
  const entries = Object.entries(cases) as [K, () => Promise<number>][];
  for (const [, run] of entries) await run();
  const figures = Object.fromEntries(entries.map(([name]) => [name, [] as number[]])) as Record<K, number[]>;
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of entries) figures[name].push(await run());
  }
  return figures;
}

/**
 * One iteration's cost from round trips that ran the work once and `iterations` times: the median over rounds
 * of (T(iterations) - T(1)) / (iterations - 1), so the HTTP exchange and everything else done once cancels out.
 */
export function perIteration(once: readonly number[], many: readonly number[], iterations: number): number {
  if (once.length !== many.length || iterations < 2) throw new Error("perIteration needs paired rounds and at least 2 iterations");
  return median(once.map((t1, i) => (many[i]! - t1) / (iterations - 1)));
}
