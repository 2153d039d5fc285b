// Whole image paths: uint8 pixels → tower features → aligner output (adaptor output), per model family.

import { alignerHybridSplit, alignerMlpGelu } from "./aligner.ts";
import { type SamOptions, samEncoder } from "./sam.ts";
import { SIGLIP_PREFIX_1_3B, SIGLIP_PREFIX_7B, type SiglipOptions, siglipEncoder } from "./siglip.ts";
import type { PixelBatch, Tensor64, WeightLookup } from "./weights.ts";

/** SigLIP options whose prefix defaults to the family's tower. */
export type TowerSiglipOptions = Omit<SiglipOptions, "prefix"> & { prefix?: string };

export interface ImagePath {
  /** SAM features [N, tokens, features] (7B only). */
  high?: Tensor64;
  /** SigLIP features [N, tokens, features]. */
  low: Tensor64;
  /** Aligner output [N, tokens, n_embed]: what replaces the image tokens. */
  embeds: Tensor64;
}

/** 7B: SAM(pixels) and SigLIP(Resize(pixels)) fused by the hybrid aligner. */
export function hybridImagePath(
  weights: WeightLookup,
  pixels: PixelBatch,
  options: { sam?: SamOptions; siglip: TowerSiglipOptions },
): ImagePath {
  const high = samEncoder(weights, pixels, options.sam);
  const low = siglipEncoder(weights, pixels, { ...options.siglip, prefix: options.siglip.prefix ?? SIGLIP_PREFIX_7B });
  return { high, low, embeds: alignerHybridSplit(weights, high, low) };
}

/** 1.3B: the `mlp_gelu` aligner over SigLIP(pixels). */
export function siglipImagePath(weights: WeightLookup, pixels: PixelBatch, options: TowerSiglipOptions): ImagePath {
  const low = siglipEncoder(weights, pixels, { ...options, prefix: options.prefix ?? SIGLIP_PREFIX_1_3B });
  return { low, embeds: alignerMlpGelu(weights, low) };
}
