// `npm run edge:assets -- --model-dir DIR [--siglip]`: the model files the edge Worker serves itself, into
// wrangler.toml's [assets] directory, before `wrangler deploy`.
import { join } from "node:path";
import { parseArgs } from "node:util";
import { EDGE_ASSETS_DIR, prepareEdgeAssets, ROOT } from "../processes/index.ts";

const { values } = parseArgs({ options: { "model-dir": { type: "string" }, siglip: { type: "boolean", default: false } } });
if (!values["model-dir"]) {
  console.error("usage: npm run edge:assets -- --model-dir DIR [--siglip]");
  process.exit(2);
}
await prepareEdgeAssets(values["model-dir"], join(ROOT, EDGE_ASSETS_DIR), { siglip: values.siglip });
console.log(`edge assets ready in ${EDGE_ASSETS_DIR}`);
