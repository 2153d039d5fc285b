import { type Manifest, parseManifest } from "../../shared/manifest/index.ts";
import { ApiError } from "../errors.ts";
import { type ChatTokenizer, TokenizerCache, tokenFacts } from "../prompt/index.ts";

/** What the edge needs of the model directory: its manifest and its tokenizer. */
export type EdgeModel = { manifest: Manifest; tokenizer: ChatTokenizer };

/**
 * The model files read from the Worker's static assets (not bundled: tokenizer.json alone is megabytes).
 * An isolate keeps one: the manifest is read once (again after a failure), the tokenizer once per model revision.
 */
export class EdgeModelCache {
  #manifest: Promise<Manifest> | undefined;
  readonly #tokenizers = new TokenizerCache();

  async load(assets: Fetcher | undefined, path: string): Promise<EdgeModel> {
    if (!assets) throw new ApiError(500, "edge_misconfigured", "The edge has no ASSETS binding holding the model files");
    this.#manifest ??= readAsset(assets, `${path}/manifest.json`).then(parseManifest);
    let manifest: Manifest;
    try {
      manifest = await this.#manifest;
    } catch (error) {
      this.#manifest = undefined;
      if (error instanceof ApiError) throw error;
      throw new ApiError(500, "edge_misconfigured", `The model manifest is invalid: ${(error as Error).message}`);
    }
    const readTokenizer = () => readAsset(assets, `${path}/${manifest.tokenizer}`);
    const tokenizer = await this.#tokenizers.load(manifest.revision, readTokenizer, tokenFacts(manifest));
    return { manifest, tokenizer };
  }
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
