// The GPU service on onnxruntime's WebGPU provider (here over the software Vulkan device that
// scripts/software-vulkan.sh provisions), against the same service on the CPU provider: the device path
// must give the CPU's tokens while its KV cache never leaves the device.
import { Code } from "@connectrpc/connect";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../gpu-service/log.ts";
import { openModelDirectory } from "../gpu-service/model/index.ts";
import { startRuntime } from "../gpu-service/runtime/runtime.ts";
import { SequenceRng } from "../gpu-service/sampling/index.ts";
import { type Running, randomSecret, startGpuService } from "../processes/index.ts";
import { DataType, FinishReason, type GenerateRequest, type SamplingParams } from "../shared/gen/deepseek_vl/v1/inference_pb.js";
import type { Manifest } from "../shared/manifest/index.ts";
import { encodeTensor } from "../shared/tensor/index.ts";
import { collectGenerate, openGenerate } from "./support/generate-calls.ts";
import { errorOf, gpuClients } from "./support/gpu-client.ts";
import { testImage } from "./support/images.ts";
import { gpuMetric, waitFor } from "./support/metrics.ts";
import { tinyModel } from "./support/models.ts";

let model: { dir: string; manifest: Manifest };
let cpu: Running;
let webgpu: Running;
const secret = randomSecret();
/** Positions of KV the WebGPU service's budget holds: room for the 2k-context request, not for a 4k one. */
const BUDGET_POSITIONS = 3000;

beforeAll(async () => {
  model = await tinyModel("hybrid");
  const { numLayers, numKeyValueHeads, headDim } = model.manifest.llm;
  const budget = BUDGET_POSITIONS * 2 * numLayers * numKeyValueHeads * headDim * 4;
  const env = { MODEL_DIR: model.dir, GPU_SERVICE_MAX_BATCH: "4", GPU_SERVICE_MODEL_DTYPE: "fp32" };
  [cpu, webgpu] = await Promise.all([
    startGpuService({ secret, env: { ...env, GPU_SERVICE_EXECUTION_PROVIDERS: "cpu" } }),
    // Small prefill chunks, so the 2k prompt below is prefilled in many calls interleaved with decode steps.
    startGpuService({
      secret,
      env: {
        ...env,
        GPU_SERVICE_EXECUTION_PROVIDERS: "webgpu",
        GPU_SERVICE_PREFILL_CHUNK_TOKENS: "256",
        GPU_SERVICE_KV_CACHE_BYTES: String(budget),
        GPU_SERVICE_MAX_QUEUE: "1",
      },
    }),
  ]);
}, 300_000);
afterAll(async () => {
  await Promise.all([cpu?.stop(), webgpu?.stop()]);
});

const IMAGE = 100015;
const GREEDY = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, maxNewTokens: 12 };
const client = (service: Running) => gpuClients(service.url, secret).inference;

function pixels(seed: number) {
  const size = model.manifest.vision.imageSize;
  return encodeTensor(DataType.UINT8, [3, size, size], testImage(size, size, seed));
}

function request(text: number[], sampling: Partial<SamplingParams> = {}, images = 0): GenerateRequest {
  const ids = [model.manifest.tokens.bos];
  for (let i = 0; i < images; i++) ids.push(...new Array<number>(model.manifest.vision.imageTokens).fill(IMAGE), 400 + i);
  return {
    requestId: "webgpu",
    inputIds: [...ids, ...text],
    images: Array.from({ length: images }, (_, i) => ({ key: `webgpu-image-${i}`, pixels: pixels(i + 1) })),
    sampling: { ...GREEDY, ...sampling },
  } as GenerateRequest;
}

const both = async (call: GenerateRequest) => Promise.all([collectGenerate(client(cpu), call), collectGenerate(client(webgpu), call)]);

describe("the GPU service on WebGPU", () => {
  it("runs every graph on WebGPU but the embedding lookup, and says so in ModelInfo and /healthz", async () => {
    const info = await client(webgpu).modelInfo({});
    expect(info.executionProviders).toEqual({
      siglip_encoder: "webgpu",
      sam_encoder: "webgpu",
      aligner: "webgpu",
      embed_tokens: "cpu",
      decoder_serving: "webgpu",
      kv_select: "webgpu",
      kv_join: "webgpu",
      logits_rows: "webgpu",
    });
    const health = (await (await fetch(`${webgpu.url}/healthz`)).json()) as { providers: unknown };
    expect(health.providers).toEqual(info.executionProviders);
  });

  it("streams the CPU provider's greedy tokens for a prompt with two images", async () => {
    const [onCpu, onDevice] = await both(request([300, 301, 302], {}, 2));
    expect(onDevice.tokens).toEqual(onCpu.tokens);
    onDevice.logprobs.forEach((logprob, i) => expect(logprob).toBeCloseTo(onCpu.logprobs[i]!, 3));
  });

  it("starts a prompt that extends a finished one from that one's KV on the device, with the cold run's tokens", async () => {
    const namespace = `reuse-${Math.random()}`;
    const turn1 = { ...request([360, 361, 362], {}, 1), cacheNamespace: namespace };
    const first = await collectGenerate(client(webgpu), turn1);
    expect(first.finished.usage?.cachedPromptTokens).toBe(0);
    const turn2 = { ...request([360, 361, 362, ...first.tokens, 363, 364], {}, 1), cacheNamespace: namespace };
    const reused = await collectGenerate(client(webgpu), turn2);
    // The first turn's prompt and answer, but the answer's last token (it never ran through the decoder).
    expect(reused.finished.usage?.cachedPromptTokens).toBe(turn1.inputIds.length + first.tokens.length - 1);
    const cold = await collectGenerate(client(cpu), { ...turn2, cacheNamespace: `cold-${Math.random()}` });
    expect(cold.finished.usage?.cachedPromptTokens).toBe(0);
    expect(reused.tokens).toEqual(cold.tokens);
  });

  it("reproduces seeded sampling, equal to the CPU provider's, with and without a repetition penalty", async () => {
    for (const sampling of [
      { temperature: 0.9, topK: 50, topP: 0.9, seed: 7n },
      { temperature: 0.7, topK: 0, topP: 0.8, seed: 8n },
      { temperature: 0, repetitionPenalty: 1.3 },
    ]) {
      const call = request([310, 311], { ...sampling, maxNewTokens: 16 });
      const [onCpu, onDevice] = await both(call);
      expect(onDevice.tokens).toEqual(onCpu.tokens);
      expect((await collectGenerate(client(webgpu), call)).tokens).toEqual(onDevice.tokens);
    }
  });

  it("gives three streams that join and leave mid-generation each the tokens it gets alone", async () => {
    const calls = [
      request([320], { maxNewTokens: 24 }),
      request([321, 322], { maxNewTokens: 5 }),
      request([323, 324, 325], { maxNewTokens: 12 }),
    ];
    const alone = [];
    for (const call of calls) alone.push((await collectGenerate(client(webgpu), call)).tokens);
    const first = openGenerate(client(webgpu), calls[0]!);
    await waitFor(() => first.tokens.length >= 3, "the first stream's third token");
    const second = openGenerate(client(webgpu), calls[1]!);
    await waitFor(() => first.tokens.length >= 6, "the first stream's sixth token");
    const third = openGenerate(client(webgpu), calls[2]!);
    await Promise.all([first.done, second.done, third.done]);
    expect([first.tokens, second.tokens, third.tokens]).toEqual(alone);
  });

  it("moves as many host bytes per decode step at context 2048 as at 128", async () => {
    const perStep = async (promptTokens: number) => {
      const [bytes, steps] = await Promise.all([
        gpuMetric(webgpu.url, "gpu_service_decode_host_bytes_total"),
        gpuMetric(webgpu.url, "gpu_service_decode_steps_total"),
      ]);
      const chunks = await gpuMetric(webgpu.url, "gpu_service_prefill_chunks_total");
      const result = await collectGenerate(client(webgpu), request(new Array(promptTokens - 1).fill(330), { maxNewTokens: 8 }));
      expect(result.tokens).toHaveLength(8);
      const chunked = (await gpuMetric(webgpu.url, "gpu_service_prefill_chunks_total")) - chunks;
      const byteDelta = (await gpuMetric(webgpu.url, "gpu_service_decode_host_bytes_total")) - bytes;
      const stepDelta = (await gpuMetric(webgpu.url, "gpu_service_decode_steps_total")) - steps;
      return { perStep: byteDelta / stepDelta, steps: stepDelta, chunked };
    };
    const short = await perStep(128);
    const long = await perStep(2048);
    expect(short.steps).toBe(7);
    expect(long.steps).toBe(7);
    expect(long.perStep).toBe(short.perStep);
    // What sampling needs (64 candidates, their ids, the log-sum-exp) and the step's own inputs: well under 4 KiB.
    expect(short.perStep).toBeLessThan(4096);
    expect([short.chunked, long.chunked]).toEqual([1, 8]);
  });

  it("refuses a request whose KV cache exceeds the budget with RESOURCE_EXHAUSTED, and serves the next", async () => {
    const refused = await errorOf(client(webgpu).generate(request([340], { maxNewTokens: BUDGET_POSITIONS })));
    expect(refused.code).toBe(Code.ResourceExhausted);
    expect(refused.rawMessage).toMatch(/exceeds the budget/);
    expect((await collectGenerate(client(webgpu), request([341]))).finished.reason).toBe(FinishReason.LENGTH);
  });

  it("ends a call past its deadline with DEADLINE_EXCEEDED and goes on serving", async () => {
    const late = await errorOf(client(webgpu).generate(request([345], { maxNewTokens: 2000 }), { timeoutMs: 1500 }));
    expect(late.code).toBe(Code.DeadlineExceeded);
    await waitFor(async () => (await gpuMetric(webgpu.url, "gpu_service_sequences_active")) === 0, "no active sequence");
    expect((await collectGenerate(client(webgpu), request([346]))).tokens).toHaveLength(GREEDY.maxNewTokens);
  });

  it("refuses requests beyond the batch and the queue with RESOURCE_EXHAUSTED, then serves again", async () => {
    // 600 new tokens each: four rows fit the KV budget, so only the batch size holds the fifth back.
    const running = Array.from({ length: 4 }, (_, i) => openGenerate(client(webgpu), request([360 + i], { maxNewTokens: 600 })));
    await waitFor(() => running.every((stream) => stream.tokens.length > 0), "four running streams", 60_000);
    const queued = openGenerate(client(webgpu), request([365], { maxNewTokens: 600 }));
    await waitFor(async () => (await gpuMetric(webgpu.url, "gpu_service_queue_depth")) === 1, "one queued request");
    const refused = await errorOf(client(webgpu).generate(request([366])));
    expect(refused.code).toBe(Code.ResourceExhausted);
    for (const stream of [...running, queued]) stream.abort.abort();
    await Promise.all([...running, queued].map((stream) => stream.done));
    await waitFor(async () => (await gpuMetric(webgpu.url, "gpu_service_sequences_active")) === 0, "no active sequence");
    expect((await collectGenerate(client(webgpu), request([367]))).tokens).toHaveLength(GREEDY.maxNewTokens);
  });

  it("ends a cancelled stream within a step and frees its place", async () => {
    const stream = openGenerate(client(webgpu), request([350], { maxNewTokens: 2000 }));
    await waitFor(() => stream.tokens.length >= 3, "three tokens");
    stream.abort.abort();
    await stream.done;
    await waitFor(async () => (await gpuMetric(webgpu.url, "gpu_service_sequences_active")) === 0, "no active sequence");
    expect(await gpuMetric(webgpu.url, "gpu_service_kv_cache_bytes")).toBe(0);
    expect((await collectGenerate(client(webgpu), request([351]))).tokens).toHaveLength(GREEDY.maxNewTokens);
  });
});

describe("the decoder's cache on WebGPU, seen from the sessions", () => {
  it("never puts a KV tensor in host memory during decode steps", async () => {
    const { dir, manifest } = await tinyModel("siglip");
    const runtime = await startRuntime(
      await openModelDirectory(dir),
      {
        executionProviders: ["webgpu"],
        modelDtype: "fp32",
        cpuThreads: 1,
        encoderCacheBytes: 1 << 24,
        kvCacheBytes: 0,
        prefillChunkTokens: 512,
        deviceBufferLimitBytes: 128 << 20,
        maxBatch: 4,
        maxQueue: 4,
        retryAfterMs: 1000,
      },
      createLogger(() => {}),
      {},
    );
    // A wrapper around every session's run: the location of each cache tensor fed to or returned by the
    // decoder and the batch graphs during decode steps (one new token per row).
    const locations = new Set<string>();
    let steps = 0;
    // onnxruntime's typings describe InferenceSession as a factory; at run time it is the class.
    const sessions = (ort.InferenceSession as unknown as { prototype: ort.InferenceSession }).prototype;
    const run = sessions.run;
    sessions.run = async function (this: ort.InferenceSession, ...args: Parameters<typeof run>) {
      const outputs = await run.apply(this, args);
      const feeds = args[0];
      const embeds = feeds.inputs_embeds;
      const step = embeds === undefined || embeds.dims[1] === 1;
      if (step) {
        for (const [name, value] of [...Object.entries(feeds), ...Object.entries(outputs)]) {
          if (/^(past_key_values|present|joining)\./.test(name)) locations.add((value as ort.Tensor).location);
        }
        if (embeds !== undefined) steps++;
      }
      return outputs;
    } as typeof run;
    try {
      const ids = (n: number) => [manifest.tokens.bos, ...Array.from({ length: n }, (_, i) => 300 + i)];
      const generations = [3, 7, 12].map((length, i) =>
        runtime.engine.generate({
          id: `wrapped-${i}`,
          cacheNamespace: "",
          topLogprobs: 0,
          inputIds: ids(length),
          images: [],
          imageStarts: [],
          sampling: { temperature: 0, topK: 0, topP: 1, repetitionPenalty: i === 2 ? 1.2 : 1 },
          rng: new SequenceRng(1n),
          maxNewTokens: 6 + 3 * i,
          stopTokenIds: new Set(),
          signal: new AbortController().signal,
          onToken() {},
        }),
      );
      await Promise.all(generations);
    } finally {
      sessions.run = run;
    }
    expect(steps).toBeGreaterThan(10);
    expect([...locations]).toEqual(["gpu-buffer"]);
  });
});
