// Pixel preprocessing that lives inside the encoder graphs (reference §2.3, §2.4, §3.3):
// rescale, per-channel normalisation and the two PyTorch resizes, each written from its definition.

import type { FeatureMap } from "./ops.ts";
import { ReferenceInputError } from "./weights.ts";

/** The official rescale: float64 `u / 255` stored as fp32 (DESIGN §4: divide, never multiply by fp32(1/255)). */
export function rescaleUint8(pixels: Uint8Array): Float64Array {
  const y = new Float64Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) y[i] = Math.fround(pixels[i]! / 255);
  return y;
}

/** torchvision Normalize: (x − mean_c) / std_c per channel of a [C, H, W] map. */
export function normalizeChannels(x: FeatureMap, mean: readonly number[], std: readonly number[]): FeatureMap {
  if (mean.length !== x.channels || std.length !== x.channels) {
    throw new ReferenceInputError(`normalize: ${mean.length} means / ${std.length} stds for ${x.channels} channels`);
  }
  const pixels = x.height * x.width;
  const data = new Float64Array(x.data.length);
  for (let c = 0; c < x.channels; c++) {
    for (let p = 0; p < pixels; p++) data[c * pixels + p] = (x.data[c * pixels + p]! - mean[c]!) / std[c]!;
  }
  return { ...x, data };
}

/** For one output index: the input indices it reads and their weights. */
export interface Tap {
  indices: number[];
  weights: number[];
}

const f32 = Math.fround;

/**
 * Taps of PyTorch's antialiased bilinear interpolation along one axis (`F.interpolate(mode="bilinear",
 * antialias=True, align_corners=False)`, as torchvision `Resize(antialias=True)` calls it), from its
 * definition in ATen's CPU upsample kernel:
 * - scale = in/out; the triangle filter's support (1) is widened to `scale` when downscaling, and the filter
 *   argument is divided by it;
 * - output i is centred at input coordinate scale·(i + 0.5); it reads the inputs x in
 *   [trunc(center − support + 0.5), trunc(center + support + 0.5)) clipped to the image (and to at most
 *   2·⌈support⌉ + 1 taps), with weight max(0, 1 − |x + 0.5 − center| / support);
 * - the weights of each output are normalised to sum to 1 (so border outputs renormalise their clipped taps).
 * For a float32 tensor ATen evaluates all this in float32 with some double intermediates; `fround` marks
 * every value it stores as float. That matters: at 1024 → 384 the float weights differ from exact ones by up
 * to 7e-6, well above fp32 rounding of the resized pixels.
 */
export function antialiasedBilinearTaps(inSize: number, outSize: number): Tap[] {
  const scale = f32(inSize / outSize);
  const support = Math.max(scale, 1);
  const invScale = scale >= 1 ? f32(1 / scale) : 1;
  const maxTaps = Math.ceil(support) * 2 + 1;
  const taps: Tap[] = [];
  for (let i = 0; i < outSize; i++) {
    const center = f32(scale * (i + 0.5));
    const first = Math.max(Math.trunc(f32(center - support) + 0.5), 0);
    const end = Math.min(Math.trunc(f32(center + support) + 0.5), inSize);
    const count = Math.min(Math.max(end - first, 0), maxTaps);
    const indices: number[] = [];
    const raw: number[] = [];
    let total = 0;
    for (let j = 0; j < count; j++) {
      const distance = Math.abs(f32((f32(first + j - center) + 0.5) * invScale));
      const w = distance < 1 ? f32(1 - distance) : 0;
      indices.push(first + j);
      raw.push(w);
      total = f32(total + w);
    }
    taps.push({ indices, weights: total === 0 ? raw : raw.map((w) => f32(w / total)) });
  }
  return taps;
}

/**
 * Taps of plain bilinear interpolation along one axis (`F.interpolate(mode="bilinear", align_corners=False)`,
 * no antialias), as ATen defines it (in float32 for a float32 tensor): source = scale·(i + 0.5) − 0.5 with
 * scale = in/out, negative sources clamp to 0 (`area_pixel_compute_source_index`); i0 = min(⌊source⌋, in − 1),
 * i1 = i0 + 1 except at the last input, λ = clamp(source − i0, 0, 1); output = (1 − λ)·x[i0] + λ·x[i1].
 */
export function bilinearTaps(inSize: number, outSize: number): Tap[] {
  const scale = f32(inSize / outSize);
  const taps: Tap[] = [];
  for (let i = 0; i < outSize; i++) {
    if (inSize === outSize) {
      taps.push({ indices: [i, i], weights: [1, 0] });
      continue;
    }
    const source = Math.max(f32(f32(scale * f32(i + 0.5)) - 0.5), 0);
    const i0 = Math.min(Math.floor(source), inSize - 1);
    const i1 = i0 < inSize - 1 ? i0 + 1 : i0;
    const lambda = Math.min(Math.max(f32(source - i0), 0), 1);
    taps.push({ indices: [i0, i1], weights: [f32(1 - lambda), lambda] });
  }
  return taps;
}

/** Separable resize of a [C, H, W] map: first along the width, then along the height (ATen's order). */
export function resizeSeparable(x: FeatureMap, heightTaps: readonly Tap[], widthTaps: readonly Tap[]): FeatureMap {
  const outHeight = heightTaps.length;
  const outWidth = widthTaps.length;
  const horizontal = new Float64Array(x.channels * x.height * outWidth);
  for (let c = 0; c < x.channels; c++) {
    for (let y = 0; y < x.height; y++) {
      const row = (c * x.height + y) * x.width;
      for (let ox = 0; ox < outWidth; ox++) {
        const tap = widthTaps[ox]!;
        let sum = 0;
        for (let t = 0; t < tap.indices.length; t++) sum += tap.weights[t]! * x.data[row + tap.indices[t]!]!;
        horizontal[(c * x.height + y) * outWidth + ox] = sum;
      }
    }
  }
  const data = new Float64Array(x.channels * outHeight * outWidth);
  for (let c = 0; c < x.channels; c++) {
    for (let oy = 0; oy < outHeight; oy++) {
      const tap = heightTaps[oy]!;
      for (let ox = 0; ox < outWidth; ox++) {
        let sum = 0;
        for (let t = 0; t < tap.indices.length; t++) {
          sum += tap.weights[t]! * horizontal[(c * x.height + tap.indices[t]!) * outWidth + ox]!;
        }
        data[(c * outHeight + oy) * outWidth + ox] = sum;
      }
    }
  }
  return { channels: x.channels, height: outHeight, width: outWidth, data };
}

/** torchvision `Resize(size, antialias=True)` (bilinear) of a [C, H, W] map to size×size. */
export function resizeAntialiasedBilinear(x: FeatureMap, size: number): FeatureMap {
  return resizeSeparable(x, antialiasedBilinearTaps(x.height, size), antialiasedBilinearTaps(x.width, size));
}

/** `F.interpolate(size=(size, size), mode="bilinear", align_corners=False)` of a [C, H, W] map. */
export function resizeBilinear(x: FeatureMap, size: number): FeatureMap {
  return resizeSeparable(x, bilinearTaps(x.height, size), bilinearTaps(x.width, size));
}
