// SigLIP-L tower (reference §4): the 1.3B's only tower and the 7B's low-resolution tower, from uint8 pixels.

import { addInPlace, channelsToTokens, conv2d, type FeatureMap, geluMlp, layerNorm, linear, multiHeadAttention, splitQkv } from "./ops.ts";
import { normalizeChannels, rescaleUint8, resizeAntialiasedBilinear } from "./resize.ts";
import { countBlocks, type PixelBatch, ReferenceInputError, requireWeight, type Tensor64, type WeightLookup } from "./weights.ts";

export const SIGLIP_PREFIX_1_3B = "vision_model.vision_tower.";
export const SIGLIP_PREFIX_7B = "vision_model.vision_tower_low.vision_tower.";

export interface SiglipOptions {
  /** Official name prefix: `SIGLIP_PREFIX_1_3B` or `SIGLIP_PREFIX_7B`. */
  prefix: string;
  /** Attention heads (16 for SigLIP-L); head_dim = width / heads. */
  heads: number;
  /** LayerNorm eps of norm1, norm2 and the final norm (1e-6, §4). */
  layerNormEps?: number;
  /** Normalize(pixel_mean, pixel_std) inside the tower (0.5 / 0.5, §2.3). */
  pixelMean?: readonly number[];
  pixelStd?: readonly number[];
}

/** What the weights fix: width and patch from `patch_embed.proj.weight`, grid from `pos_embed`, depth by count. */
export interface SiglipDims {
  width: number;
  patchSize: number;
  grid: number;
  /** The tower's input side, grid · patch (384 for SigLIP-L/16-384). */
  imageSize: number;
  depth: number;
}

export function siglipDims(weights: WeightLookup, prefix: string): SiglipDims {
  const patch = requireWeight(weights, `${prefix}patch_embed.proj.weight`);
  const [width, channels, patchSize, patchWidth] = patch.shape as [number, number, number, number];
  if (channels !== 3 || patchWidth !== patchSize) {
    throw new ReferenceInputError(`${prefix}patch_embed.proj.weight: expected [D,3,p,p], got [${patch.shape}]`);
  }
  const tokens = requireWeight(weights, `${prefix}pos_embed`, [1, -1, width]).shape[1]!;
  const grid = Math.round(Math.sqrt(tokens));
  if (grid * grid !== tokens) throw new ReferenceInputError(`${prefix}pos_embed: ${tokens} positions are not a square grid`);
  return { width, patchSize, grid, imageSize: grid * patchSize, depth: countBlocks(weights, `${prefix}blocks.`, "norm1.weight") };
}

/**
 * The `siglip_encoder` graph: uint8 [N,3,S,S] → [N, grid², width]. When S differs from the tower's input size
 * (the 7B: S = 1024), the [0,1] image is first resized with torchvision `Resize(size, antialias=True)` (§2.4).
 */
export function siglipEncoder(weights: WeightLookup, pixels: PixelBatch, options: SiglipOptions): Tensor64 {
  const dims = siglipDims(weights, options.prefix);
  const [n, channels, height, width] = pixels.shape;
  if (channels !== 3 || height !== width) throw new ReferenceInputError(`siglip: expected [N,3,S,S] pixels, got [${pixels.shape}]`);
  const tokens = dims.grid * dims.grid;
  const out = new Float64Array(n * tokens * dims.width);
  const imageValues = 3 * height * width;
  for (let b = 0; b < n; b++) {
    const image = pixels.data.subarray(b * imageValues, (b + 1) * imageValues);
    out.set(siglipImage(weights, image, height, dims, options), b * tokens * dims.width);
  }
  return { shape: [n, tokens, dims.width], data: out };
}

function siglipImage(weights: WeightLookup, image: Uint8Array, side: number, dims: SiglipDims, options: SiglipOptions): Float64Array {
  const { prefix, heads } = options;
  const eps = options.layerNormEps ?? 1e-6;
  const w = (name: string) => requireWeight(weights, prefix + name);
  let unit: FeatureMap = { channels: 3, height: side, width: side, data: rescaleUint8(image) };
  if (side !== dims.imageSize) unit = resizeAntialiasedBilinear(unit, dims.imageSize);
  const input = normalizeChannels(unit, options.pixelMean ?? [0.5, 0.5, 0.5], options.pixelStd ?? [0.5, 0.5, 0.5]);

  const patches = conv2d(input, w("patch_embed.proj.weight"), w("patch_embed.proj.bias"), dims.patchSize, 0);
  const tokens = dims.grid * dims.grid;
  const x = addInPlace(channelsToTokens(patches), Float64Array.from(w("pos_embed").data));

  if (dims.width % heads !== 0) throw new ReferenceInputError(`siglip: width ${dims.width} is not divisible by ${heads} heads`);
  const headDim = dims.width / heads;
  for (let i = 0; i < dims.depth; i++) {
    const block = (name: string) => w(`blocks.${i}.${name}`);
    const h = layerNorm(x, dims.width, block("norm1.weight"), block("norm1.bias"), eps);
    const { q, k, v } = splitQkv(linear(h, tokens, block("attn.qkv.weight"), block("attn.qkv.bias")), tokens, dims.width);
    const attended = multiHeadAttention(q, k, v, {
      queries: tokens,
      keys: tokens,
      heads,
      kvHeads: heads,
      headDim,
      scale: 1 / Math.sqrt(headDim),
    });
    addInPlace(x, linear(attended, tokens, block("attn.proj.weight"), block("attn.proj.bias")));
    const h2 = layerNorm(x, dims.width, block("norm2.weight"), block("norm2.bias"), eps);
    addInPlace(x, geluMlp(h2, tokens, block("mlp.fc1.weight"), block("mlp.fc1.bias"), block("mlp.fc2.weight"), block("mlp.fc2.bias")));
  }
  return layerNorm(x, dims.width, w("norm.weight"), w("norm.bias"), eps);
}
