import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Manifest, parseCurrentManifest } from "../shared/manifest/index.ts";
import { convertCheckpoint } from "./convert.ts";
import { type FixtureKind, writeFixture } from "./fixture/index.ts";

export interface DefaultModelOptions {
  kind?: FixtureKind;
  seed?: number;
}

/**
 * The embedded default model: a tiny random checkpoint generated and converted on first use, so the whole
 * system runs on a fresh machine without any download. Returns the manifest of `dir`, creating it if absent.
 */
export async function ensureDefaultModel(dir: string, options: DefaultModelOptions = {}): Promise<Manifest> {
  const existing = await readFile(join(dir, "manifest.json"), "utf8").catch(() => undefined);
  // A default model of an older format is regenerated: nothing but this function writes it.
  const current = existing === undefined ? undefined : parseCurrentManifest(existing);
  if (current) return current;
  const kind = options.kind ?? "hybrid";
  const scratch = await mkdtemp(join(tmpdir(), "deepseek-vl-fixture-"));
  const checkpoint = join(scratch, `tiny-${kind}`);
  try {
    await writeFixture(checkpoint, { kind, size: "tiny", seed: options.seed ?? 0 });
    return await convertCheckpoint(checkpoint, dir, { dtypes: ["fp32"], name: `deepseek-vl-tiny-${kind}`, overwrite: true });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
