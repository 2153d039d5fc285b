// SAM-B high-resolution tower of the 7B (`sam_b_downsample`, reference §3), from uint8 pixels.

import {
  addInPlace,
  channelsToTokens,
  conv2d,
  type FeatureMap,
  geluMlp,
  layerNorm,
  layerNorm2d,
  linear,
  multiHeadAttention,
  splitQkv,
  tokensToChannels,
} from "./ops.ts";
import { normalizeChannels, rescaleUint8, resizeBilinear } from "./resize.ts";
import { countBlocks, type PixelBatch, ReferenceInputError, requireWeight, type Tensor64, type WeightLookup } from "./weights.ts";

export const SAM_PREFIX = "vision_model.vision_tower_high.vision_tower.";
/** OpenAI-CLIP mean and std, SAM's in-tower Normalize (reference §2.3). */
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

export interface SamOptions {
  /** Official name prefix (`SAM_PREFIX`). */
  prefix?: string;
  /** Window of the non-global blocks (14). */
  windowSize?: number;
  /** Blocks with global attention (2, 5, 8, 11); the first one feeds the HD branch. */
  globalAttnIndexes?: readonly number[];
  /** Side of the bilinear resize after the necks (96). */
  resizeTo?: number;
  /** eps of norm1/norm2 and of the necks' LayerNorm2d (1e-6). */
  layerNormEps?: number;
  pixelMean?: readonly number[];
  pixelStd?: readonly number[];
}

/** What the weights fix: width/patch from `patch_embed`, grid from `pos_embed`, head_dim from `rel_pos_h`. */
export interface SamDims {
  width: number;
  patchSize: number;
  grid: number;
  imageSize: number;
  depth: number;
  heads: number;
  headDim: number;
}

export function samDims(weights: WeightLookup, prefix = SAM_PREFIX): SamDims {
  const patch = requireWeight(weights, `${prefix}patch_embed.proj.weight`);
  const [width, channels, patchSize, patchWidth] = patch.shape as [number, number, number, number];
  if (channels !== 3 || patchWidth !== patchSize) {
    throw new ReferenceInputError(`${prefix}patch_embed.proj.weight: expected [D,3,p,p], got [${patch.shape}]`);
  }
  const grid = requireWeight(weights, `${prefix}pos_embed`, [1, -1, -1, width]).shape[1]!;
  const headDim = requireWeight(weights, `${prefix}blocks.0.attn.rel_pos_h`).shape[1]!;
  if (width % headDim !== 0) throw new ReferenceInputError(`sam: width ${width} is not a multiple of head_dim ${headDim}`);
  return {
    width,
    patchSize,
    grid,
    imageSize: grid * patchSize,
    depth: countBlocks(weights, `${prefix}blocks.`, "norm1.weight"),
    heads: width / headDim,
    headDim,
  };
}

/** The `sam_encoder` graph: uint8 [N,3,S,S] → [N, (resizeTo/4)², channels of the last downsample]. */
export function samEncoder(weights: WeightLookup, pixels: PixelBatch, options: SamOptions = {}): Tensor64 {
  const prefix = options.prefix ?? SAM_PREFIX;
  const dims = samDims(weights, prefix);
  const [n, channels, height, width] = pixels.shape;
  if (channels !== 3 || height !== dims.imageSize || width !== dims.imageSize) {
    throw new ReferenceInputError(`sam: expected [N,3,${dims.imageSize},${dims.imageSize}] pixels, got [${pixels.shape}]`);
  }
  const imageValues = 3 * height * width;
  const outputs: Float64Array[] = [];
  let outShape: [number, number] = [0, 0];
  for (let b = 0; b < n; b++) {
    const image = pixels.data.subarray(b * imageValues, (b + 1) * imageValues);
    const features = samImage(weights, image, dims, prefix, options);
    outShape = [features.height * features.width, features.channels];
    outputs.push(channelsToTokens(features));
  }
  const data = new Float64Array(n * outShape[0] * outShape[1]);
  outputs.forEach((o, b) => data.set(o, b * o.length));
  return { shape: [n, ...outShape], data };
}

function samImage(weights: WeightLookup, image: Uint8Array, dims: SamDims, prefix: string, options: SamOptions): FeatureMap {
  const eps = options.layerNormEps ?? 1e-6;
  const windowSize = options.windowSize ?? 14;
  const globalIndexes = options.globalAttnIndexes ?? [2, 5, 8, 11];
  const resizeTo = options.resizeTo ?? 96;
  const firstGlobal = Math.min(...globalIndexes);
  if (!(firstGlobal < dims.depth)) {
    throw new ReferenceInputError(`sam: the HD branch needs a global block below depth ${dims.depth}, got [${globalIndexes}]`);
  }
  const w = (name: string) => requireWeight(weights, prefix + name);
  const side = dims.imageSize;
  const unit: FeatureMap = { channels: 3, height: side, width: side, data: rescaleUint8(image) };
  const input = normalizeChannels(unit, options.pixelMean ?? CLIP_MEAN, options.pixelStd ?? CLIP_STD);

  // Patch embed, NCHW → NHWC (one row per grid cell, row-major), plus the absolute position embedding.
  const patches = conv2d(input, w("patch_embed.proj.weight"), w("patch_embed.proj.bias"), dims.patchSize, 0);
  const x = addInPlace(channelsToTokens(patches), Float64Array.from(w("pos_embed").data));

  let firstGlobalOutput: Float64Array | undefined;
  for (let i = 0; i < dims.depth; i++) {
    const blockPrefix = `${prefix}blocks.${i}.`;
    const block = (name: string) => requireWeight(weights, blockPrefix + name);
    const h = layerNorm(x, dims.width, block("norm1.weight"), block("norm1.bias"), eps);
    const window = globalIndexes.includes(i) ? 0 : windowSize;
    addInPlace(x, samBlockAttention(weights, blockPrefix, h, dims.grid, window, dims.heads));
    const h2 = layerNorm(x, dims.width, block("norm2.weight"), block("norm2.bias"), eps);
    addInPlace(
      x,
      geluMlp(h2, dims.grid ** 2, block("mlp.lin1.weight"), block("mlp.lin1.bias"), block("mlp.lin2.weight"), block("mlp.lin2.bias")),
    );
    if (i === firstGlobal) firstGlobalOutput = Float64Array.from(x);
  }

  const main = samProject(weights, prefix, "neck.", x, dims, resizeTo, eps);
  const hd = samProject(weights, prefix, "neck_hd.", firstGlobalOutput!, dims, resizeTo, eps);
  const alpha = requireWeight(weights, `${prefix}hd_alpha_downsamples`, [1]).data[0]!;
  for (let j = 0; j < main.data.length; j++) main.data[j] = main.data[j]! + alpha * hd.data[j]!;
  return main;
}

/** neck (or neck_hd) → bilinear resize → the shared stride-2 downsample convs: D(Interp(N(h))) (§3.3). */
function samProject(
  weights: WeightLookup,
  prefix: string,
  neck: string,
  tokens: Float64Array,
  dims: SamDims,
  resizeTo: number,
  eps: number,
): FeatureMap {
  const w = (name: string) => requireWeight(weights, prefix + name);
  let y = tokensToChannels(tokens, dims.grid, dims.grid, dims.width);
  y = conv2d(y, w(`${neck}0.weight`), undefined, 1, 0);
  y = layerNorm2d(y, w(`${neck}1.weight`), w(`${neck}1.bias`), eps);
  y = conv2d(y, w(`${neck}2.weight`), undefined, 1, 1);
  y = layerNorm2d(y, w(`${neck}3.weight`), w(`${neck}3.bias`), eps);
  y = resizeBilinear(y, resizeTo);
  const downsamples = countBlocks(weights, `${prefix}downsamples.`, "weight");
  for (let k = 0; k < downsamples; k++) y = conv2d(y, w(`downsamples.${k}.weight`), undefined, 2, 1);
  return y;
}

/**
 * A block's attention (after norm1) over the grid×grid tokens [grid², width], projection included.
 * `windowSize` 0 means global. Otherwise the grid is zero-padded at the bottom/right to a multiple of the window,
 * cut into windows in row-major order, each attended on its own (padded tokens are ordinary, unmasked keys),
 * merged back and cropped (§3.2).
 */
export function samBlockAttention(
  weights: WeightLookup,
  blockPrefix: string,
  h: Float64Array,
  grid: number,
  windowSize: number,
  heads: number,
): Float64Array {
  if (windowSize === 0) return samAttention(weights, blockPrefix, h, grid, heads);
  const dim = h.length / (grid * grid);
  const windows = windowPartition(h, grid, dim, windowSize);
  return windowMerge(
    windows.map((window) => samAttention(weights, blockPrefix, window, windowSize, heads)),
    grid,
    dim,
    windowSize,
  );
}

/** Zero-pads [grid², dim] tokens to a multiple of `size` and cuts them into row-major windows of [size², dim]. */
export function windowPartition(tokens: Float64Array, grid: number, dim: number, size: number): Float64Array[] {
  const perSide = Math.ceil(grid / size);
  const windows: Float64Array[] = [];
  for (let wy = 0; wy < perSide; wy++) {
    for (let wx = 0; wx < perSide; wx++) {
      const window = new Float64Array(size * size * dim);
      for (let r = 0; r < size; r++) {
        for (let c = 0; c < size; c++) {
          const y = wy * size + r;
          const x = wx * size + c;
          if (y >= grid || x >= grid) continue;
          window.set(tokens.subarray((y * grid + x) * dim, (y * grid + x + 1) * dim), (r * size + c) * dim);
        }
      }
      windows.push(window);
    }
  }
  return windows;
}

/** Inverse of `windowPartition`: reassembles the windows and crops the padding away. */
export function windowMerge(windows: readonly Float64Array[], grid: number, dim: number, size: number): Float64Array {
  const perSide = Math.ceil(grid / size);
  if (windows.length !== perSide * perSide) throw new ReferenceInputError(`window merge: ${windows.length} windows for a ${grid} grid`);
  const tokens = new Float64Array(grid * grid * dim);
  for (let y = 0; y < grid; y++) {
    for (let x = 0; x < grid; x++) {
      const window = windows[Math.floor(y / size) * perSide + Math.floor(x / size)]!;
      const t = (y % size) * size + (x % size);
      tokens.set(window.subarray(t * dim, (t + 1) * dim), (y * grid + x) * dim);
    }
  }
  return tokens;
}

/**
 * SAM attention over a side×side grid of tokens: qkv ([3][heads][head_dim]), logits
 * q·k/√head_dim + q·Rh[i − i' + side − 1] + q·Rw[j − j' + side − 1] with the *unscaled* q, softmax over all
 * keys, heads concatenated, then `proj`.
 */
export function samAttention(weights: WeightLookup, blockPrefix: string, x: Float64Array, side: number, heads: number): Float64Array {
  const w = (name: string, shape?: number[]) => requireWeight(weights, blockPrefix + name, shape);
  const tokens = side * side;
  const dim = x.length / tokens;
  const headDim = dim / heads;
  const relH = w("attn.rel_pos_h", [2 * side - 1, headDim]).data;
  const relW = w("attn.rel_pos_w", [2 * side - 1, headDim]).data;
  const { q, k, v } = splitQkv(linear(x, tokens, w("attn.qkv.weight"), w("attn.qkv.bias")), tokens, dim);

  // relRow[h][p][i'] = q_p · Rh[i − i' + side − 1], relCol[h][p][j'] = q_p · Rw[j − j' + side − 1].
  const relRow = new Float64Array(heads * tokens * side);
  const relCol = new Float64Array(heads * tokens * side);
  for (let head = 0; head < heads; head++) {
    for (let p = 0; p < tokens; p++) {
      const i = Math.floor(p / side);
      const j = p % side;
      const qOffset = p * dim + head * headDim;
      for (let other = 0; other < side; other++) {
        let row = 0;
        let col = 0;
        const hOffset = (i - other + side - 1) * headDim;
        const wOffset = (j - other + side - 1) * headDim;
        for (let d = 0; d < headDim; d++) {
          row += q[qOffset + d]! * relH[hOffset + d]!;
          col += q[qOffset + d]! * relW[wOffset + d]!;
        }
        relRow[(head * tokens + p) * side + other] = row;
        relCol[(head * tokens + p) * side + other] = col;
      }
    }
  }
  const attended = multiHeadAttention(q, k, v, {
    queries: tokens,
    keys: tokens,
    heads,
    kvHeads: heads,
    headDim,
    scale: 1 / Math.sqrt(headDim),
    addLogitBias: (head, p, logits) => {
      const base = (head * tokens + p) * side;
      for (let row = 0; row < side; row++) {
        for (let col = 0; col < side; col++) {
          logits[row * side + col] = logits[row * side + col]! + relRow[base + row]! + relCol[base + col]!;
        }
      }
    },
  });
  return linear(attended, tokens, w("attn.proj.weight"), w("attn.proj.bias"));
}
