// `npm run bench [-- NAME...]`: the project's benchmarks, never part of `npm test`.
import { conversionBenchmark, graphLatencyBenchmark } from "./converter.ts";
import { preprocessBenchmark } from "./edge-preprocess.ts";
import { tokenizeBenchmark } from "./edge-tokenize.ts";
import {
  concurrencyBenchmark,
  decodeContextBenchmark,
  encoderCacheBenchmark,
  prefillGapBenchmark,
  prefixReuseBenchmark,
} from "./gpu-service.ts";
import { linkBenchmark } from "./link.ts";
import { repeatImageBenchmark } from "./repeat-image.ts";
import { replicaAffinityBenchmark } from "./replicas.ts";
import { type BenchmarkResult, formatResult } from "./report.ts";
import { samplerBenchmark } from "./sampling.ts";

const benchmarks: Record<string, () => Promise<BenchmarkResult>> = {
  link: () => linkBenchmark(),
  convert: () => conversionBenchmark(),
  "graph-latency": () => graphLatencyBenchmark(),
  "decode-context": () => decodeContextBenchmark(),
  concurrency: () => concurrencyBenchmark(),
  "prefill-gap": () => prefillGapBenchmark(),
  "encoder-cache": () => encoderCacheBenchmark(),
  "prefix-reuse": () => prefixReuseBenchmark(),
  preprocess: () => preprocessBenchmark(),
  tokenize: () => tokenizeBenchmark(),
  "repeat-image": () => repeatImageBenchmark(),
  "replica-affinity": () => replicaAffinityBenchmark(),
  sampler: async () => samplerBenchmark(),
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
