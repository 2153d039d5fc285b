import { ByteLru } from "../../shared/cache/index.ts";
import type { Activations } from "./activations.ts";
import { fromFloat16Bits } from "./activations.ts";
import { RuntimeError } from "./errors.ts";
import type { VisionLanguageModel } from "./model.ts";

/** One image of a request: its content key, and pixels and/or SigLIP features when sent. */
export type ImageInput = {
  key: string;
  /** uint8 [3,S,S] */
  pixels?: Uint8Array | undefined;
  /** fp16 bits [576,1024] */
  siglipFeatures?: Uint16Array | undefined;
};

export type VisionRuns = { siglip: number; sam: number; aligner: number };

/**
 * Image embeddings (adaptor outputs) for a request's images, from the encoder cache when it holds
 * them; otherwise SAM, SigLIP (unless the features came with the request) and the aligner run once
 * each, batched over the images that need them, and the results are cached.
 */
export class VisionEncoder {
  readonly #model: VisionLanguageModel;
  readonly cache: ByteLru<string, Activations>;
  /** Images each graph has encoded since start (metrics read these). */
  readonly runs: VisionRuns = { siglip: 0, sam: 0, aligner: 0 };

  constructor(model: VisionLanguageModel, cacheBytes: number) {
    this.#model = model;
    this.cache = new ByteLru({ maxBytes: cacheBytes, sizeOf: (value) => value.byteLength });
  }

  /** Throws RuntimeError "image_not_cached" for the first image that can be neither found nor computed. */
  async embeddings(images: readonly ImageInput[]): Promise<{ embeds: Activations[]; cached: number }> {
    const hybrid = this.#model.manifest.kind === "hybrid";
    const embeds: (Activations | undefined)[] = images.map((image) => this.cache.get(image.key));
    const missing = images.flatMap((image, i) => (embeds[i] === undefined ? [{ image, i }] : []));
    for (const { image } of missing) {
      if (!image.pixels && (hybrid || !image.siglipFeatures)) {
        const message = `image ${image.key} is not in the encoder cache: send its pixels`;
        throw new RuntimeError(message, { kind: "image_not_cached", imageKey: image.key });
      }
    }
    if (missing.length > 0) {
      const needSiglip = missing.filter(({ image }) => !image.siglipFeatures);
      const computed = needSiglip.length > 0 ? await this.siglip(needSiglip.map(({ image }) => image.pixels!)) : [];
      const low = missing.map(({ image }) =>
        image.siglipFeatures
          ? fromFloat16Bits(image.siglipFeatures, this.#model.act)
          : computed[needSiglip.findIndex((n) => n.image === image)]!,
      );
      let high: Activations[] | undefined;
      if (hybrid) {
        high = await this.#model.samFeatures(missing.map(({ image }) => image.pixels!));
        this.runs.sam += missing.length;
      }
      const aligned = await this.#model.align(low, high);
      this.runs.aligner += missing.length;
      missing.forEach(({ image, i }, m) => {
        embeds[i] = aligned[m]!;
        this.cache.set(image.key, aligned[m]!);
      });
    }
    return { embeds: embeds as Activations[], cached: images.length - missing.length };
  }

  /** SigLIP features per image (EncodeImages, and images sent without features). */
  async siglip(pixels: Uint8Array[]): Promise<Activations[]> {
    const features = await this.#model.siglipFeatures(pixels);
    this.runs.siglip += pixels.length;
    return features;
  }
}
