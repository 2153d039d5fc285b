import { Code, ConnectError } from "@connectrpc/connect";
import type { GenerateRequest, ImageInput as ImageMessage } from "../../shared/gen/deepseek_vl/v1/inference_pb.js";
import { DataType } from "../../shared/gen/deepseek_vl/v1/inference_pb.js";
import type { Manifest } from "../../shared/manifest/index.ts";
import { decodeTensor, TensorError } from "../../shared/tensor/index.ts";
import type { ImageInput } from "../runtime/index.ts";

const invalid = (message: string) => new ConnectError(message, Code.InvalidArgument);

/** Uint8 pixels [3,S,S] and/or fp16 SigLIP features [576,D] of one image, checked against the model. */
export function readImage(message: ImageMessage, index: number, manifest: Manifest): ImageInput {
  const { imageSize, imageTokens, featureDim } = manifest.vision;
  if (message.key.length === 0 || message.key.length > 256) throw invalid(`images[${index}].key must be 1 to 256 characters`);
  const image: ImageInput = { key: message.key };
  try {
    if (message.pixels) {
      image.pixels = decodeTensor(message.pixels, { dtype: DataType.UINT8, shape: [3, imageSize, imageSize] }).values;
    }
    if (message.siglipFeatures) {
      image.siglipFeatures = decodeTensor(message.siglipFeatures, { dtype: DataType.FLOAT16, shape: [imageTokens, featureDim] }).values;
    }
  } catch (error) {
    if (error instanceof TensorError) throw invalid(`images[${index}] (${message.key}): ${error.message}`);
    throw error;
  }
  return image;
}

/**
 * Token ids checked against the model: every id in the vocabulary, and the image tokens exactly
 * `imageTokens` per image. Adjacent images form one run of k x `imageTokens` ids (the reference fills
 * image tokens in order, wherever they stand). Returns where each image's tokens start.
 */
export function imageRuns(ids: readonly number[], imageCount: number, manifest: Manifest): number[] {
  const { vocabSize } = manifest.llm;
  const { image: imageId } = manifest.tokens;
  const { imageTokens } = manifest.vision;
  const starts: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id >= vocabSize) throw invalid(`input_ids[${i}] = ${id} is outside the vocabulary (size ${vocabSize})`);
    if (id !== imageId) continue;
    let end = i;
    while (end < ids.length && ids[end] === imageId) end++;
    if ((end - i) % imageTokens !== 0) {
      throw invalid(`the image-token run at input_ids[${i}] has ${end - i} tokens; each image takes exactly ${imageTokens}`);
    }
    for (let start = i; start < end; start += imageTokens) starts.push(start);
    i = end - 1;
  }
  if (starts.length !== imageCount) {
    throw invalid(`input_ids hold image tokens for ${starts.length} image(s) but the request has ${imageCount} image(s)`);
  }
  return starts;
}

/** Prompt length against the context, leaving room for max_new_tokens. */
export function checkContext(request: GenerateRequest, maxNewTokens: number, manifest: Manifest): void {
  const { contextLength } = manifest.llm;
  if (request.inputIds.length === 0) throw invalid("input_ids is empty");
  if (request.inputIds.length + maxNewTokens > contextLength) {
    throw invalid(
      `the prompt (${request.inputIds.length} tokens) plus max_new_tokens (${maxNewTokens}) exceeds the model's context of ${contextLength} tokens`,
    );
  }
}
