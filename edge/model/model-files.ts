import { parseManifest, type Manifest } from "../../shared/manifest/index.ts";
import { ChatTokenizer, loadTokenizer, tokenFacts } from "../prompt/index.ts";
import { ApiError } from "../errors.ts";

/** What the edge needs of the model directory: its manifest and its tokenizer. */
export type EdgeModel = { manifest: Manifest; tokenizer: ChatTokenizer };

let manifestPromise: Promise<Manifest> | undefined;

/**
 * Reads the model files from the Worker's static assets (not bundled: tokenizer.json alone is
 * megabytes). The manifest is read once per isolate; the tokenizer once per model revision.
 */
export async function loadEdgeModel(assets: Fetcher | undefined, path: string): Promise<EdgeModel> {
  if (!assets) throw new ApiError(500, "edge_misconfigured", "The edge has no ASSETS binding holding the model files");
  manifestPromise ??= readAsset(assets, `${path}/manifest.json`).then(parseManifest);
  let manifest: Manifest;
  try {
    manifest = await manifestPromise;
  } catch (error) {
    manifestPromise = undefined;
    throw error instanceof ApiError ? error : new ApiError(500, "edge_misconfigured", `The model manifest is invalid: ${(error as Error).message}`);
  }
  const tokenizer = await loadTokenizer(manifest.revision, () => readAsset(assets, `${path}/${manifest.tokenizer}`), tokenFacts(manifest));
  return { manifest, tokenizer };
}

/** A model file's bytes, for files the edge runs itself (the SigLIP encoder in `edge` placement). */
export async function readModelAsset(assets: Fetcher | undefined, path: string, file: string): Promise<ArrayBuffer> {
  if (!assets) throw new ApiError(500, "edge_misconfigured", "The edge has no ASSETS binding holding the model files");
  const response = await assets.fetch(`https://assets.local${path}/${file}`);
  if (!response.ok) throw new ApiError(500, "edge_misconfigured", `The model file ${file} is missing from the assets (${response.status})`);
  return response.arrayBuffer();
}

async function readAsset(assets: Fetcher, path: string): Promise<string> {
  const response = await assets.fetch(`https://assets.local${path}`);
  if (!response.ok) throw new ApiError(500, "edge_misconfigured", `The model file ${path} is missing from the assets (${response.status})`);
  return response.text();
}
