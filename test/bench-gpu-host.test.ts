// Smoke test of `npm run bench:gpu` on the CPU with the tiny hybrid set: it runs end to end and prints every
// figure as a number. No timing is asserted, only that each was measured.
import { execFile } from "node:child_process";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ROOT } from "../processes/index.ts";

const run = promisify(execFile);
const cli = (args: string[]) => run(process.execPath, ["bench/gpu-host.ts", ...args], { cwd: ROOT });

/** The value column of the table row whose label starts with `label`. */
function row(output: string, label: string): string {
  const line = output.split("\n").find((text) => text.trimStart().startsWith(label));
  if (line === undefined) throw new Error(`no row "${label}" in:\n${output}`);
  return line.trimStart().slice(label.length);
}

/** The first number in a row, in the unit that follows it. */
function figure(output: string, label: string, unit: string): number {
  const match = new RegExp(`(\\d+(?:\\.\\d+)?) ${unit}`).exec(row(output, label));
  if (!match) throw new Error(`row "${label}" has no figure in ${unit}: ${row(output, label)}`);
  return Number(match[1]);
}

describe("npm run bench:gpu", () => {
  it("measures the tiny hybrid set on the CPU and prints every figure", async () => {
    const { stdout } = await cli([
      "--provider",
      "cpu",
      "--kind",
      "hybrid",
      "--size",
      "tiny",
      "--runs",
      "1",
      "--decode-tokens",
      "4",
      "--bandwidth",
      "50",
    ]);
    for (const [label, unit] of [
      ["SAM (tiny tower) encode", "ms"],
      ["SigLIP (tiny tower) encode", "ms"],
      ["aligner", "ms"],
      ["prefill", "ms"],
      ["decode, B=1", "tokens/s"],
      ["memory-bandwidth bound at 50 GB/s", "tokens/s"],
    ] as const) {
      expect(figure(stdout, label, unit), label).toBeGreaterThan(0);
    }
    expect(Number(row(stdout, "decode / bound"))).toBeGreaterThan(0);
    expect(row(stdout, "provider")).toContain("cpu for every graph");

    // The bytes a decode step reads are the decoder's weights: the fp32 decoder graph on disk holds little else.
    const decoderBytes = (await stat(join(ROOT, ".cache/bench/gpu-host/hybrid-tiny/decoder_model_merged.onnx"))).size;
    expect(figure(stdout, "bytes read per decode step", "MB") * 1e6).toBeCloseTo(decoderBytes, -5);
  });

  it("refuses an unknown provider with its usage", async () => {
    const failure = await cli(["--provider", "gpu", "--kind", "hybrid", "--size", "tiny"]).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure).toMatchObject({ code: 2, stderr: expect.stringContaining("--provider must be one of cuda, webgpu, cpu") });
  });
});
