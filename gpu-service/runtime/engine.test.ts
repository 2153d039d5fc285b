import { beforeAll, describe, expect, it } from "vitest";
import { tinyModel } from "../../test/support/models.ts";
import { createLogger } from "../log.ts";
import { openModelDirectory } from "../model/index.ts";
import { SequenceRng } from "../sampling/index.ts";
import { type Runtime, type RuntimeOptions, startRuntime } from "./runtime.ts";

let runtime: Runtime;

beforeAll(async () => {
  const { dir } = await tinyModel("hybrid");
  const options: RuntimeOptions = {
    executionProviders: ["cpu"],
    modelDtype: "fp32",
    cpuThreads: 1,
    encoderCacheBytes: 64 * 1024 * 1024,
    kvCacheBytes: 0,
    prefillChunkTokens: 512,
    deviceBufferLimitBytes: 128 * 1024 * 1024,
    maxBatch: 4,
    maxQueue: 4,
    retryAfterMs: 1000,
  };
  runtime = await startRuntime(
    await openModelDirectory(dir),
    options,
    createLogger(() => {}),
    {},
  );
}, 180_000);

/** Greedy tokens of one request through the engine, and the prompt tokens it took from the prefix cache. */
async function greedyRun(inputIds: number[], maxNewTokens: number, repetitionPenalty = 1, cacheNamespace = "") {
  const tokens: number[] = [];
  const result = await runtime.engine.generate({
    id: "test",
    cacheNamespace,
    topLogprobs: 0,
    inputIds,
    images: [],
    imageStarts: [],
    sampling: { temperature: 0, topK: 0, topP: 1, repetitionPenalty },
    rng: new SequenceRng(0n),
    maxNewTokens,
    stopTokenIds: new Set(),
    signal: new AbortController().signal,
    onToken: (token) => tokens.push(token),
  });
  return { tokens, cached: result.cachedPromptTokens };
}

const greedy = async (inputIds: number[], maxNewTokens: number, repetitionPenalty = 1) =>
  (await greedyRun(inputIds, maxNewTokens, repetitionPenalty)).tokens;

describe("GenerationEngine", () => {
  it("starts a prompt that extends a finished sequence from its prompt and answer, with the cold run's tokens", async () => {
    const { bos } = runtime.model.manifest.tokens;
    const namespace = `turns-${Math.random()}`;
    const turn1 = [bos, 310, 311, 312, 313];
    const first = await greedyRun(turn1, 9, 1, namespace);
    expect(first.cached).toBe(0);
    // The next turn repeats the first with its whole answer; the answer's last token never ran through the decoder.
    const turn2 = [...turn1, ...first.tokens, 314, 315];
    const second = await greedyRun(turn2, 9, 1, namespace);
    expect(second.cached).toBe(turn1.length + first.tokens.length - 1);
    const cold = await greedyRun(turn2, 9, 1, `cold-${Math.random()}`);
    expect(cold.cached).toBe(0);
    expect(second.tokens).toEqual(cold.tokens);
    // Another tenant with the same tokens starts cold.
    expect((await greedyRun(turn2, 1, 1, `other-${Math.random()}`)).cached).toBe(0);
  });

  it("applies the repetition penalty to generated tokens only, never to the prompt", async () => {
    const { bos } = runtime.model.manifest.tokens;
    // The prompt: a start and the model's greedy continuation up to its first repeated token, so the token
    // the model predicts next is already in the prompt.
    const start = [bos, 300, 301, 302];
    const continuation = await greedy(start, 64);
    const repeat = continuation.findIndex((token, i) => [...start, ...continuation.slice(0, i)].includes(token));
    const prompt = [...start, ...continuation.slice(0, repeat)];
    const [next] = await greedy(prompt, 1);
    expect(prompt).toContain(next);
    // The first token is drawn with nothing generated yet: a penalty, however strong, has nothing to act on.
    const [penalized] = await greedy(prompt, 1, 1e6);
    expect(penalized).toBe(next);
  });
});
