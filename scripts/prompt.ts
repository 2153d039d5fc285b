// npm run prompt -- CONVERSATION.json --model-dir DIR [--max-tokens N]
// Renders a conversation (OpenAI `messages`, or a request body holding them) with the `deepseek` template and
// tokenizes it with the model directory's tokenizer, exactly as the edge does before calling the GPU.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  ChatTokenizer,
  checkTokenLimit,
  fromOpenAiMessages,
  type PromptTokens,
  renderPrompt,
  tokenFacts,
  tokenize,
} from "../edge/prompt/index.ts";
import { parseManifest } from "../shared/manifest/index.ts";

const usage = "usage: npm run prompt -- CONVERSATION.json --model-dir DIR [--max-tokens N]";

/** Ids separated by spaces, each image run shortened to `ID×LENGTH`. */
function formatIds({ ids, images }: PromptTokens): string {
  const pieces: string[] = [];
  let next = 0;
  for (const { start, length } of images) {
    pieces.push(...ids.slice(next, start).map(String), `${ids[start]}×${length}`);
    next = start + length;
  }
  pieces.push(...ids.slice(next).map(String));
  return pieces.join(" ");
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { "model-dir": { type: "string" }, "max-tokens": { type: "string" }, help: { type: "boolean", default: false } },
  });
  const modelDir = values["model-dir"];
  if (values.help || positionals.length !== 1 || !modelDir) {
    console.error(usage);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const maxTokens = values["max-tokens"] === undefined ? undefined : Number(values["max-tokens"]);
  const manifest = parseManifest(await readFile(join(modelDir, "manifest.json"), "utf8"));
  const tokenizer = new ChatTokenizer(await readFile(join(modelDir, manifest.tokenizer), "utf8"), tokenFacts(manifest));

  const body: unknown = JSON.parse(await readFile(positionals[0]!, "utf8"));
  const { messages, imageUrls } = fromOpenAiMessages(
    typeof body === "object" && body !== null && "messages" in body ? body.messages : body,
  );
  const prompt = renderPrompt(messages);
  const tokens = tokenize(prompt, tokenizer, { images: imageUrls.length });
  const budget = checkTokenLimit({ promptTokens: tokens.ids.length, maxTokens, contextLength: manifest.llm.contextLength });

  console.log(`prompt: ${JSON.stringify(prompt)}`);
  console.log(`ids: ${formatIds(tokens)}`);
  console.log(
    `count: ${tokens.ids.length} tokens, ${tokens.images.length} images; ${budget} of ${manifest.llm.contextLength} context tokens left for the completion`,
  );
}

main().catch((error: Error) => {
  console.error(`prompt: ${error.name}${"code" in error ? ` (${String(error.code)})` : ""}: ${error.message}`);
  process.exitCode = 1;
});
