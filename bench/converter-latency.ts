// node bench/converter-latency.ts <model-dir> [--runs N]: per-graph CPU latency of a converted model set
// (random inputs, batch 1, a 64-token prefill and one decode step). A benchmark, not a test.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { GRAPH_IO, type GraphName, graphFileName, KV_SIDES, type Manifest, parseManifest, pastName } from "../shared/manifest/index.ts";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: "string", default: "3" } } });
const dir = positionals[0];
if (!dir) throw new Error("usage: node bench/converter-latency.ts <model-dir> [--runs N]");
const runs = Number(values.runs);
const manifest: Manifest = parseManifest(await readFile(join(dir, "manifest.json"), "utf8"));
const { vision, llm } = manifest;

const floats = (dims: number[]) =>
  new ort.Tensor(
    "float32",
    Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i) * 0.5),
    dims,
  );
const int64 = (data: number[], dims: number[]) => new ort.Tensor("int64", BigInt64Array.from(data.map(BigInt)), dims);
const features = () => floats([1, vision.imageTokens, vision.featureDim]);
const { siglip_encoder: SIGLIP, aligner: ALIGNER, embed_tokens: EMBED, decoder_model_merged: DECODER } = GRAPH_IO;

function decoderFeeds(tokens: number, past: number): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {
    [DECODER.inputs.embeds]: floats([1, tokens, llm.hiddenSize]),
    [DECODER.inputs.attentionMask]: int64(Array(past + tokens).fill(1), [1, past + tokens]),
    [DECODER.inputs.positions]: int64(
      Array.from({ length: tokens }, (_, i) => past + i),
      [1, tokens],
    ),
  };
  for (let i = 0; i < llm.numLayers; i++) {
    for (const kind of KV_SIDES) feeds[pastName(i, kind)] = floats([1, llm.numKeyValueHeads, past, llm.headDim]);
  }
  return feeds;
}

type Feeds = Record<string, ort.Tensor>;
const image = (seed: number): Feeds => ({
  [SIGLIP.inputs.pixels]: new ort.Tensor(
    "uint8",
    new Uint8Array(3 * vision.imageSize ** 2).map((_, i) => (i * seed) % 251),
    [1, 3, vision.imageSize, vision.imageSize],
  ),
});
const alignerFeeds: Feeds = { [ALIGNER.inputs.lowRes]: features() };
if (manifest.kind === "hybrid") alignerFeeds[ALIGNER.inputs.highRes] = features();

const cases: { graph: GraphName; label: string; feeds: () => Feeds }[] = [
  { graph: "siglip_encoder", label: "image", feeds: () => image(1) },
  ...(manifest.kind === "hybrid" ? [{ graph: "sam_encoder" as const, label: "image", feeds: () => image(7) }] : []),
  { graph: "aligner", label: "image", feeds: () => alignerFeeds },
  {
    graph: "embed_tokens",
    label: "64 tokens",
    feeds: () => ({
      [EMBED.inputs.ids]: int64(
        Array.from({ length: 64 }, (_, i) => i),
        [1, 64],
      ),
    }),
  },
  { graph: "decoder_model_merged", label: "prefill 64", feeds: () => decoderFeeds(64, 0) },
  { graph: "decoder_model_merged", label: "decode 1 after 64", feeds: () => decoderFeeds(1, 64) },
];

for (const { graph, label, feeds } of cases) {
  const path = join(dir, graphFileName(graph, "fp32"));
  const loadStart = performance.now();
  const session = await ort.InferenceSession.create(path);
  const load = performance.now() - loadStart;
  const input = feeds();
  await session.run(input); // warm-up
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    await session.run(input);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  console.log(
    `${graph.padEnd(22)} ${label.padEnd(18)} load ${load.toFixed(0).padStart(6)} ms   median ${times[Math.floor(runs / 2)]!.toFixed(1).padStart(8)} ms   rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
  );
  await session.release();
}
