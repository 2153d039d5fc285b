// Preprocessing of 12 MP and 48 MP phone photos (decode + EXIF orientation + resize + pad, the 7B's 1024 path) inside
// workerd, against the same work in Pillow (the official pipeline's own cost) and in sharp (libvips, what Node
// users pick), and the edge's code in Node. The Worker's share is timed from outside (see bench/worker/).
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import sharp from "sharp";
import { padColour, targetSize } from "../edge/image/index.ts";
import { nodeCodecWasm, peakRssGrowthBytes } from "../processes/index.ts";
import { startBenchWorker } from "./bench-worker.ts";
import { PREPROCESS_7B, preprocessPhoto } from "./edge-work.ts";
import { median } from "./median.ts";
import { benchPhoto, type PhotoSpec, startPillowTimer } from "./pillow.ts";
import type { BenchmarkResult } from "./report.ts";
import { interleavedRounds, perIteration } from "./rounds.ts";

/** The photos phones take by default (12 MP, 4:3) and in their high-resolution mode (48 MP). */
const PHOTOS: readonly PhotoSpec[] = [
  { width: 4032, height: 3024, seed: 1 },
  { width: 8064, height: 6048, seed: 1 },
];
/** The largest 4:3 image under the PNG/WebP cap (MAX_IMAGE_PIXELS, 6 Mi pixels). */
const CAPPED_SIZE = [2896, 2172] as const;
/** A Worker isolate's memory limit on Cloudflare. */
const ISOLATE_LIMIT_MIB = 128;

type WorkerAnswer = { width: number; height: number; sha256: string };

/** sharp's version of the work: EXIF orientation, cubic (Catmull-Rom, as Pillow's bicubic) resize, pad, raw RGB. */
async function sharpPreprocess(bytes: Buffer): Promise<Buffer> {
  const { autoOrient } = await sharp(bytes).metadata();
  const { imageSize, imageMean, minSize } = PREPROCESS_7B;
  const size = targetSize(autoOrient.width, autoOrient.height, imageSize, minSize);
  const top = (imageSize - size.height) >> 1;
  const left = (imageSize - size.width) >> 1;
  const [r, g, b] = padColour(imageMean);
  return sharp(bytes)
    .autoOrient()
    .resize(size.width, size.height, { kernel: "cubic", fit: "fill" })
    .extend({ top, bottom: imageSize - size.height - top, left, right: imageSize - size.width - left, background: { r, g, b } })
    .removeAlpha()
    .raw()
    .toBuffer();
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 0)} ms`;
const ratio = (value: number) => `${value.toFixed(2)}x`;
const megapixels = (spec: PhotoSpec) => `${((spec.width * spec.height) / 1e6).toFixed(1)} MP`;

/** Peak RSS growth of the Worker's workerd process over its first two requests with `photo`, in a fresh isolate. */
async function workerdMemory(photo: Uint8Array): Promise<[first: number, second: number]> {
  const worker = await startBenchWorker();
  try {
    const once = () => worker.post("/preprocess", 1, photo);
    return [await peakRssGrowthBytes(worker.workerdPid, once), await peakRssGrowthBytes(worker.workerdPid, once)];
  } finally {
    await worker.stop();
  }
}

export type PreprocessOptions = { rounds?: number; iterations?: number };

export async function preprocessBenchmark(options: PreprocessOptions = {}): Promise<BenchmarkResult> {
  const { rounds = 5, iterations = 3 } = options;
  const rows: [string, string][] = [
    [
      "work",
      "decode + orient + resize (long side 1024, bicubic) + pad to 1024x1024; uint8 out (planar for the edge and Pillow, interleaved for sharp)",
    ],
    [
      "method",
      `median of ${rounds} interleaved rounds after 1 warm-up; workerd: bench Worker timed from Node, (T(${iterations} iterations) - T(1)) / ${iterations - 1}; Pillow: timed inside python3; sharp, Node: in process; memory: peak RSS of workerd over its first two requests in a fresh isolate (isolate limit on Cloudflare: ${ISOLATE_LIMIT_MIB} MiB; local workerd enforces none)`,
    ],
  ];
  sharp.cache(false); // every run decodes, as for a new photo; libvips would otherwise reuse the last decode
  const wasm = nodeCodecWasm();
  let twelveMegapixels: Uint8Array | undefined;
  for (const spec of PHOTOS) {
    const path = await benchPhoto(spec);
    const photo = await readFile(path);
    twelveMegapixels ??= photo;
    const [first, second] = await workerdMemory(photo);
    const pillow = startPillowTimer();
    const worker = await startBenchWorker().catch(async (error: unknown) => {
      await pillow.close();
      throw error;
    });
    try {
      const outputs: Record<string, string> = {};
      const figures = await interleavedRounds(rounds, {
        workerdOnce: async () => {
          const { ms, body } = await worker.post<WorkerAnswer>("/preprocess", 1, photo);
          outputs.workerd = body.sha256;
          return ms;
        },
        workerdMany: async () => (await worker.post<WorkerAnswer>("/preprocess", iterations, photo)).ms,
        pillow: async () => {
          const run = await pillow.run(path, PREPROCESS_7B);
          outputs.pillow = run.sha256;
          return run.ms;
        },
        sharp: async () => {
          const started = performance.now();
          await sharpPreprocess(photo);
          return performance.now() - started;
        },
        node: async () => {
          const started = performance.now();
          const { pixels } = await preprocessPhoto(photo, wasm);
          const took = performance.now() - started;
          outputs.node = createHash("sha256").update(pixels).digest("hex");
          return took;
        },
      });
      const workerd = perIteration(figures.workerdOnce, figures.workerdMany, iterations);
      const [pillowMs, sharpMs, nodeMs] = [median(figures.pillow), median(figures.sharp), median(figures.node)];
      const same = (name: string) => (outputs[name] === outputs.pillow ? "identical" : "DIFFERENT");
      const name = `${megapixels(spec)} (${spec.width}x${spec.height})`;
      rows.push(
        [
          `photo, ${name}`,
          `baseline JPEG q90 4:2:0, EXIF orientation 6 (shown ${spec.height}x${spec.width}), ${mib(photo.length)}, ${path}`,
        ],
        [`  workerd, the edge's code`, ms(workerd)],
        ["  Pillow 9.4 (Debian python3-pil)", ms(pillowMs)],
        [
          `  sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips}, threads: ${sharp.concurrency()}, default shrink-on-load)`,
          ms(sharpMs),
        ],
        ["  Node 22, the edge's code", ms(nodeMs)],
        ["  workerd / Pillow (goal <= 0.7x)", ratio(workerd / pillowMs)],
        ["  workerd / sharp", ratio(workerd / sharpMs)],
        ["  output vs Pillow's (SHA-256)", `workerd ${same("workerd")}, Node ${same("node")}`],
        ["  workerd peak RSS growth, 1st / 2nd request", `${mib(first)} / ${mib(second)}`],
      );
    } finally {
      await Promise.all([worker.stop(), pillow.close()]);
    }
  }
  // PNG and WebP are decoded whole: their memory at the edge's cap (MAX_IMAGE_PIXELS, 6 Mi pixels), from the 12 MP photo.
  const [width, height] = CAPPED_SIZE;
  for (const format of ["png", "webp"] as const) {
    const file = await sharp(twelveMegapixels!).resize(width, height, { fit: "fill" }).toFormat(format).toBuffer();
    const [first, second] = await workerdMemory(file);
    rows.push([
      `${format.toUpperCase()} at the cap, ${width}x${height} (${mib(file.length)}): workerd peak RSS growth, 1st / 2nd request`,
      `${mib(first)} / ${mib(second)}`,
    ]);
  }
  return { name: "edge: preprocessing of phone photos, inside workerd vs Pillow and sharp", rows };
}
