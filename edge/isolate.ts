import { createFileKeys, EdgeEncoderCache, type FeatureCache, type FileKeys, HeldKeys } from "./chat/index.ts";
import type { Bindings, readConfig } from "./config.ts";
import { ReplicaHealth } from "./gpu/index.ts";
import { type CodecInstances, createCodecInstances } from "./image/index.ts";
import { EdgeModelCache } from "./model/index.ts";
import type { ResponseStore } from "./responses/index.ts";

/**
 * What a Worker isolate keeps between its requests: caches only, each bounded, any of them safe to lose
 * (the isolate itself can be dropped at any time). Made once per isolate by the app; handlers see it as
 * `c.var.isolate`.
 */
export type IsolateState = {
  /** The configuration read for each bindings object (workerd hands every request of an isolate the same one). */
  readonly configs: WeakMap<Bindings, ReturnType<typeof readConfig>>;
  /** The model's manifest (read once) and tokenizer (one, for one model revision). */
  readonly model: EdgeModelCache;
  /** SigLIP features by content key, bounded by FEATURE_CACHE_BYTES: made on first use, as its bound is configuration. */
  features: FeatureCache | undefined;
  /** Responses kept for previous_response_id and item_reference, bounded by RESPONSES_STORE_BYTES: made on first use. */
  responses: ResponseStore | undefined;
  /** Image keys each GPU service replica is believed to hold (at most 4096 in all). */
  readonly heldKeys: HeldKeys;
  /** What calls and probes taught of each GPU service replica's health (routing passes over the down and the busy). */
  readonly replicaHealth: ReplicaHealth;
  /** Content keys of image files already preprocessed (about 1 MiB of keys). */
  readonly fileKeys: FileKeys;
  /** The edge placement's SigLIP encoder (one, for one model revision). */
  readonly encoders: EdgeEncoderCache;
  /** The image codecs' instances (one per codec, dropped after a call that grew its memory past 32 MiB). */
  readonly codecs: CodecInstances;
};

export function createIsolateState(): IsolateState {
  return {
    configs: new WeakMap(),
    model: new EdgeModelCache(),
    features: undefined,
    responses: undefined,
    heldKeys: new HeldKeys(),
    replicaHealth: new ReplicaHealth(),
    fileKeys: createFileKeys(),
    encoders: new EdgeEncoderCache(),
    codecs: createCodecInstances(),
  };
}
