// Generate end to end against the real GPU service process on a tiny converted model.
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Running, randomSecret, startGpuService } from "../processes/index.ts";
import { DataType, FinishReason, type GenerateRequest } from "../shared/gen/deepseek_vl/v1/inference_pb.js";
import { GRAPH_IO, KV_SIDES, type Manifest, pastName } from "../shared/manifest/index.ts";
import { encodeTensor, float32ToFloat16 } from "../shared/tensor/index.ts";
import { collectGenerate, openGenerate } from "./support/generate-calls.ts";
import { codeOf, errorOf, gpuClients } from "./support/gpu-client.ts";
import { gpuMetric, waitFor } from "./support/metrics.ts";
import { tinyModel } from "./support/models.ts";

type Request = Partial<Omit<GenerateRequest, "sampling">> & { sampling?: Partial<NonNullable<GenerateRequest["sampling"]>> };

let model: { dir: string; manifest: Manifest };
let gpu: Running;
const secret = randomSecret();
const client = () => gpuClients(gpu.url, secret).inference;

beforeAll(async () => {
  model = await tinyModel("hybrid");
  // The default providers, "cuda,cpu": this machine has no CUDA provider, so every graph runs on the CPU.
  gpu = await startGpuService({ secret, env: { MODEL_DIR: model.dir, GPU_SERVICE_MAX_QUEUE: "2", GPU_SERVICE_MAX_BATCH: "4" } });
});
afterAll(async () => {
  await gpu?.stop();
});

const IMAGE = 100015;
const { siglip_encoder: SIGLIP, sam_encoder: SAM, aligner: ALIGNER, embed_tokens: EMBED, decoder_model_merged: DECODER } = GRAPH_IO;
const greedy = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, maxNewTokens: 8 };

/** A deterministic test image: uint8 [3,S,S]. */
function pixels(seed: number): Uint8Array {
  const size = model.manifest.vision.imageSize;
  const data = new Uint8Array(3 * size * size);
  let state = seed * 2654435761;
  for (let i = 0; i < data.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    data[i] = state >>> 24;
  }
  return data;
}

function prompt(images: number, text: number[] = [300, 301, 302]): number[] {
  const ids = [model.manifest.tokens.bos];
  for (let i = 0; i < images; i++) ids.push(...new Array<number>(model.manifest.vision.imageTokens).fill(IMAGE), 400 + i);
  return [...ids, ...text];
}

function request(overrides: Request = {}): Request {
  return { requestId: "test", inputIds: prompt(0), images: [], ...overrides, sampling: { ...greedy, ...overrides.sampling } };
}

const generate = (overrides: Request = {}) => collectGenerate(client(), request(overrides) as GenerateRequest);

const pixelTensor = (seed: number) =>
  encodeTensor(DataType.UINT8, [3, model.manifest.vision.imageSize, model.manifest.vision.imageSize], pixels(seed));

/**
 * The same graphs run the naive way, as a reference for the service's KV cache and batching:
 * every step recomputes the whole sequence from scratch (empty past).
 */
async function fullRecomputeGreedy(ids: number[], images: Uint8Array[], steps: number): Promise<number[]> {
  const session = (name: string) => ort.InferenceSession.create(join(model.dir, `${name}.onnx`), { executionProviders: ["cpu"] });
  const { llm, vision } = model.manifest;
  const size = vision.imageSize;
  const embedsOf = await session("embed_tokens");
  const decoder = await session("decoder_model_merged");
  const imageEmbeds: Float32Array[] = [];
  for (const image of images) {
    const input = { [SIGLIP.inputs.pixels]: new ort.Tensor("uint8", image, [1, 3, size, size]) };
    const low = (await (await session("siglip_encoder")).run(input))[SIGLIP.outputs.features]!;
    const high = (await (await session("sam_encoder")).run(input))[SAM.outputs.features]!;
    const aligned = await (await session("aligner")).run({ [ALIGNER.inputs.lowRes]: low, [ALIGNER.inputs.highRes]: high });
    imageEmbeds.push(aligned[ALIGNER.outputs.embeds]!.data as Float32Array);
  }
  const sequence = [...ids];
  const generated: number[] = [];
  for (let step = 0; step < steps; step++) {
    const T = sequence.length;
    const embeds = (await embedsOf.run({ [EMBED.inputs.ids]: new ort.Tensor("int64", BigInt64Array.from(sequence.map(BigInt)), [1, T]) }))[
      EMBED.outputs.embeds
    ]!.data as Float32Array;
    let image = 0;
    for (let t = 0; t < T; t++) {
      if (sequence[t] === IMAGE && (t === 0 || sequence[t - 1] !== IMAGE)) {
        embeds.set(imageEmbeds[image++]!, t * llm.hiddenSize);
      }
    }
    const feeds: Record<string, ort.Tensor> = {
      [DECODER.inputs.embeds]: new ort.Tensor("float32", embeds, [1, T, llm.hiddenSize]),
      [DECODER.inputs.attentionMask]: new ort.Tensor("int64", new BigInt64Array(T).fill(1n), [1, T]),
      [DECODER.inputs.positions]: new ort.Tensor(
        "int64",
        BigInt64Array.from({ length: T }, (_, i) => BigInt(i)),
        [1, T],
      ),
    };
    for (let layer = 0; layer < llm.numLayers; layer++) {
      for (const side of KV_SIDES) {
        feeds[pastName(layer, side)] = new ort.Tensor("float32", new Float32Array(0), [1, llm.numKeyValueHeads, 0, llm.headDim]);
      }
    }
    const logits = (await decoder.run(feeds))[DECODER.outputs.logits]!;
    const vocab = llm.vocabSize;
    const last = (logits.data as Float32Array).subarray(logits.data.length - vocab);
    let best = 0;
    for (let i = 1; i < vocab; i++) if (last[i]! > last[best]!) best = i;
    generated.push(best);
    sequence.push(best);
  }
  return generated;
}

describe("ModelInfo", () => {
  it("reports the loaded manifest and the execution provider each graph runs on, after one calm line on CUDA", async () => {
    // CUDA is found missing before it is tried: one line naming why, no onnxruntime error dump, no per-graph fallback.
    expect(gpu.output()).toMatch(/"message":"execution providers not available here, skipped","cuda":"[^"]+"/);
    expect(gpu.output()).not.toContain("[E:onnxruntime");
    expect(gpu.output()).not.toContain("execution provider fallback");
    const info = await client().modelInfo({});
    expect(JSON.parse(info.manifestJson)).toEqual(model.manifest);
    expect(info.executionProviders).toEqual({
      siglip_encoder: "cpu",
      sam_encoder: "cpu",
      aligner: "cpu",
      embed_tokens: "cpu",
      decoder_serving: "cpu",
      kv_select: "cpu",
      kv_join: "cpu",
      logits_rows: "cpu",
    });
  });
});

describe("Generate", () => {
  it("streams greedy tokens equal to a full-recompute run of the same graphs (KV cache and image merge)", async () => {
    const ids = prompt(2);
    const result = await generate({
      inputIds: ids,
      images: [
        { key: "image-a", pixels: pixelTensor(1) },
        { key: "image-b", pixels: pixelTensor(2) },
      ] as never,
      sampling: { ...greedy, maxNewTokens: 6 },
    });
    expect(result.tokens).toEqual(await fullRecomputeGreedy(ids, [pixels(1), pixels(2)], 6));
    expect(result.finished.reason).toBe(FinishReason.LENGTH);
    expect(result.finished.usage).toMatchObject({ promptTokens: ids.length, completionTokens: 6, cachedImages: 0 });
    for (const logprob of result.logprobs) expect(logprob).toBeLessThanOrEqual(0);
  });

  it("gives identical tokens for the same seeded sampling request, and other tokens for another seed", async () => {
    const sampling = { temperature: 1.5, topK: 0, topP: 1, repetitionPenalty: 1, maxNewTokens: 12 };
    const first = await generate({ sampling: { ...sampling, seed: 42n } });
    const second = await generate({ sampling: { ...sampling, seed: 42n } });
    const other = await generate({ sampling: { ...sampling, seed: 43n } });
    expect(second.tokens).toEqual(first.tokens);
    expect(other.tokens).not.toEqual(first.tokens);
  });

  it("stops at a caller-given stop id, emitting it, with finish reason stop", async () => {
    const free = await generate({ sampling: { ...greedy, maxNewTokens: 5 } });
    const stopAt = free.tokens[2]!;
    const stopped = await generate({ sampling: { ...greedy, maxNewTokens: 5, stopTokenIds: [stopAt] } });
    expect(stopped.tokens).toEqual(free.tokens.slice(0, free.tokens.indexOf(stopAt) + 1));
    expect(stopped.finished.reason).toBe(FinishReason.STOP);
  });

  it("serves a repeated image from the encoder cache by key alone, and answers NOT_FOUND for an unknown key", async () => {
    const ids = prompt(1);
    const missing = await errorOf(
      client().generate(request({ inputIds: ids, images: [{ key: "never-sent" }] as never }) as GenerateRequest),
    );
    expect(missing.code).toBe(Code.NotFound);
    expect(missing.rawMessage).toContain("never-sent");

    const cold = await generate({ inputIds: ids, images: [{ key: "image-c", pixels: pixelTensor(3) }] as never });
    const warm = await generate({ inputIds: ids, images: [{ key: "image-c" }] as never });
    expect(warm.tokens).toEqual(cold.tokens);
    expect(warm.finished.usage?.cachedImages).toBe(1);
  });

  it("accepts SigLIP features from the caller instead of computing them", async () => {
    const ids = prompt(1);
    const { siglipFeatures } = await client().encodeImages({ images: [{ key: "image-d", pixels: pixelTensor(4) }] });
    expect(siglipFeatures[0]!.shape).toEqual([model.manifest.vision.imageTokens, model.manifest.vision.featureDim]);
    const computed = await generate({ inputIds: ids, images: [{ key: "image-d", pixels: pixelTensor(4) }] as never });
    const supplied = await generate({
      inputIds: ids,
      images: [{ key: "image-d2", pixels: pixelTensor(4), siglipFeatures: siglipFeatures[0] }] as never,
    });
    expect(supplied.tokens).toEqual(computed.tokens);
  });
});

describe("Generate refuses malformed requests with precise codes and stays up", () => {
  const size = () => model.manifest.vision.imageSize;
  const cases: [string, () => Request, Code][] = [
    ["empty input_ids", () => request({ inputIds: [] }), Code.InvalidArgument],
    ["an id outside the vocabulary", () => request({ inputIds: [100000, 999999] }), Code.InvalidArgument],
    [
      "an image run of the wrong length",
      () => request({ inputIds: [100000, IMAGE, IMAGE, 5], images: [{ key: "k", pixels: pixelTensor(1) }] as never }),
      Code.InvalidArgument,
    ],
    [
      "more images than image runs",
      () =>
        request({
          inputIds: prompt(1),
          images: [
            { key: "a", pixels: pixelTensor(1) },
            { key: "b", pixels: pixelTensor(2) },
          ] as never,
        }),
      Code.InvalidArgument,
    ],
    [
      "pixels of the wrong dtype",
      () =>
        request({
          inputIds: prompt(1),
          images: [
            { key: "a", pixels: encodeTensor(DataType.FLOAT32, [3, size(), size()], new Float32Array(3 * size() * size())) },
          ] as never,
        }),
      Code.InvalidArgument,
    ],
    [
      "pixels of the wrong shape",
      () =>
        request({
          inputIds: prompt(1),
          images: [{ key: "a", pixels: encodeTensor(DataType.UINT8, [3, 8, 8], new Uint8Array(192)) }] as never,
        }),
      Code.InvalidArgument,
    ],
    [
      "features of the wrong shape",
      () =>
        request({
          inputIds: prompt(1),
          images: [
            {
              key: "a",
              pixels: pixelTensor(1),
              siglipFeatures: encodeTensor(DataType.FLOAT16, [2, 2], float32ToFloat16(new Float32Array(4))),
            },
          ] as never,
        }),
      Code.InvalidArgument,
    ],
    [
      "a prompt over the context",
      () => request({ inputIds: new Array<number>(4090).fill(5), sampling: { ...greedy, maxNewTokens: 10 } }),
      Code.InvalidArgument,
    ],
    ["a negative temperature", () => request({ sampling: { ...greedy, temperature: -1 } }), Code.InvalidArgument],
    ["top_p above 1", () => request({ sampling: { ...greedy, temperature: 1, topP: 1.5 } }), Code.InvalidArgument],
    ["zero max_new_tokens", () => request({ sampling: { ...greedy, maxNewTokens: 0 } }), Code.InvalidArgument],
    ["a stop id outside the vocabulary", () => request({ sampling: { ...greedy, stopTokenIds: [102400] } }), Code.InvalidArgument],
  ];
  it.each(cases)("%s", async (_, build, code) => {
    expect(await codeOf(client().generate(build() as GenerateRequest))).toBe(code);
    expect((await client().health({})).message).toContain("serving");
  });
});

const metric = (name: string, labels?: string) => gpuMetric(gpu.url, name, labels);

const until = (condition: () => Promise<boolean>) => waitFor(condition, "the service to get there");

/** Starts a stream and reads it in the background; `tokens` fills as tokens arrive. */
const openStream = (overrides: Request) => openGenerate(client(), request(overrides) as GenerateRequest);

describe("concurrency", () => {
  it("decodes several streams together, each getting exactly the tokens it gets alone", async () => {
    const texts = [[310], [311, 312], [313, 314, 315]];
    const alone = [];
    for (const text of texts) alone.push((await generate({ inputIds: prompt(0, text), sampling: { ...greedy, maxNewTokens: 30 } })).tokens);
    const steps = await metric("gpu_service_decode_steps_total");
    const together = await Promise.all(
      texts.map((text) => generate({ inputIds: prompt(0, text), sampling: { ...greedy, maxNewTokens: 30 } })),
    );
    expect(together.map((result) => result.tokens)).toEqual(alone);
    // Batched: far fewer decoder calls than one per token per stream.
    expect((await metric("gpu_service_decode_steps_total")) - steps).toBeLessThan(3 * 29);
  });

  it("stops a cancelled stream's work within a step: no more tokens are generated for it", async () => {
    const stream = openStream({ sampling: { ...greedy, maxNewTokens: 3000 } });
    await until(async () => stream.tokens.length >= 3);
    stream.abort.abort();
    await stream.done;
    await until(async () => (await metric("gpu_service_sequences_active")) === 0);
    const generated = await metric("gpu_service_generated_tokens_total");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await metric("gpu_service_generated_tokens_total")).toBe(generated);
    expect(await metric("gpu_service_sequences_active")).toBe(0);
  });

  it("refuses requests beyond the batch and the queue with RESOURCE_EXHAUSTED and a retry hint, then serves again", async () => {
    const long = { sampling: { ...greedy, maxNewTokens: 4000 } };
    const running = Array.from({ length: 4 }, () => openStream(long));
    await until(async () => running.every((stream) => stream.tokens.length > 0));
    const queued = Array.from({ length: 2 }, () => openStream(long));
    await until(async () => (await metric("gpu_service_queue_depth")) === 2);
    const refused = await errorOf(client().generate(request() as GenerateRequest));
    expect(refused.code).toBe(Code.ResourceExhausted);
    expect(Number(refused.metadata.get("retry-after-ms"))).toBeGreaterThan(0);
    // Callers that hang up while queued give their places back at once, while the batch still runs.
    for (const stream of queued) stream.abort.abort();
    await until(async () => (await metric("gpu_service_queue_depth")) === 0);
    expect(await metric("gpu_service_sequences_active")).toBe(4);
    const requeued = Array.from({ length: 2 }, () => openStream(long));
    await until(async () => (await metric("gpu_service_queue_depth")) === 2);
    for (const stream of [...running, ...requeued]) stream.abort.abort();
    await Promise.all([...running, ...queued, ...requeued].map((stream) => stream.done));
    await until(async () => (await metric("gpu_service_queue_depth")) === 0 && (await metric("gpu_service_sequences_active")) === 0);
    expect((await generate()).finished.reason).toBe(FinishReason.LENGTH);
  });
});

describe("SIGTERM with Generate streams in flight", () => {
  it("ends streams that outlive the grace period with UNAVAILABLE and exits cleanly", async () => {
    const service = await startGpuService({
      secret,
      env: { MODEL_DIR: model.dir, GPU_SERVICE_EXECUTION_PROVIDERS: "cpu", GPU_SERVICE_SHUTDOWN_GRACE_MS: "300" },
    });
    try {
      const tokens: number[] = [];
      let failure: Code | undefined;
      try {
        for await (const message of gpuClients(service.url, secret).inference.generate(
          request({ sampling: { ...greedy, maxNewTokens: 3000 } }) as GenerateRequest,
        )) {
          if (message.event.case === "finished") throw new Error("finished despite the shutdown");
          tokens.push(message.event.value!.tokenId);
          if (tokens.length === 2) process.kill(-service.process.pid!, "SIGTERM");
        }
      } catch (error) {
        failure = (error as { code?: Code }).code;
      }
      expect(failure).toBe(Code.Unavailable);
      expect(await service.stop()).toBe(0);
    } finally {
      await service.stop();
    }
  });
});
