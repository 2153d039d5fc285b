import { copyFile, mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { parseManifest } from "../shared/manifest/index.ts";

/** Where wrangler.toml's [assets] directory lives, and the model files' path inside it (MODEL_ASSETS_PATH). */
export const EDGE_ASSETS_DIR = ".cache/edge-assets";
export const MODEL_ASSETS_PATH = "/model";

/**
 * Fills the edge's static-assets folder with what the Worker reads of a model directory: the
 * manifest and the tokenizer, plus the SigLIP graph when the edge computes features itself.
 */
export async function prepareEdgeAssets(modelDir: string, assetsDir: string, options: { siglip?: boolean } = {}): Promise<void> {
  const manifest = parseManifest(await readFile(join(modelDir, "manifest.json"), "utf8"));
  const target = join(assetsDir, MODEL_ASSETS_PATH);
  await rm(target, { recursive: true, force: true });
  await mkdir(target, { recursive: true });
  const files = ["manifest.json", manifest.tokenizer, ...(options.siglip ? ["siglip_encoder.onnx"] : [])];
  for (const file of files) await copyFile(join(modelDir, file), join(target, file));
}
