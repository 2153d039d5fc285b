// Three GPU service replicas behind one edge (real processes on loopback, tiny model on the CPU): cache-affine
// routing, spill past a full replica, and failover when one is killed mid-load.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChatError, encodePng, postChat, readChatStream } from "../processes/index.ts";
import { testImage } from "./support/images.ts";
import { readJson } from "./support/json.ts";
import { waitFor } from "./support/metrics.ts";
import { startTestSystem, type TestSystem } from "./support/system.ts";

const GENERATE = 'procedure="deepseek_vl.v1.InferenceService/Generate"';
/** Replica 0 takes one sequence and keeps no waiting room: a second concurrent request is refused with 429. */
const SMALL_REPLICA = 0;
/** The replica killed under load. */
const KILLED_REPLICA = 2;

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem({
    replicas: 3,
    replicaEnv: { [SMALL_REPLICA]: { GPU_SERVICE_MAX_BATCH: "1", GPU_SERVICE_MAX_QUEUE: "0" } },
  });
}, 240_000);

afterAll(async () => {
  await system?.stop();
});

/** The sum of a metric's series on one replica whose labels contain every one of `labels` (0 when none is exported yet). */
async function metric(replica: number, name: string, ...labels: string[]): Promise<number> {
  const text = await (await fetch(`${system.gpus[replica]!.url}/metrics`)).text();
  return text
    .split("\n")
    .filter((line) => (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && labels.every((label) => line.includes(label)))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
}

const perReplica = (name: string, ...labels: string[]) => Promise.all(system.gpus.map((_, i) => metric(i, name, ...labels)));
const servedCounts = () => perReplica("gpu_service_requests_total", GENERATE, 'code="ok"');
const delta = (after: number[], before: number[]) => after.map((value, i) => value - before[i]!);

const png = (seed: number) => encodePng(testImage(64, 48, seed), 64, 48);
const dataUrl = (bytes: Uint8Array) => `data:image/png;base64,${Buffer.from(bytes).toString("base64")}`;

type Message = { role: "user" | "assistant"; content: string | object[] };

async function complete(messages: Message[], maxTokens = 4): Promise<string> {
  const response = await postChat(system.edge.url, system.apiKey, { model: system.model.manifest.name, messages, max_tokens: maxTokens });
  const body = await readJson(response);
  expect(response.status, JSON.stringify(body)).toBe(200);
  return body.choices[0].message.content;
}

/** The replica that serves `messages` when every replica is idle: its rendezvous winner. */
async function servingReplica(messages: Message[]): Promise<number> {
  const before = await servedCounts();
  await complete(messages);
  const served = delta(await servedCounts(), before);
  expect(served.reduce((a, b) => a + b)).toBe(1);
  return served.indexOf(1);
}

describe("cache-affine routing", () => {
  it("encodes each of 10 distinct images exactly once across the replicas when each is sent 3 times", async () => {
    const graphs = ["siglip", "sam"] as const;
    const before = await Promise.all(graphs.map((graph) => perReplica("gpu_service_vision_images_encoded", `graph="${graph}"`)));
    for (let send = 0; send < 3; send++) {
      for (let image = 0; image < 10; image++) {
        await complete([
          {
            role: "user",
            content: [
              { type: "text", text: `Send ${send}: what is in this picture?` },
              { type: "image_url", image_url: { url: dataUrl(png(100 + image)) } },
            ],
          },
        ]);
      }
    }
    const encoded = await Promise.all(
      graphs.map(async (graph, g) => delta(await perReplica("gpu_service_vision_images_encoded", `graph="${graph}"`), before[g]!)),
    );
    for (const perGraph of encoded) expect(perGraph.reduce((a, b) => a + b)).toBe(10);
    // Spread by the images' keys, not all on one replica.
    expect(encoded[1]!.filter((count) => count > 0).length).toBeGreaterThan(1);
  });

  it("sends every turn of a conversation to one replica", async () => {
    // Replicas are ranked by their URLs, whose ports differ from run to run, so which replica a conversation keeps
    // is not fixed: conversations go on until two replicas were used (all 16 on one replica: 1 run in 14 million).
    const replicasUsed = new Set<number>();
    for (let conversation = 0; conversation < 16 && replicasUsed.size < 2; conversation++) {
      const before = await servedCounts();
      const messages: Message[] = [{ role: "user", content: `Conversation ${conversation}: tell me about rivers.` }];
      for (let turn = 0; turn < 3; turn++) {
        messages.push({ role: "assistant", content: await complete(messages) });
        messages.push({ role: "user", content: `Turn ${turn + 2}: and then?` });
      }
      const served = delta(await servedCounts(), before);
      expect(served.filter((count) => count > 0)).toEqual([3]);
      replicasUsed.add(served.indexOf(3));
    }
    expect(replicasUsed.size).toBeGreaterThan(1);
  });
});

describe("a full replica", () => {
  it("spills a request it refuses (429) to the next replica, and the client never sees the refusal", async () => {
    // Openings whose rendezvous winner is the small replica, found one request at a time.
    const openings: Message[][] = [];
    for (let i = 0; openings.length < 3 && i < 60; i++) {
      const messages: Message[] = [{ role: "user", content: `Spill ${i}: describe the sea.` }];
      if ((await servingReplica(messages)) === SMALL_REPLICA) openings.push(messages);
    }
    expect(openings).toHaveLength(3);
    const refusedBefore = await metric(SMALL_REPLICA, "gpu_service_requests_total", GENERATE, 'code="ResourceExhausted"');
    const servedBefore = await servedCounts();
    // At once: the small replica admits one, refuses the others, and the edge sends those on.
    const answers = await Promise.all(openings.map((messages) => complete(messages, 64)));
    expect(answers).toHaveLength(3);
    const refused = (await metric(SMALL_REPLICA, "gpu_service_requests_total", GENERATE, 'code="ResourceExhausted"')) - refusedBefore;
    expect(refused).toBeGreaterThanOrEqual(1);
    const served = delta(await servedCounts(), servedBefore);
    expect(served.reduce((a, b) => a + b)).toBe(3);
    expect(served[SMALL_REPLICA]).toBeLessThan(3);
  });
});

type Outcome =
  | { index: number; startedAt: number; ok: true; text: string }
  | { index: number; startedAt: number; ok: false; status: number; streamed: boolean; error: ChatError };

describe("a replica killed while 60 requests are in flight", () => {
  it("loses nothing it had not started streaming, ends its streams with an error event, and duplicates nothing", async () => {
    const killed = system.gpus[KILLED_REPLICA]!;
    const prompt = (index: number): Message[] => [{ role: "user", content: `Request ${index}: write about mountains.` }];
    const body = (index: number, stream: boolean) => ({
      model: system.model.manifest.name,
      messages: prompt(index),
      max_tokens: 48,
      stream,
    });
    let killedAt = Number.POSITIVE_INFINITY;
    let finished = 0;

    async function run(index: number): Promise<Outcome> {
      const stream = index % 2 === 0;
      const startedAt = performance.now();
      const response = await postChat(system.edge.url, system.apiKey, body(index, stream), AbortSignal.timeout(120_000));
      if (response.status !== 200)
        return { index, startedAt, ok: false, status: response.status, streamed: false, error: (await readJson(response)).error };
      if (!stream) return { index, startedAt, ok: true, text: (await readJson(response)).choices[0].message.content };
      const streamed = await readChatStream(response);
      expect(streamed.end).not.toBe("truncated");
      expect(streamed.eventsAfterEnd).toBe(0);
      if (streamed.error) return { index, startedAt, ok: false, status: 200, streamed: true, error: streamed.error };
      return { index, startedAt, ok: true, text: streamed.text };
    }

    const outcomes: Outcome[] = [];
    let next = 0;
    const worker = async () => {
      while (next < 60) {
        const outcome = await run(next++);
        outcomes.push(outcome);
        finished++;
      }
    };
    const killer = (async () => {
      await waitFor(() => finished >= 10, "10 requests to finish", 120_000);
      await waitFor(async () => (await metric(KILLED_REPLICA, "gpu_service_sequences_active")) > 0, "a sequence on the replica", 120_000);
      killedAt = performance.now();
      process.kill(-killed.process.pid!, "SIGKILL");
    })();
    await Promise.all([...Array.from({ length: 9 }, worker), killer]);
    expect(outcomes).toHaveLength(60);

    const failures = outcomes.filter((outcome) => !outcome.ok);
    // Only streams the killed replica was answering failed, each with an error event: a non-streamed answer had
    // sent nothing yet, so it ran again on the next replica.
    for (const failure of failures) {
      expect(failure.startedAt).toBeLessThan(killedAt);
      expect(failure.streamed).toBe(true);
      expect(failure.error.code).toBe("gpu_unavailable");
    }
    expect(outcomes.filter((outcome) => outcome.index % 2 === 1).every((outcome) => outcome.ok)).toBe(true);
    // Every answer is whole: the same greedy text the request gets alone, now, from the replicas left.
    for (const outcome of outcomes.filter((outcome) => outcome.ok)) {
      expect(outcome.text).toBe(await complete(prompt(outcome.index), 48));
    }

    const health = await fetch(`${system.edge.url}/healthz`);
    expect(health.status).toBe(200);
    const report = await readJson(health);
    expect(report.gpu.serving).toBe(2);
    expect(report.gpu.replicas[KILLED_REPLICA]).toMatchObject({ replica: KILLED_REPLICA, reachable: false });
  });
});
