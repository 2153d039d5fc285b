// Numeric building blocks shared by every module of the reference. Activations are Float64Array,
// row-major; every sum accumulates in float64. Nothing here is tuned for speed beyond keeping the
// innermost loop over contiguous memory.

import { ReferenceInputError, type WeightTensor } from "./weights.ts";

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/**
 * The error function to double precision. Uses erf(x) = 2/√π · e^(−x²) · Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)),
 * whose terms are all positive (no cancellation); beyond |x| = 6, 1 − |erf x| < 1e-17.
 */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (a >= 6) return Math.sign(x);
  let term = a;
  let sum = a;
  for (let n = 0; term > sum * 1e-17; n++) {
    term *= (2 * a * a) / (2 * n + 3);
    sum += term;
  }
  return Math.sign(x) * TWO_OVER_SQRT_PI * Math.exp(-a * a) * sum;
}

/** Exact (erf) GELU, as `nn.GELU()` with its default approximate="none" (reference §3.1, §4, §5). */
export function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

export function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

/** y[r] = W · x[r] (+ b) for a Linear with weight [out, in]; x holds `rows` rows of `in` values. */
export function linear(x: Float64Array, rows: number, weight: WeightTensor, bias?: WeightTensor): Float64Array {
  const [outDim, inDim] = weight.shape as [number, number];
  if (x.length !== rows * inDim) {
    throw new ReferenceInputError(`linear: input has ${x.length} values, expected ${rows}x${inDim}`);
  }
  if (bias !== undefined && bias.data.length !== outDim) {
    throw new ReferenceInputError(`linear: bias has ${bias.data.length} values, expected ${outDim}`);
  }
  const w = weight.data;
  const y = new Float64Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    const xOffset = r * inDim;
    for (let o = 0; o < outDim; o++) {
      const wOffset = o * inDim;
      let sum = bias === undefined ? 0 : bias.data[o]!;
      for (let i = 0; i < inDim; i++) sum += x[xOffset + i]! * w[wOffset + i]!;
      y[r * outDim + o] = sum;
    }
  }
  return y;
}

/** LayerNorm over the last `dim` values of each row: biased variance, then the affine weight and bias. */
export function layerNorm(x: Float64Array, dim: number, weight: WeightTensor, bias: WeightTensor, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let offset = 0; offset < x.length; offset += dim) {
    let mean = 0;
    for (let i = 0; i < dim; i++) mean += x[offset + i]!;
    mean /= dim;
    let variance = 0;
    for (let i = 0; i < dim; i++) variance += (x[offset + i]! - mean) ** 2;
    variance /= dim;
    const inv = 1 / Math.sqrt(variance + eps);
    for (let i = 0; i < dim; i++) y[offset + i] = (x[offset + i]! - mean) * inv * weight.data[i]! + bias.data[i]!;
  }
  return y;
}

/** Llama RMSNorm of each row: (x · 1/√(mean(x²) + eps)) · w (reference §6). */
export function rmsNorm(x: Float64Array, dim: number, weight: WeightTensor, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let offset = 0; offset < x.length; offset += dim) {
    let meanSquare = 0;
    for (let i = 0; i < dim; i++) meanSquare += x[offset + i]! ** 2;
    meanSquare /= dim;
    const inv = 1 / Math.sqrt(meanSquare + eps);
    for (let i = 0; i < dim; i++) y[offset + i] = x[offset + i]! * inv * weight.data[i]!;
  }
  return y;
}

export function mapInPlace(x: Float64Array, f: (value: number) => number): Float64Array {
  for (let i = 0; i < x.length; i++) x[i] = f(x[i]!);
  return x;
}

/** x += y elementwise (residual connections). */
export function addInPlace(x: Float64Array, y: Float64Array): Float64Array {
  if (x.length !== y.length) throw new ReferenceInputError(`add: ${x.length} vs ${y.length} values`);
  for (let i = 0; i < x.length; i++) x[i] = x[i]! + y[i]!;
  return x;
}

export interface AttentionShape {
  queries: number;
  keys: number;
  heads: number;
  /** Heads of k and v; query head h reads kv head ⌊h / (heads / kvHeads)⌋ (grouped-query attention). */
  kvHeads: number;
  headDim: number;
  /** Multiplies q·k before the bias is added. */
  scale: number;
  /** Query i sees keys 0..i only (otherwise all keys). */
  causal?: boolean;
  /** Adds to the scaled logits of one query row (its visible keys), e.g. SAM's decomposed relative positions. */
  addLogitBias?: (head: number, query: number, logits: Float64Array) => void;
}

/**
 * softmax(scale·q·kᵀ + bias)·v per head. q is [queries, heads·headDim], k and v are [keys, kvHeads·headDim],
 * each row head-major; the result has the layout of q (heads concatenated, ready for the output projection).
 */
export function multiHeadAttention(q: Float64Array, k: Float64Array, v: Float64Array, shape: AttentionShape): Float64Array {
  const { queries, keys, heads, kvHeads, headDim, scale } = shape;
  if (heads % kvHeads !== 0) throw new ReferenceInputError(`attention: ${heads} heads do not group into ${kvHeads} kv heads`);
  const qStride = heads * headDim;
  const kvStride = kvHeads * headDim;
  if (q.length !== queries * qStride || k.length !== keys * kvStride || v.length !== keys * kvStride) {
    throw new ReferenceInputError("attention: q/k/v sizes do not match the attention shape");
  }
  const group = heads / kvHeads;
  const out = new Float64Array(queries * qStride);
  const logits = new Float64Array(keys);
  const kHead = new Float64Array(keys * headDim);
  const vHead = new Float64Array(keys * headDim);
  const qRow = new Float64Array(headDim);
  const acc = new Float64Array(headDim);
  for (let h = 0; h < heads; h++) {
    // Gather this head's keys and values contiguously.
    const kvOffset = Math.floor(h / group) * headDim;
    for (let j = 0; j < keys; j++) {
      kHead.set(k.subarray(j * kvStride + kvOffset, j * kvStride + kvOffset + headDim), j * headDim);
      vHead.set(v.subarray(j * kvStride + kvOffset, j * kvStride + kvOffset + headDim), j * headDim);
    }
    for (let i = 0; i < queries; i++) {
      const visible = shape.causal === true ? Math.min(i + 1, keys) : keys;
      const row = logits.subarray(0, visible);
      const qOffset = i * qStride + h * headDim;
      qRow.set(q.subarray(qOffset, qOffset + headDim));
      for (let j = 0; j < visible; j++) {
        let dot = 0;
        const kOffset = j * headDim;
        for (let d = 0; d < headDim; d++) dot += qRow[d]! * kHead[kOffset + d]!;
        row[j] = dot * scale;
      }
      shape.addLogitBias?.(h, i, row);
      let max = -Infinity;
      for (let j = 0; j < visible; j++) if (row[j]! > max) max = row[j]!;
      if (!(max > -Infinity)) throw new ReferenceInputError(`attention: query ${i} has no visible key with a finite logit`);
      let total = 0;
      for (let j = 0; j < visible; j++) {
        const p = Math.exp(row[j]! - max);
        row[j] = p;
        total += p;
      }
      acc.fill(0);
      for (let j = 0; j < visible; j++) {
        const p = row[j]!;
        const vOffset = j * headDim;
        for (let d = 0; d < headDim; d++) acc[d] = acc[d]! + p * vHead[vOffset + d]!;
      }
      for (let d = 0; d < headDim; d++) out[qOffset + d] = acc[d]! / total;
    }
  }
  return out;
}

/** A channels-first feature map [C, H, W]. */
export interface FeatureMap {
  channels: number;
  height: number;
  width: number;
  data: Float64Array;
}

/** Conv2d with weight [O, C, kh, kw], optional bias, square stride and zero padding (PyTorch semantics). */
export function conv2d(x: FeatureMap, weight: WeightTensor, bias: WeightTensor | undefined, stride: number, padding: number): FeatureMap {
  const [outChannels, inChannels, kh, kw] = weight.shape as [number, number, number, number];
  if (inChannels !== x.channels) throw new ReferenceInputError(`conv2d: weight takes ${inChannels} channels, input has ${x.channels}`);
  const height = Math.floor((x.height + 2 * padding - kh) / stride) + 1;
  const width = Math.floor((x.width + 2 * padding - kw) / stride) + 1;
  const y = new Float64Array(outChannels * height * width);
  const w = weight.data;
  for (let o = 0; o < outChannels; o++) {
    for (let oy = 0; oy < height; oy++) {
      for (let ox = 0; ox < width; ox++) {
        let sum = bias === undefined ? 0 : bias.data[o]!;
        for (let c = 0; c < inChannels; c++) {
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * stride - padding + ky;
            if (iy < 0 || iy >= x.height) continue;
            const xRow = (c * x.height + iy) * x.width;
            const wRow = ((o * inChannels + c) * kh + ky) * kw;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * stride - padding + kx;
              if (ix < 0 || ix >= x.width) continue;
              sum += x.data[xRow + ix]! * w[wRow + kx]!;
            }
          }
        }
        y[(o * height + oy) * width + ox] = sum;
      }
    }
  }
  return { channels: outChannels, height, width, data: y };
}

/** SAM's LayerNorm2d: per pixel, normalise over the channels (biased variance), then per-channel affine. */
export function layerNorm2d(x: FeatureMap, weight: WeightTensor, bias: WeightTensor, eps: number): FeatureMap {
  const pixels = x.height * x.width;
  const y = new Float64Array(x.data.length);
  for (let p = 0; p < pixels; p++) {
    let mean = 0;
    for (let c = 0; c < x.channels; c++) mean += x.data[c * pixels + p]!;
    mean /= x.channels;
    let variance = 0;
    for (let c = 0; c < x.channels; c++) variance += (x.data[c * pixels + p]! - mean) ** 2;
    variance /= x.channels;
    const inv = 1 / Math.sqrt(variance + eps);
    for (let c = 0; c < x.channels; c++) {
      y[c * pixels + p] = (x.data[c * pixels + p]! - mean) * inv * weight.data[c]! + bias.data[c]!;
    }
  }
  return { ...x, data: y };
}

/** [C, H, W] -> [H·W, C]: one row per pixel, pixels row-major (token t = row·W + col). */
export function channelsToTokens(x: FeatureMap): Float64Array {
  const pixels = x.height * x.width;
  const y = new Float64Array(x.data.length);
  for (let c = 0; c < x.channels; c++) {
    for (let p = 0; p < pixels; p++) y[p * x.channels + c] = x.data[c * pixels + p]!;
  }
  return y;
}

/** [H·W, C] -> [C, H, W], the inverse of `channelsToTokens`. */
export function tokensToChannels(tokens: Float64Array, height: number, width: number, channels: number): FeatureMap {
  const pixels = height * width;
  const data = new Float64Array(tokens.length);
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < channels; c++) data[c * pixels + p] = tokens[p * channels + c]!;
  }
  return { channels, height, width, data };
}

/** Splits fused qkv rows [rows, 3·dim] laid out [3][heads][headDim] into q, k and v, each [rows, dim]. */
export function splitQkv(qkv: Float64Array, rows: number, dim: number): { q: Float64Array; k: Float64Array; v: Float64Array } {
  const q = new Float64Array(rows * dim);
  const k = new Float64Array(rows * dim);
  const v = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const offset = r * 3 * dim;
    q.set(qkv.subarray(offset, offset + dim), r * dim);
    k.set(qkv.subarray(offset + dim, offset + 2 * dim), r * dim);
    v.set(qkv.subarray(offset + 2 * dim, offset + 3 * dim), r * dim);
  }
  return { q, k, v };
}

/** Linear → exact GELU → Linear, all biased: the ViT MLPs and the 1.3B aligner. */
export function geluMlp(
  x: Float64Array,
  rows: number,
  w1: WeightTensor,
  b1: WeightTensor,
  w2: WeightTensor,
  b2: WeightTensor,
): Float64Array {
  return linear(mapInPlace(linear(x, rows, w1, b1), gelu), rows, w2, b2);
}
