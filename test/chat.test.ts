// The OpenAI-compatible API end to end: the official openai client -> the Worker in workerd -> the GPU
// service process, on a tiny converted model, checked against a direct GPU-service run of the same
// ids and pixels computed in Node by the same product modules.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeImage, preprocess } from "../edge/image/index.ts";
import { ChatTokenizer, fromOpenAiMessages, IncrementalDetokenizer, renderPrompt, tokenFacts, tokenize } from "../edge/prompt/index.ts";
import { encodePng, nodeCodecWasm, prepareEdgeAssets, type Running, randomSecret, startEdge, startGpuService } from "../processes/index.ts";
import { DataType, type GenerateRequest } from "../shared/gen/deepseek_vl/v1/inference_pb.js";
import type { Manifest } from "../shared/manifest/index.ts";
import { encodeTensor } from "../shared/tensor/index.ts";
import { gpuClients } from "./support/gpu-client.ts";
import { testImage } from "./support/images.ts";
import { readJson } from "./support/json.ts";
import { gpuMetric } from "./support/metrics.ts";
import { tinyModel } from "./support/models.ts";

const secret = randomSecret();
const apiKey = `sk-test-${randomSecret()}`;
let model: { dir: string; manifest: Manifest };
let gpu: Running;
let edge: Running;
let assets: string;
let client: OpenAI;

beforeAll(async () => {
  model = await tinyModel("hybrid");
  assets = await mkdtemp(join(tmpdir(), "edge-assets-"));
  await prepareEdgeAssets(model.dir, assets);
  gpu = await startGpuService({ secret, env: { MODEL_DIR: model.dir, GPU_SERVICE_EXECUTION_PROVIDERS: "cpu" } });
  edge = await startEdge({ GPU_SERVICE_URL: gpu.url, GPU_SERVICE_SECRET: secret, API_KEYS: `other-key,${apiKey}` }, { assetsDir: assets });
  client = new OpenAI({ baseURL: `${edge.url}/v1`, apiKey, maxRetries: 0 });
});

afterAll(async () => {
  await Promise.all([edge?.stop(), gpu?.stop()]);
  if (assets) await rm(assets, { recursive: true, force: true });
});

const png = (width: number, height: number, seed: number) => encodePng(testImage(width, height, seed), width, height);
const dataUrl = (bytes: Uint8Array) => `data:image/png;base64,${Buffer.from(bytes).toString("base64")}`;

const photoA = png(320, 200, 1);
const photoB = png(150, 260, 2);

function conversation(a: string, b: string): OpenAI.Chat.ChatCompletionMessageParam[] {
  return [
    {
      role: "user",
      content: [
        { type: "image_url", image_url: { url: a } },
        { type: "text", text: "What is in this picture?" },
      ],
    },
    { role: "assistant", content: "A landscape." },
    {
      role: "user",
      content: [
        { type: "text", text: "And here?" },
        { type: "image_url", image_url: { url: b } },
      ],
    },
  ];
}

/** The same conversation run directly on the GPU service: ids and pixels computed by the product modules in Node. */
async function direct(
  messages: unknown,
  images: Uint8Array[],
  maxTokens: number,
): Promise<{ text: string; promptTokens: number; completionTokens: number }> {
  const tokenizer = new ChatTokenizer(await readFile(join(model.dir, "tokenizer.json"), "utf8"), tokenFacts(model.manifest));
  const { ids } = tokenize(renderPrompt(fromOpenAiMessages(messages).messages), tokenizer, { images: images.length });
  const wasm = nodeCodecWasm();
  const size = model.manifest.vision.imageSize;
  const pixels = [];
  for (const bytes of images) {
    const decoded = await decodeImage(bytes, { wasm });
    pixels.push(
      preprocess(decoded, { imageSize: size, imageMean: model.manifest.vision.imageMean, minSize: model.manifest.vision.minSize }).data,
    );
  }
  const request = {
    requestId: "direct",
    // Its own namespace: a cold run, never a prefix another request left.
    cacheNamespace: `direct-${Math.random()}`,
    inputIds: ids,
    images: pixels.map((data, i) => ({ key: `direct-${i}-${Math.random()}`, pixels: encodeTensor(DataType.UINT8, [3, size, size], data) })),
    sampling: { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, maxNewTokens: maxTokens, stopTokenIds: [] },
  } as unknown as GenerateRequest;
  const detokenizer = new IncrementalDetokenizer(tokenizer);
  let text = "";
  let completionTokens = 0;
  for await (const message of gpuClients(gpu.url, secret).inference.generate(request)) {
    if (message.event.case === "token") {
      completionTokens++;
      text += detokenizer.push(message.event.value.tokenId).text;
    }
  }
  return { text: text + detokenizer.finish().text, promptTokens: ids.length, completionTokens };
}

const metric = (name: string, labels?: string) => gpuMetric(gpu.url, name, labels);

describe("chat completions through the official openai client", () => {
  it("answers a multi-turn, multi-image conversation token for token like a direct GPU-service run", async () => {
    const completion = await client.chat.completions.create({
      model: model.manifest.name,
      messages: conversation(dataUrl(photoA), dataUrl(photoB)),
      max_tokens: 12,
    });
    const expected = await direct(conversation(dataUrl(photoA), dataUrl(photoB)), [photoA, photoB], 12);
    expect(expected.text.length).toBeGreaterThan(0);
    expect(completion.choices[0]!.message.content).toBe(expected.text);
    expect(completion.choices[0]!.finish_reason).toBe("length");
    expect(completion.usage).toMatchObject({
      prompt_tokens: expected.promptTokens,
      completion_tokens: 12,
      total_tokens: expected.promptTokens + 12,
    });
    expect(completion.model).toBe(model.manifest.name);
  });

  it("starts turn 2 from turn 1's cached prompt, reports it as cached_tokens, and answers as a cold run does", async () => {
    const photo = dataUrl(png(200, 120, 9));
    const turn1: OpenAI.Chat.ChatCompletionMessageParam[] = [
      { role: "system", content: "You are a careful assistant." },
      {
        role: "user",
        content: [
          { type: "text", text: "What is in this picture?" },
          { type: "image_url", image_url: { url: photo } },
        ],
      },
    ];
    const first = await client.chat.completions.create({ model: model.manifest.name, messages: turn1, max_tokens: 8 });
    expect(first.usage?.prompt_tokens_details?.cached_tokens).toBe(0);
    const turn2 = [
      ...turn1,
      { role: "assistant" as const, content: first.choices[0]!.message.content! },
      { role: "user" as const, content: "And what colour is it?" },
    ];
    const hitsBefore = await metric("gpu_service_prefix_cache_hits");
    const second = await client.chat.completions.create({ model: model.manifest.name, messages: turn2, max_tokens: 12 });
    expect(second.usage!.prompt_tokens_details!.cached_tokens).toBeGreaterThanOrEqual(first.usage!.prompt_tokens);
    expect(second.usage!.prompt_tokens_details!.cached_tokens).toBeLessThan(second.usage!.prompt_tokens);
    expect(await metric("gpu_service_prefix_cache_hits")).toBe(hitsBefore + 1);
    const cold = await direct(turn2, [Buffer.from(photo.split(",")[1]!, "base64")], 12);
    expect(second.choices[0]!.message.content).toBe(cold.text);
  });

  it("streams the same answer as SSE chunks, with usage last when asked", async () => {
    const expected = await client.chat.completions.create({
      model: model.manifest.name,
      messages: conversation(dataUrl(photoA), dataUrl(photoB)),
      max_tokens: 12,
    });
    const stream = await client.chat.completions.create({
      model: model.manifest.name,
      messages: conversation(dataUrl(photoA), dataUrl(photoB)),
      max_tokens: 12,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    const finishes: (string | null)[] = [];
    let usage;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      if (chunk.usage) usage = chunk.usage;
      for (const choice of chunk.choices) {
        text += choice.delta.content ?? "";
        finishes.push(choice.finish_reason);
      }
    }
    expect(text).toBe(expected.choices[0]!.message.content);
    expect(chunks).toBeGreaterThan(3);
    expect(finishes.filter(Boolean)).toEqual(["length"]);
    expect(usage).toEqual(expected.usage);
  });

  it("takes the same request as multipart form data, images as file parts", async () => {
    const expected = await client.chat.completions.create({
      model: model.manifest.name,
      messages: conversation(dataUrl(photoA), dataUrl(photoB)),
      max_tokens: 6,
    });
    const form = new FormData();
    form.set(
      "request",
      JSON.stringify({ model: model.manifest.name, messages: conversation("attachment:first", "attachment:second"), max_tokens: 6 }),
    );
    form.set("first", new Blob([photoA], { type: "image/png" }), "a.png");
    form.set("second", new Blob([photoB], { type: "image/png" }), "b.png");
    const response = await fetch(`${edge.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}` },
      body: form,
    });
    expect(response.status).toBe(200);
    expect((await readJson(response)).choices[0].message.content).toBe(expected.choices[0]!.message.content);
  });

  it("does no vision work anywhere for images it has seen: the repeat travels as keys", async () => {
    const photoC = png(200, 200, 3);
    const ask = (turns: OpenAI.Chat.ChatCompletionMessageParam[]) =>
      client.chat.completions.create({ model: model.manifest.name, messages: turns, max_tokens: 4 });
    const first: OpenAI.Chat.ChatCompletionMessageParam[] = [
      {
        role: "user",
        content: [
          { type: "image_url", image_url: { url: dataUrl(photoC) } },
          { type: "text", text: "Describe." },
        ],
      },
    ];
    const answer = await ask(first);
    const runs = async () =>
      Promise.all(["siglip", "sam", "aligner"].map((graph) => metric("gpu_service_vision_images_encoded", `{graph="${graph}"}`)));
    const before = await runs();
    await ask([
      ...first,
      { role: "assistant", content: answer.choices[0]!.message.content },
      { role: "user", content: "More detail, please." },
    ]);
    expect(await runs()).toEqual(before);
  });

  it("computes SigLIP in the Worker with the edge placement: the GPU service runs only SAM and the aligner", async () => {
    const edgeAssets = await mkdtemp(join(tmpdir(), "edge-assets-siglip-"));
    await prepareEdgeAssets(model.dir, edgeAssets, { siglip: true });
    const edgeSiglip = await startEdge(
      { GPU_SERVICE_URL: gpu.url, GPU_SERVICE_SECRET: secret, API_KEYS: apiKey, SIGLIP_PLACEMENT: "edge" },
      { assetsDir: edgeAssets },
    );
    try {
      const runs = async () =>
        Promise.all(["siglip", "sam", "aligner"].map((graph) => metric("gpu_service_vision_images_encoded", `{graph="${graph}"}`)));
      const [siglip, sam, aligner] = await runs();
      const photoD = png(240, 180, 4);
      const edgeClient = new OpenAI({ baseURL: `${edgeSiglip.url}/v1`, apiKey, maxRetries: 0 });
      const answer = await edgeClient.chat.completions.create({
        model: model.manifest.name,
        messages: [
          {
            role: "user",
            content: [
              { type: "image_url", image_url: { url: dataUrl(photoD) } },
              { type: "text", text: "Describe." },
            ],
          },
        ],
        max_tokens: 4,
      });
      expect(answer.usage?.completion_tokens).toBe(4);
      expect(await runs()).toEqual([siglip, sam! + 1, aligner! + 1]);
    } finally {
      await edgeSiglip.stop();
      await rm(edgeAssets, { recursive: true, force: true });
    }
  });

  it("resends a key-only image with its pixels when a restarted GPU service no longer holds it", async () => {
    const photoE = png(210, 150, 5);
    const ask = () =>
      client.chat.completions.create({
        model: model.manifest.name,
        messages: [
          {
            role: "user",
            content: [
              { type: "image_url", image_url: { url: dataUrl(photoE) } },
              { type: "text", text: "Describe." },
            ],
          },
        ],
        max_tokens: 4,
      });
    const before = await ask();
    const { port } = gpu;
    const grpcPort = (gpu as Running & { grpcPort: number }).grpcPort;
    expect(await gpu.stop()).toBe(0);
    gpu = await startGpuService({ secret, port, grpcPort, env: { MODEL_DIR: model.dir, GPU_SERVICE_EXECUTION_PROVIDERS: "cpu" } });
    const runs = async () =>
      Promise.all(["siglip", "sam", "aligner"].map((graph) => metric("gpu_service_vision_images_encoded", `{graph="${graph}"}`)));
    const [siglip, sam, aligner] = await runs();
    const again = await ask();
    expect(again.choices[0]!.message.content).toBe(before.choices[0]!.message.content);
    // The edge still had the SigLIP features; the new service ran SAM and the aligner on the resent pixels.
    expect(await runs()).toEqual([siglip, sam! + 1, aligner! + 1]);
  });

  it("reports each token's log-probability and its most probable alternatives, JSON and streamed alike", async () => {
    const request = { model: model.manifest.name, messages: [{ role: "user" as const, content: "Count to five." }], max_tokens: 8 };
    const completion = await client.chat.completions.create({ ...request, logprobs: true, top_logprobs: 3 });
    const { content } = completion.choices[0]!.logprobs!;
    expect(content!.length).toBeGreaterThan(0);
    expect(content!.length).toBeLessThanOrEqual(completion.usage!.completion_tokens);
    // The tokens' bytes make up the text; greedy picks the most probable token, so it heads its alternatives.
    const bytes = Buffer.concat(content!.map((entry) => Buffer.from(entry.bytes!)));
    expect(bytes.toString("utf8")).toBe(completion.choices[0]!.message.content);
    for (const entry of content!) {
      expect(entry.top_logprobs).toHaveLength(3);
      expect(entry.top_logprobs[0]).toMatchObject({ token: entry.token, bytes: entry.bytes });
      expect(entry.top_logprobs[0]!.logprob).toBeCloseTo(entry.logprob, 5);
      const ranked = entry.top_logprobs.map((alternative) => alternative.logprob);
      expect(ranked).toEqual([...ranked].sort((a, b) => b - a));
      expect(Math.max(...ranked)).toBeLessThanOrEqual(0);
    }

    const stream = await client.chat.completions.create({ ...request, logprobs: true, top_logprobs: 3, stream: true });
    const streamed: OpenAI.Chat.ChatCompletionTokenLogprob[] = [];
    for await (const chunk of stream) streamed.push(...(chunk.choices[0]?.logprobs?.content ?? []));
    expect(streamed).toEqual(content);

    // Asked for nothing, it reports nothing.
    const plain = await client.chat.completions.create(request);
    expect(plain.choices[0]!.logprobs).toBeNull();
  });

  it("lists the served model", async () => {
    const models = await client.models.list();
    expect(models.data.map((entry) => entry.id)).toEqual([model.manifest.name]);
  });
});

describe("chat completions refuse what they cannot serve, OpenAI-style", () => {
  const post = (body: unknown, key = apiKey) =>
    fetch(`${edge.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const ok = () => ({ model: model.manifest.name, messages: [{ role: "user", content: "Hi" }] });

  it.each([
    ["n > 1", { n: 2 }, 400, "unsupported_parameter"],
    ["top_logprobs over 20", { logprobs: true, top_logprobs: 21 }, 400, "invalid_request"],
    ["top_logprobs without logprobs", { top_logprobs: 2 }, 400, "invalid_request"],
    ["an unknown model", { model: "gpt-4o" }, 404, "model_not_found"],
    ["temperature out of range", { temperature: 3 }, 400, "invalid_request"],
    ["max_tokens over the cap", { max_tokens: 100000 }, 400, "invalid_request"],
    [
      "an image in an assistant message",
      {
        messages: [
          { role: "user", content: "a" },
          { role: "assistant", content: [{ type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } }] },
          { role: "user", content: "b" },
        ],
      },
      400,
      "image_not_allowed",
    ],
    [
      "an http image URL",
      { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "http://example.com/a.png" } }] }] },
      400,
      "invalid_image_url",
    ],
    [
      "a loopback image URL",
      { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://127.0.0.1/a.png" } }] }] },
      400,
      "invalid_image_url",
    ],
    [
      "invalid base64",
      { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64,@@@" } }] }] },
      400,
      "invalid_image_url",
    ],
    [
      "bytes that are no image",
      { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64,aGVsbG8gd29ybGQ=" } }] }] },
      415,
      "unsupported_image_format",
    ],
  ])("%s", async (_, override, status, code) => {
    const response = await post({ ...ok(), ...override });
    expect(response.status).toBe(status);
    expect((await readJson(response)).error.code).toBe(code);
  });

  it("needs a valid API key", async () => {
    expect((await post(ok(), "sk-wrong")).status).toBe(401);
    const anonymous = await fetch(`${edge.url}/v1/chat/completions`, { method: "POST", body: JSON.stringify(ok()) });
    expect((await readJson(anonymous)).error.code).toBe("missing_api_key");
  });
});
