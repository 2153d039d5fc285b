// npm run convert -- <checkpoint-dir> <model-dir> [--dtype fp32|fp16|fp32,fp16] [--name NAME] [--overwrite]
//                    [--external-data-threshold BYTES]
import { parseArgs } from "node:util";
import { MODEL_DTYPES, type ModelDtype } from "../../shared/manifest/index.ts";
import { convertCheckpoint } from "../convert.ts";
import { progressPrinter } from "./progress.ts";

const usage =
  "usage: npm run convert -- <checkpoint-dir> <model-dir> [--dtype fp32|fp16|fp32,fp16] [--name NAME] [--overwrite] [--external-data-threshold BYTES]";

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      dtype: { type: "string", default: "fp32" },
      name: { type: "string" },
      overwrite: { type: "boolean", default: false },
      "external-data-threshold": { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help || positionals.length !== 2) {
    console.error(usage);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const dtypes = values.dtype.split(",").map((d) => d.trim());
  for (const dtype of dtypes)
    if (!(MODEL_DTYPES as readonly string[]).includes(dtype)) throw new Error(`--dtype ${dtype}: expected fp32 or fp16`);
  const threshold = values["external-data-threshold"];
  const [checkpointDir, modelDir] = positionals as [string, string];
  const started = Date.now();
  const manifest = await convertCheckpoint(checkpointDir, modelDir, {
    dtypes: dtypes as ModelDtype[],
    name: values.name,
    overwrite: values.overwrite,
    externalDataThreshold: threshold === undefined ? undefined : Number(threshold),
    onProgress: progressPrinter(),
  });
  console.log(
    `${modelDir}: ${manifest.kind} model ${manifest.name}, ${manifest.dtypes.join("+")}, revision ${manifest.revision.slice(0, 12)} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
}

main().catch((error: Error) => {
  console.error(`convert: ${error.name}: ${error.message}`);
  process.exitCode = 1;
});
