import { PromptError } from "./errors.ts";
import type { ChatTokenizer } from "./tokenizer.ts";

/** Where one image's token run sits in the ids. */
export interface ImageRun {
  start: number;
  length: number;
}

export interface PromptTokens {
  /** BOS, then the prompt's ids with each image placeholder expanded to `imageTokens` image ids. */
  ids: number[];
  /** One run per image, in order of appearance (the order the images are sent in). */
  images: ImageRun[];
}

export interface TokenizeOptions {
  /** The number of images the conversation carries; the prompt must have exactly as many placeholders. */
  images: number;
}

/** Tokenizes a rendered prompt as the reference's `process_one` does (reference §8.2). */
export function tokenize(prompt: string, tokenizer: ChatTokenizer, options: TokenizeOptions): PromptTokens {
  const { bos, image, imageTokens } = tokenizer.facts;
  const ids = [bos];
  const images: ImageRun[] = [];
  for (const id of tokenizer.encode(prompt)) {
    if (id === bos) throw new PromptError("reserved_text", "the prompt contains the BOS token; BOS is added once, at the start");
    if (id !== image) {
      ids.push(id);
      continue;
    }
    images.push({ start: ids.length, length: imageTokens });
    for (let k = 0; k < imageTokens; k++) ids.push(image);
  }
  if (images.length !== options.images) {
    throw new PromptError(
      "image_count_mismatch",
      `the prompt has ${images.length} image placeholders but the conversation has ${options.images} images`,
    );
  }
  return { ids, images };
}
