import { join } from "node:path";
import { ensureDefaultModel } from "../../converter/index.ts";
import { ROOT } from "../../processes/index.ts";
import type { Manifest } from "../../shared/manifest/index.ts";

/** A tiny converted model set (generated once, reused by every test file; git-ignored). */
export async function tinyModel(kind: "hybrid" | "siglip"): Promise<{ dir: string; manifest: Manifest }> {
  const dir = join(ROOT, ".cache/test-models", kind);
  return { dir, manifest: await ensureDefaultModel(dir, { kind }) };
}
