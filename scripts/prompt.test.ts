import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Tokenizer } from "@huggingface/tokenizers";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

import { tokenizerJson } from "../converter/fixture/index.ts";
import { ManifestSchema } from "../shared/manifest/index.ts";

const run = promisify(execFile);
const SCRIPT = join(import.meta.dirname, "prompt.ts");
const SYS =
  "You are a helpful language and vision assistant. You are able to understand the visual content that the user provides, and assist the user with a variety of tasks using natural language.";

// A model directory as the converter writes it: manifest.json naming the tokenizer, whose specials sit at the VL ids.
const manifest = ManifestSchema.parse({
  format: "deepseek-vl-onnx",
  formatVersion: 2,
  kind: "siglip",
  name: "fixture",
  revision: "0".repeat(64),
  dtypes: ["fp32"],
  vision: { imageSize: 384, minSize: 14, imageMean: [0.5, 0.5, 0.5], padColor: [127, 127, 127], imageTokens: 576, featureDim: 1024 },
  llm: {
    hiddenSize: 64,
    numLayers: 2,
    numHeads: 4,
    numKeyValueHeads: 4,
    headDim: 16,
    intermediateSize: 128,
    vocabSize: 102400,
    maxPositionEmbeddings: 16384,
    contextLength: 4096,
    ropeTheta: 10000,
    rmsNormEps: 1e-6,
  },
  tokens: { bos: 100000, eos: 100001, pad: 100001, image: 100015 },
  template: "deepseek",
  tokenizer: "fixture-tokenizer.json",
});

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "prompt-cli-"));
  await writeFile(join(dir, "manifest.json"), JSON.stringify(manifest));
  await writeFile(join(dir, "fixture-tokenizer.json"), tokenizerJson());
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function cli(conversation: unknown, ...args: string[]) {
  const file = join(dir, "conversation.json");
  await writeFile(file, JSON.stringify(conversation));
  return run(process.execPath, [SCRIPT, file, "--model-dir", dir, ...args]);
}

describe("npm run prompt", () => {
  test("prints the rendered prompt as a JSON string, the ids with image runs summarized, and the count", async () => {
    const { stdout } = await cli({
      messages: [
        {
          role: "user",
          content: [
            { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } },
            { type: "text", text: "Describe each stage of this image." },
          ],
        },
      ],
    });
    const expectedPrompt = `${SYS}\n\nUser: <image_placeholder>Describe each stage of this image.\n\nAssistant:`;
    // Expected ids from the tokenizer library directly: the pieces around the added token, BOS first.
    const library = new Tokenizer(JSON.parse(tokenizerJson()), {});
    const head = library.encode(`${SYS}\n\nUser: `, { add_special_tokens: false }).ids;
    const tail = library.encode("Describe each stage of this image.\n\nAssistant:", { add_special_tokens: false }).ids;
    const count = 1 + head.length + 576 + tail.length;
    expect(stdout).toBe(
      [
        `prompt: ${JSON.stringify(expectedPrompt)}`,
        `ids: ${[100000, ...head, "100015×576", ...tail].join(" ")}`,
        `count: ${count} tokens, 1 images; ${4096 - count} of 4096 context tokens left for the completion`,
        "",
      ].join("\n"),
    );
  });

  test("accepts a bare messages array and --max-tokens", async () => {
    const { stdout } = await cli([{ role: "user", content: "Hi" }], "--max-tokens", "512");
    expect(stdout).toContain(`prompt: ${JSON.stringify(`${SYS}\n\nUser: Hi\n\nAssistant:`)}\n`);
    expect(stdout).toMatch(/^ids: 100000 \d+/m);
    expect(stdout).toMatch(/0 images; 512 of 4096 context tokens left/);
  });

  test("reports prompt errors with their code and exits 1", async () => {
    const failure = await cli([{ role: "assistant", content: "Hi" }]).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({
      code: 1,
      stderr: "prompt: PromptError (first_not_user): messages[0]: the first non-system message must come from the user\n",
    });
    const tooLong = await cli([{ role: "user", content: "Hi" }], "--max-tokens", "5000").catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(tooLong).toMatchObject({ code: 1, stderr: expect.stringContaining("PromptError (context_length_exceeded)") });
  });

  test("usage error without --model-dir", async () => {
    const failure = await run(process.execPath, [SCRIPT, "x.json"]).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 2, stderr: expect.stringContaining("usage: npm run prompt") });
  });
});
