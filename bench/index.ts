// `npm run bench [-- NAME...]`: the project's benchmarks, never part of `npm test`.
import { linkBenchmark } from "./link.ts";
import { formatResult, type BenchmarkResult } from "./report.ts";

const benchmarks: Record<string, () => Promise<BenchmarkResult>> = {
  link: () => linkBenchmark(),
};

const selected = process.argv.slice(2);
for (const name of selected) {
  if (!(name in benchmarks)) {
    console.error(`unknown benchmark "${name}"; known: ${Object.keys(benchmarks).join(", ")}`);
    process.exit(2);
  }
}
for (const [name, run] of Object.entries(benchmarks)) {
  if (selected.length > 0 && !selected.includes(name)) continue;
  console.log(formatResult(await run()));
  console.log();
}
