// The converter's figures: conversion time and peak RSS of a full-size-vision checkpoint against its largest
// tensor, and per-graph CPU latency of the converted set. Each runs bench/converter-*.ts as its own process,
// so the peak RSS is the conversion's alone.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFixture } from "../converter/index.ts";
import { ROOT } from "../processes/index.ts";
import { BENCH_CACHE, benchModel } from "./models.ts";
import type { BenchmarkResult } from "./report.ts";

function run(script: string, args: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(ROOT, "node_modules/.bin/node"), [script, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk));
    child.once("exit", (code) => (code === 0 ? resolve(output.trim().split("\n")) : reject(new Error(`${script} exited with ${code}`))));
  });
}

export async function conversionBenchmark(): Promise<BenchmarkResult> {
  const checkpoint = join(BENCH_CACHE, "hybrid-vision.convert-checkpoint");
  if (!(await readFile(join(checkpoint, "config.json")).catch(() => undefined))) {
    await writeFixture(checkpoint, { kind: "hybrid", size: "vision", seed: 0, dtype: "F16" });
  }
  const out = await mkdtemp(join(tmpdir(), "convert-bench-"));
  try {
    const rows: [string, string][] = [];
    for (const dtype of ["fp32", "fp32,fp16"]) {
      const [sizes, result] = await run("bench/converter-convert.ts", [checkpoint, join(out, dtype), "--dtype", dtype]);
      rows.push([`--dtype ${dtype}`, `${result}; ${sizes}`]);
    }
    return { name: "converter: full-size-vision hybrid checkpoint (real SAM-B + SigLIP-L, small LLM)", rows };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

export async function graphLatencyBenchmark(): Promise<BenchmarkResult> {
  const { dir } = await benchModel(join(BENCH_CACHE, "hybrid-vision"), { kind: "hybrid", size: "vision" });
  const lines = await run("bench/converter-latency.ts", [dir, "--runs", "3"]);
  return {
    name: "converted graphs, CPU latency (full-size vision towers, fp32, batch 1)",
    rows: lines.map((line) => {
      const [graph = "", ...rest] = line.split(/\s{2,}/);
      return [graph, rest.join("  ")];
    }),
  };
}
