// A bounded ramp to 4x the GPU service's capacity through the edge (real workerd, real service process, tiny
// model): what is admitted completes with exactly the tokens it gets alone with the same seed (nothing lost,
// duplicated or crossed between streams), the excess is refused with 429 (or 503) and Retry-After, and both
// processes stay healthy.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postChat, type Running, readChatStream, startGpuService } from "../../processes/index.ts";
import { gpuClients } from "../support/gpu-client.ts";
import { readJson } from "../support/json.ts";
import { gpuMetric } from "../support/metrics.ts";
import { startTestSystem, type TestSystem } from "../support/system.ts";

const MAX_BATCH = 2;
const MAX_QUEUE = 2;
const CAPACITY = MAX_BATCH + MAX_QUEUE;
/** Concurrent requests per step of the ramp: 1x, 2x, 3x and 4x the capacity. */
const RAMP = [1, 2, 3, 4].map((factor) => factor * CAPACITY);
/** Long enough that a step's requests overlap at the service; short enough to keep the ramp quick. */
const MAX_TOKENS = 48;

let system: TestSystem;
let model: TestSystem["model"];
let gpu: Running;
let edge: Running;
let apiKey: string;
let secret: string;

beforeAll(async () => {
  system = await startTestSystem({ gpuEnv: { GPU_SERVICE_MAX_BATCH: String(MAX_BATCH), GPU_SERVICE_MAX_QUEUE: String(MAX_QUEUE) } });
  ({ model, gpu, edge, apiKey, secret } = system);
});

afterAll(async () => {
  await system?.stop();
});

/** A seeded sampling request: each seed draws its own tokens. */
const body = (seed: number, stream: boolean) => ({
  model: model.manifest.name,
  messages: [{ role: "user", content: "Write a short poem about load balancers." }],
  max_tokens: MAX_TOKENS,
  temperature: 1,
  seed,
  ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
});

type Outcome =
  | { seed: number; admitted: true; text: string; completionTokens: number }
  | { seed: number; admitted: false; status: number; retryAfter: string | null; error: { code: string; type: string } };

/** One request to its end; half the ramp streams (SSE), half does not. */
async function run(seed: number, stream: boolean): Promise<Outcome> {
  const response = await postChat(edge.url, apiKey, body(seed, stream), AbortSignal.timeout(60_000));
  if (response.status !== 200) {
    return {
      seed,
      admitted: false,
      status: response.status,
      retryAfter: response.headers.get("retry-after"),
      error: (await readJson(response)).error,
    };
  }
  if (!stream) {
    const completion = await readJson(response);
    return { seed, admitted: true, text: completion.choices[0].message.content, completionTokens: completion.usage.completion_tokens };
  }
  const streamed = await readChatStream(response);
  expect(streamed.end).not.toBe("truncated");
  expect(streamed.eventsAfterEnd).toBe(0);
  // A refusal that arrives as an SSE error event under HTTP 200: recorded as such, so the checks below name it.
  if (streamed.error)
    return { seed, admitted: false, status: response.status, retryAfter: response.headers.get("retry-after"), error: streamed.error };
  return { seed, admitted: true, text: streamed.text, completionTokens: streamed.usage!.completion_tokens };
}

describe(`a ramp to 4x the capacity (batch ${MAX_BATCH} + queue ${MAX_QUEUE}), half the requests streaming`, () => {
  const steps: Outcome[][] = [];
  /** Odd seeds stream. */
  const streams = (seed: number) => seed % 2 === 1;
  const refused = () => steps.flat().filter((outcome): outcome is Extract<Outcome, { admitted: false }> => !outcome.admitted);

  beforeAll(async () => {
    let seed = 1000;
    for (const concurrency of RAMP) {
      const step = Array.from({ length: concurrency }, () => seed++);
      steps.push(await Promise.all(step.map((each) => run(each, streams(each)))));
    }
  });

  it("went past the capacity: the last step had both admitted and refused requests", () => {
    expect(steps.map((step) => step.length)).toEqual(RAMP);
    expect(steps.at(-1)!.some((outcome) => outcome.admitted)).toBe(true);
    expect(steps.at(-1)!.some((outcome) => !outcome.admitted)).toBe(true);
  });

  it("admits a burst of exactly the capacity in full: MAX_BATCH decoding plus MAX_QUEUE waiting", () => {
    expect(steps[0]!.filter((outcome) => !outcome.admitted)).toEqual([]);
  });

  it.each([
    ["non-streaming", false],
    ["streaming (refused before the stream starts, as an HTTP status)", true],
  ])("refuses the excess of %s requests with 429 (or 503) and Retry-After", (_, stream) => {
    const excess = refused().filter((outcome) => streams(outcome.seed) === stream);
    expect(excess.length).toBeGreaterThan(0);
    for (const outcome of excess) {
      expect({ seed: outcome.seed, status: outcome.status }).toEqual({ seed: outcome.seed, status: expect.toBeOneOf([429, 503]) });
      expect(outcome.retryAfter).toMatch(/^[1-9]\d*$/);
      expect(outcome.error).toMatchObject(
        outcome.status === 503 ? { code: "gpu_unavailable" } : { code: "gpu_busy", type: "rate_limit_error" },
      );
    }
  });

  it("completes every admitted request with exactly the tokens it gets alone with the same seed", async () => {
    const admitted = steps.flat().filter((outcome) => outcome.admitted);
    for (const outcome of admitted) {
      expect(outcome.completionTokens).toBe(MAX_TOKENS);
      expect(outcome).toEqual(await run(outcome.seed, false));
    }
    // Different seeds drew different texts, so a crossed stream could not pass unnoticed.
    expect(new Set(admitted.map((outcome) => outcome.text)).size).toBe(admitted.length);
  });

  it("leaves the edge healthy and nothing in flight at the service", async () => {
    expect((await fetch(`${edge.url}/healthz`)).status).toBe(200);
    expect(await gpuMetric(gpu.url, "gpu_service_sequences_active")).toBe(0);
    expect(await gpuMetric(gpu.url, "gpu_service_queue_depth")).toBe(0);
  });
});

describe("one place, no waiting room (GPU_SERVICE_MAX_BATCH=1, GPU_SERVICE_MAX_QUEUE=0: valid settings)", () => {
  it("still serves up to the batch: a lone request is admitted and completes", async () => {
    const service = await startGpuService({
      secret,
      env: {
        MODEL_DIR: model.dir,
        GPU_SERVICE_EXECUTION_PROVIDERS: "cpu",
        // The smallest valid limits: one sequence, no waiting room (the warm-up still runs two together).
        GPU_SERVICE_MAX_BATCH: "1",
        GPU_SERVICE_MAX_QUEUE: "0",
      },
    });
    try {
      const { inference } = gpuClients(service.url, secret);
      expect((await inference.health({})).message).toContain("serving");
      let tokens = 0;
      for await (const message of inference.generate({
        requestId: "lone",
        inputIds: [model.manifest.tokens.bos, 300, 301],
        sampling: { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, maxNewTokens: 4 },
      })) {
        if (message.event.case === "token") tokens++;
      }
      expect(tokens).toBe(4);
    } finally {
      await service.stop();
    }
  });
});
