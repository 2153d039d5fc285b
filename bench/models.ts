// Random-weight model sets for the benchmarks: a fixture checkpoint in the official layout, converted once
// into a git-ignored directory under .cache/bench/ and reused on later runs.
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { convertCheckpoint, type FixtureKind, type FixtureSize, writeFixture } from "../converter/index.ts";
import { ROOT } from "../processes/index.ts";
import { type Manifest, type ModelDtype, parseCurrentManifest } from "../shared/manifest/index.ts";

export const BENCH_CACHE = join(ROOT, ".cache/bench");

export type BenchModelOptions = {
  kind: FixtureKind;
  size: FixtureSize;
  /** Graph sets to convert (default fp32). */
  dtypes?: ModelDtype[];
  /** Called when a phase ends, with its wall time: "fixture" and "convert" (only when they ran). */
  onPhase?: (phase: "fixture" | "convert", ms: number) => void;
};

export type BenchModel = { dir: string; manifest: Manifest };

/**
 * The converted model set in `dir`, created when absent, of an older format, or lacking one of the dtypes. The checkpoint is
 * written beside it in F16 like the official ones (same file system: a real 7B checkpoint is ~15 GB) and
 * deleted after conversion.
 */
export async function benchModel(dir: string, options: BenchModelOptions): Promise<BenchModel> {
  const { kind, size, dtypes = ["fp32"], onPhase } = options;
  const existing = await readFile(join(dir, "manifest.json"), "utf8").catch(() => undefined);
  const manifest = existing === undefined ? undefined : parseCurrentManifest(existing);
  if (manifest && dtypes.every((dtype) => manifest.dtypes.includes(dtype))) return { dir, manifest };
  const checkpoint = `${dir}.checkpoint`;
  try {
    let started = performance.now();
    await rm(checkpoint, { recursive: true, force: true });
    await writeFixture(checkpoint, { kind, size, seed: 0, dtype: "F16" });
    onPhase?.("fixture", performance.now() - started);
    started = performance.now();
    const manifest = await convertCheckpoint(checkpoint, dir, { dtypes, name: `bench-${kind}-${size}`, overwrite: true });
    onPhase?.("convert", performance.now() - started);
    return { dir, manifest };
  } finally {
    await rm(checkpoint, { recursive: true, force: true });
  }
}
