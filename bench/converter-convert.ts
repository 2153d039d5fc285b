// node bench/converter-convert.ts <checkpoint-dir> <model-dir> [--dtype fp32|fp16]: converts and reports time,
// peak RSS and the largest checkpoint tensor against the goal peak RSS <= 1.5 x largest tensor + 512 MiB.
// Make a full-size-vision checkpoint first with: npm run fixture -- --kind hybrid --out <dir>
import { parseArgs } from "node:util";
import { Checkpoint, convertCheckpoint } from "../converter/index.ts";
import type { ModelDtype } from "../shared/manifest/index.ts";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { dtype: { type: "string", default: "fp32" } } });
const [source, target] = positionals;
if (!source || !target) throw new Error("usage: node bench/converter-convert.ts <checkpoint-dir> <model-dir> [--dtype fp32|fp16]");
const checkpoint = await Checkpoint.open(source);
const largest = Math.max(...[...checkpoint.tensors.values()].map((t) => t.byteLength));
const total = [...checkpoint.tensors.values()].reduce((sum, t) => sum + t.byteLength, 0);
await checkpoint.close();
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const started = performance.now();
await convertCheckpoint(source, target, { dtypes: values.dtype.split(",") as ModelDtype[], overwrite: true });
const seconds = (performance.now() - started) / 1000;
const peak = process.resourceUsage().maxRSS * 1024;
const goal = 1.5 * largest + 512 * 2 ** 20;
console.log(`checkpoint ${mib(total)}, largest tensor ${mib(largest)}`);
console.log(`conversion ${seconds.toFixed(1)} s, peak RSS ${mib(peak)} (goal <= ${mib(goal)}: ${peak <= goal ? "met" : "missed"})`);
