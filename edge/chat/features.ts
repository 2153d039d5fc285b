import { ByteLru } from "../../shared/cache/index.ts";
import { DataType } from "../../shared/gen/deepseek_vl/v1/inference_pb.js";
import type { Manifest } from "../../shared/manifest/index.ts";
import { decodeTensor, encodeTensor } from "../../shared/tensor/index.ts";
import { type GpuReplica, type ReplicaHealth, withFailover } from "../gpu/index.ts";
import { locationCache } from "../location-cache.ts";
import { createSiglipEncoder, type SiglipEncoder, workerdOrtWasm } from "../siglip/index.ts";
import type { PreparedImage } from "./image-keys.ts";

/** Computes SigLIP features (fp16 bits, [576, featureDim]) for images the caches do not hold. */
export type FeatureSource = (images: PreparedImage[]) => Promise<Uint16Array[]>;

const CACHE_ORIGIN = "https://siglip-features.cache";

/**
 * SigLIP features by content key: an isolate-local LRU bounded in bytes, then the Cache API of the
 * location, then the configured source (the GPU service's EncodeImages, or the edge's own encoder).
 */
export class FeatureCache {
  readonly #memory: ByteLru<string, Uint16Array>;
  /** Computations (each image's key) since the isolate started: what a repeat must not add to. */
  computed = 0;

  constructor(maxBytes: number) {
    this.#memory = new ByteLru({ maxBytes, sizeOf: (value) => value.byteLength });
  }

  async features(images: PreparedImage[], source: FeatureSource, manifest: Manifest): Promise<Uint16Array[]> {
    const size = manifest.vision.imageTokens * manifest.vision.featureDim;
    const found = await Promise.all(
      images.map(async (image) => this.#memory.get(image.key) ?? (await this.#fromCacheApi(image.key, size))),
    );
    const missing = images.filter((_, i) => found[i] === undefined);
    if (missing.length > 0) {
      const computed = await source(missing);
      this.computed += missing.length;
      missing.forEach((image, m) => {
        const features = computed[m]!;
        if (features.length !== size) throw new Error(`SigLIP features of ${image.key} have ${features.length} values, expected ${size}`);
        found[images.indexOf(image)] = features;
        this.#store(image.key, features);
      });
    }
    return found as Uint16Array[];
  }

  #store(key: string, features: Uint16Array): void {
    this.#memory.set(key, features);
    const body = new Uint8Array(features.buffer, features.byteOffset, features.byteLength).slice();
    const response = new Response(body, {
      headers: { "cache-control": "public, max-age=604800", "content-type": "application/octet-stream" },
    });
    // Best effort: the Cache API is a location-wide second level; losing an entry only costs a recompute.
    void locationCache()
      ?.put(`${CACHE_ORIGIN}/${key}`, response)
      .catch(() => undefined);
  }

  async #fromCacheApi(key: string, size: number): Promise<Uint16Array | undefined> {
    const response = await locationCache()
      ?.match(`${CACHE_ORIGIN}/${key}`)
      .catch(() => undefined);
    if (!response) return undefined;
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.byteLength !== size * 2) return undefined;
    const features = new Uint16Array(bytes.buffer, bytes.byteOffset, size);
    this.#memory.set(key, features);
    return features;
  }
}

/**
 * The gpu placement: SigLIP on the GPU service (EncodeImages), one call for all missing images, on the request's
 * route (the replica its Generate will reach, so that replica keeps the pixels' encodings too).
 */
export function gpuFeatureSource(
  route: readonly GpuReplica[],
  health: ReplicaHealth,
  manifest: Manifest,
  timeoutMs: number,
): FeatureSource {
  const { imageSize, imageTokens, featureDim } = manifest.vision;
  return async (images) => {
    const pixels = await Promise.all(images.map((image) => image.pixels()));
    const request = {
      images: images.map((image, i) => ({ key: image.key, pixels: encodeTensor(DataType.UINT8, [3, imageSize, imageSize], pixels[i]!) })),
    };
    const { value: response } = await withFailover(route, health, (replica) =>
      replica.clients.inference.encodeImages(request, { timeoutMs }),
    );
    return response.siglipFeatures.map(
      (tensor) => decodeTensor(tensor, { dtype: DataType.FLOAT16, shape: [imageTokens, featureDim] }).values,
    );
  };
}

/** The edge placement's SigLIP encoder: one, for one model revision (an isolate keeps one of these). */
export class EdgeEncoderCache {
  #current: { revision: string; encoder: Promise<SiglipEncoder> } | undefined;

  /** The encoder of `manifest`'s revision, its graph read with `readGraph` on first use (again after a failure). */
  encoder(manifest: Manifest, readGraph: () => Promise<ArrayBuffer>): Promise<SiglipEncoder> {
    if (this.#current?.revision !== manifest.revision) {
      const encoder = readGraph().then((graph) => createSiglipEncoder(graph, manifest, { wasm: workerdOrtWasm }));
      encoder.catch(() => (this.#current = undefined));
      this.#current = { revision: manifest.revision, encoder };
    }
    return this.#current.encoder;
  }
}

/** The edge placement: SigLIP inside the Worker (onnxruntime-web), its graph read from the static assets on first use. */
export function edgeFeatureSource(encoders: EdgeEncoderCache, manifest: Manifest, readGraph: () => Promise<ArrayBuffer>): FeatureSource {
  const pending = encoders.encoder(manifest, readGraph);
  return async (images) => (await pending).encodeBatch(await Promise.all(images.map((image) => image.pixels())));
}
