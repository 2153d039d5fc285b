// The edge's per-request work that the benchmarks time, as one piece of code for both sides: the benchmarks'
// Worker runs it inside workerd, the benchmark process runs it in Node for comparison.
import { type CodecWasm, preprocessImage, readImageHeader } from "../edge/image/index.ts";
import { type ChatTokenizer, fromOpenAiMessages, renderPrompt, tokenize } from "../edge/prompt/index.ts";

/** The 7B's processor (image_size 1024, the CLIP mean whose truncation is the pad colour): the larger of the two paths. */
export const PREPROCESS_7B = { imageSize: 1024, imageMean: [0.48145466, 0.4578275, 0.40821073], minSize: 14 } as const;

export type Preprocessed = {
  /** The decoded image's size after EXIF orientation. */
  width: number;
  height: number;
  /** uint8 [3, 1024, 1024]: what the edge sends to the GPU service. */
  pixels: Uint8Array;
};

/**
 * What the chat route does to each image: decode (format from the magic bytes), orient, resize, pad, lay out
 * planar — for a JPEG streamed row by row. The pixel cap is lifted: the benchmark measures the 12 MP photo the
 * edge's default cap refuses.
 */
export async function preprocessPhoto(bytes: Uint8Array, wasm: CodecWasm): Promise<Preprocessed> {
  const { width, height, orientation = 1 } = readImageHeader(bytes);
  const { data } = await preprocessImage(bytes, { wasm, maxPixels: 50_000_000, ...PREPROCESS_7B });
  return orientation >= 5 ? { width: height, height: width, pixels: data } : { width, height, pixels: data };
}

/** What the chat route does to a text-only request's OpenAI `messages`: normalize, render the template, tokenize. */
export function promptIds(messages: unknown, tokenizer: ChatTokenizer): number[] {
  return tokenize(renderPrompt(fromOpenAiMessages(messages).messages), tokenizer, { images: 0 }).ids;
}
