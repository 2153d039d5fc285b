import { Code, ConnectError } from "@connectrpc/connect";
import { ByteLru } from "../../shared/cache/index.ts";
import { DataType, type GenerateResponse, type SamplingParams } from "../../shared/gen/deepseek_vl/v1/inference_pb.js";
import type { Manifest } from "../../shared/manifest/index.ts";
import { encodeTensor } from "../../shared/tensor/index.ts";
import type { GpuClients } from "../gpu/index.ts";
import type { PreparedImage } from "./image-keys.ts";

/** Keys the GPU service is believed to hold in its encoder cache (bounded; a wrong belief costs one resend). */
export class HeldKeys {
  readonly #keys: ByteLru<string, true>;

  constructor(max = 4096) {
    this.#keys = new ByteLru({ maxBytes: max, sizeOf: () => 1 });
  }

  has(key: string): boolean {
    return this.#keys.has(key);
  }

  add(key: string): void {
    this.#keys.set(key, true);
  }

  delete(key: string): void {
    this.#keys.delete(key);
  }
}

export type UpstreamRequest = {
  requestId: string;
  inputIds: number[];
  images: (PreparedImage & { features: Uint16Array | undefined })[];
  sampling: Omit<SamplingParams, "$typeName" | "$unknown">;
  manifest: Manifest;
  timeoutMs: number;
  signal: AbortSignal;
};

/**
 * Streams a Generate call. Images the GPU service is believed to hold travel as their key alone; if
 * it answers NOT_FOUND (evicted, restarted, another instance), the request is sent once more with
 * every image's pixels, as vLLM does with its media uuids.
 */
export async function* generate(gpu: GpuClients, held: HeldKeys, request: UpstreamRequest): AsyncGenerator<GenerateResponse> {
  const { imageSize, imageTokens, featureDim } = request.manifest.vision;
  const call = async (full: boolean) => {
    const images = await Promise.all(
      request.images.map(async (image) =>
        !full && held.has(image.key)
          ? { key: image.key }
          : {
              key: image.key,
              pixels: encodeTensor(DataType.UINT8, [3, imageSize, imageSize], await image.pixels()),
              ...(image.features ? { siglipFeatures: encodeTensor(DataType.FLOAT16, [imageTokens, featureDim], image.features) } : {}),
            },
      ),
    );
    return gpu.inference.generate(
      { requestId: request.requestId, inputIds: request.inputIds, sampling: request.sampling, images },
      { timeoutMs: request.timeoutMs, signal: request.signal },
    );
  };
  let first = true;
  try {
    for await (const message of await call(false)) {
      if (first) for (const image of request.images) held.add(image.key);
      first = false;
      yield message;
    }
  } catch (error) {
    if (!first || ConnectError.from(error).code !== Code.NotFound) throw error;
    for (const image of request.images) held.delete(image.key);
    for await (const message of await call(true)) {
      if (first) for (const image of request.images) held.add(image.key);
      first = false;
      yield message;
    }
  }
}
