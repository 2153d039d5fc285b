// node converter/cli/default-model.ts [DIR] [--kind hybrid|siglip]: generates and converts the tiny default
// model on first run (no download); prints the model directory.
import { parseArgs } from "node:util";
import { ensureDefaultModel } from "../default-model.ts";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { kind: { type: "string", default: "hybrid" } } });
const dir = positionals[0] ?? "models/deepseek-vl-tiny";
if (values.kind !== "hybrid" && values.kind !== "siglip") {
  console.error("usage: node converter/cli/default-model.ts [DIR] [--kind hybrid|siglip]");
  process.exitCode = 2;
} else {
  ensureDefaultModel(dir, { kind: values.kind }).then(
    (manifest) => console.log(`${dir}: ${manifest.name} (${manifest.revision.slice(0, 12)})`),
    (error: Error) => {
      console.error(`default-model: ${error.name}: ${error.message}`);
      process.exitCode = 1;
    },
  );
}
