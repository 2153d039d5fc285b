import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import type { RgbImage } from "../../edge/image/index.ts";

// Debian's interpreter: it has python3-pil and python3-numpy (the default python3 may not).
const PYTHON = "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("./reference_preprocess.py", import.meta.url));

export type PillowRequest =
  | {
      readonly op: "pipeline";
      readonly image: RgbImage;
      readonly imageSize: number;
      readonly imageMean: readonly number[];
    }
  | { readonly op: "resize"; readonly image: RgbImage; readonly width: number; readonly height: number };

/** Pillow's answer: planar CHW for "pipeline", interleaved HWC for "resize". */
export interface PillowResult {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

function encode(request: PillowRequest): Uint8Array {
  const { image } = request;
  const head = new DataView(new ArrayBuffer(request.op === "pipeline" ? 37 : 17));
  head.setUint8(0, request.op === "pipeline" ? 0 : 1);
  head.setUint32(1, image.width, true);
  head.setUint32(5, image.height, true);
  if (request.op === "pipeline") {
    head.setUint32(9, request.imageSize, true);
    request.imageMean.forEach((m, i) => head.setFloat64(13 + 8 * i, m, true));
  } else {
    head.setUint32(9, request.width, true);
    head.setUint32(13, request.height, true);
  }
  const out = new Uint8Array(head.byteLength + image.data.length);
  out.set(new Uint8Array(head.buffer), 0);
  out.set(image.data, head.byteLength);
  return out;
}

/** Runs all requests through one Python process (Pillow's start-up dominates small cases). */
export function runPillow(requests: readonly PillowRequest[]): PillowResult[] {
  const chunks = requests.map(encode);
  const input = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    input.set(chunk, offset);
    offset += chunk.length;
  }
  const run = spawnSync(PYTHON, [SCRIPT], { input, maxBuffer: 2 ** 31 - 1 });
  if (run.error) throw run.error;
  if (run.status !== 0) {
    throw new Error(`${PYTHON} ${SCRIPT} exited with ${run.status}: ${run.stderr.toString()}`);
  }
  const output = new Uint8Array(run.stdout.buffer, run.stdout.byteOffset, run.stdout.byteLength);
  const view = new DataView(output.buffer, output.byteOffset, output.byteLength);
  const results: PillowResult[] = [];
  offset = 0;
  for (let i = 0; i < requests.length; i++) {
    const width = view.getUint32(offset, true);
    const height = view.getUint32(offset + 4, true);
    const length = width * height * 3;
    results.push({ width, height, data: output.subarray(offset + 8, offset + 8 + length) });
    offset += 8 + length;
  }
  if (offset !== output.length) throw new Error(`Pillow answered ${output.length - offset} unexpected trailing bytes`);
  return results;
}

/**
 * Runs a Python script that writes generated images and `manifest.json` into `dir` (Pillow's reading of
 * each included), and returns the manifest's cases.
 */
export function generateWithPillow<Case>(script: string, dir: string): Case[] {
  const run = spawnSync(PYTHON, [script, dir], { encoding: "utf8" });
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`${PYTHON} ${script} exited with ${run.status}: ${run.stderr}`);
  return JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as Case[];
}

/** A short account of how two byte arrays differ, or null when they are equal. */
export function difference(actual: Uint8Array, expected: Uint8Array): string | null {
  if (actual.length !== expected.length) return `length ${actual.length}, Pillow ${expected.length}`;
  let count = 0;
  let first = -1;
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      if (first < 0) first = i;
      count++;
    }
  }
  if (count === 0) return null;
  return `${count} of ${actual.length} bytes differ, first at ${first}: ${actual[first]}, Pillow ${expected[first]}`;
}
