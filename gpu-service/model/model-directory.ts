import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { graphFileName, graphsOf, type Manifest, parseManifest } from "../../shared/manifest/index.ts";

/** A model directory whose manifest is valid and whose graph files are all present. */
export type ModelDirectory = {
  path: string;
  manifest: Manifest;
  manifestJson: string;
};

export class ModelDirectoryError extends Error {
  override name = "ModelDirectoryError";
}

/** Reads `manifest.json` of a converted model set and checks that every graph it promises exists. */
export async function openModelDirectory(path: string): Promise<ModelDirectory> {
  let manifestJson: string;
  try {
    manifestJson = await readFile(join(path, "manifest.json"), "utf8");
  } catch (error) {
    throw new ModelDirectoryError(`${path}: cannot read manifest.json (${(error as NodeJS.ErrnoException).code ?? error})`);
  }
  let manifest: Manifest;
  try {
    manifest = parseManifest(manifestJson);
  } catch (error) {
    throw new ModelDirectoryError(`${path}: ${(error as Error).message}`);
  }
  const files = manifest.dtypes.flatMap((dtype) => graphsOf(manifest.kind).map((graph) => graphFileName(graph, dtype)));
  files.push(manifest.tokenizer);
  for (const file of files) {
    try {
      await access(join(path, file));
    } catch {
      throw new ModelDirectoryError(`${path}: ${file} is missing (the manifest lists it)`);
    }
  }
  return { path, manifest, manifestJson };
}
