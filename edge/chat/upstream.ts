import { Code, ConnectError } from "@connectrpc/connect";
import { ByteLru } from "../../shared/cache/index.ts";
import { DataType, type GenerateResponse, type SamplingParams } from "../../shared/gen/deepseek_vl/v1/inference_pb.js";
import type { Manifest } from "../../shared/manifest/index.ts";
import { encodeTensor } from "../../shared/tensor/index.ts";
import { type GpuReplica, type ReplicaHealth, withFailover } from "../gpu/index.ts";
import type { PreparedImage } from "./image-keys.ts";

/** Keys each GPU service replica is believed to hold in its encoder cache (bounded; a wrong belief costs one resend). */
export class HeldKeys {
  readonly #keys: ByteLru<string, true>;

  constructor(max = 4096) {
    this.#keys = new ByteLru({ maxBytes: max, sizeOf: () => 1 });
  }

  has(replica: GpuReplica, key: string): boolean {
    return this.#keys.has(heldKey(replica, key));
  }

  add(replica: GpuReplica, key: string): void {
    this.#keys.set(heldKey(replica, key), true);
  }

  delete(replica: GpuReplica, key: string): void {
    this.#keys.delete(heldKey(replica, key));
  }
}

const heldKey = (replica: GpuReplica, key: string) => `${replica.url} ${key}`;

export type UpstreamRequest = {
  requestId: string;
  /** The tenant's prefix-reuse namespace at the GPU service. */
  cacheNamespace: string;
  inputIds: number[];
  images: (PreparedImage & { features: Uint16Array | undefined })[];
  sampling: Omit<SamplingParams, "$typeName" | "$unknown">;
  manifest: Manifest;
  timeoutMs: number;
  signal: AbortSignal;
};

/**
 * Streams a Generate call on the first replica of `route` that takes it. A replica that is down, draining or full
 * before the first message passes the request to the next; once a message has arrived (and may have reached the
 * client) the request stays, and a failure ends the stream, so no answer is ever repeated or spliced.
 */
export async function* generate(
  route: readonly GpuReplica[],
  health: ReplicaHealth,
  held: HeldKeys,
  request: UpstreamRequest,
): AsyncGenerator<GenerateResponse> {
  const { value: opened, replica } = await withFailover(route, health, async (replica) => {
    const stream = generateOn(replica, held, request)[Symbol.asyncIterator]();
    return { stream, first: await stream.next() };
  });
  try {
    for (let next = opened.first; !next.done; next = await opened.stream.next()) yield next.value;
  } catch (error) {
    health.record(replica.url, error);
    throw error;
  } finally {
    await opened.stream.return(undefined);
  }
}

/**
 * One replica's Generate. Images it is believed to hold travel as their key alone; if it answers NOT_FOUND
 * (evicted, restarted), the request is sent once more with every image's pixels, as vLLM does with its media uuids.
 */
async function* generateOn(replica: GpuReplica, held: HeldKeys, request: UpstreamRequest): AsyncGenerator<GenerateResponse> {
  const { imageSize, imageTokens, featureDim } = request.manifest.vision;
  const call = async (full: boolean) => {
    const images = await Promise.all(
      request.images.map(async (image) =>
        !full && held.has(replica, image.key)
          ? { key: image.key }
          : {
              key: image.key,
              pixels: encodeTensor(DataType.UINT8, [3, imageSize, imageSize], await image.pixels()),
              ...(image.features ? { siglipFeatures: encodeTensor(DataType.FLOAT16, [imageTokens, featureDim], image.features) } : {}),
            },
      ),
    );
    return replica.clients.inference.generate(
      {
        requestId: request.requestId,
        cacheNamespace: request.cacheNamespace,
        inputIds: request.inputIds,
        sampling: request.sampling,
        images,
      },
      { timeoutMs: request.timeoutMs, signal: request.signal },
    );
  };
  let first = true;
  try {
    for await (const message of await call(false)) {
      if (first) for (const image of request.images) held.add(replica, image.key);
      first = false;
      yield message;
    }
  } catch (error) {
    if (!first || ConnectError.from(error).code !== Code.NotFound) throw error;
    for (const image of request.images) held.delete(replica, image.key);
    for await (const message of await call(true)) {
      if (first) for (const image of request.images) held.add(replica, image.key);
      first = false;
      yield message;
    }
  }
}
