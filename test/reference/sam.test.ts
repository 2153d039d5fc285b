import { describe, expect, it } from "vitest";
import { samAttention, samBlockAttention, samEncoder, windowMerge, windowPartition } from "./sam.ts";
import { type WeightLookup, weightMap } from "./weights.ts";

const eye = (n: number) => Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));

/**
 * One head, head_dim 2, width 2, tokens x_p = (1, t_p): q = (x0, 0), k = 0, v = (0, x1) + vBias, proj = I.
 * With k = 0 the logits are the relative-position terms only.
 */
function attentionWeights(side: number, relH: number[][], relW: number[][], vBias = 0) {
  return weightMap({
    "b.attn.qkv.weight": { shape: [6, 2], data: [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1] },
    "b.attn.qkv.bias": { shape: [6], data: [0, 0, 0, 0, 0, vBias] },
    "b.attn.proj.weight": { shape: [2, 2], data: eye(2) },
    "b.attn.proj.bias": { shape: [2], data: [0, 0] },
    "b.attn.rel_pos_h": { shape: [2 * side - 1, 2], data: relH.flat() },
    "b.attn.rel_pos_w": { shape: [2 * side - 1, 2], data: relW.flat() },
  });
}
const tokens = (values: number[]) => Float64Array.from(values.flatMap((v) => [1, v]));

describe("SAM decomposed relative positions", () => {
  it("adds q·Rh[i − i' + side − 1] + q·Rw[j − j' + side − 1] with the unscaled q", () => {
    // side 2, t = 1, 2 / 3, 4 (row-major). Rh[2] = (ln 2, 0): a query in row 1 doubles keys in row 0;
    // Rw[0] = (ln 2, 0): a query in column 0 doubles keys in column 1.
    const ln2 = Math.log(2); // stored as fp32, hence the 1e-7 tolerance below
    const weights = attentionWeights(
      2,
      [
        [0, 0],
        [0, 0],
        [ln2, 0],
      ],
      [
        [ln2, 0],
        [0, 0],
        [0, 0],
      ],
    );
    const out = samAttention(weights, "b.", tokens([1, 2, 3, 4]), 2, 1);
    // Query (1,0): keys (0,0)×2, (0,1)×4, (1,0)×1, (1,1)×2 → (2·1 + 4·2 + 3 + 2·4) / 9.
    expect(out[2 * 2 + 1]).toBeCloseTo(21 / 9, 7);
    // Query (0,1): rows i − i' + 1 ∈ {1, 0}, cols j − j' + 1 ∈ {2, 1}: no bias, uniform mean 10/4.
    expect(out[1 * 2 + 1]).toBeCloseTo(2.5, 13);
    // Query (0,0): keys in column 1 doubled → (1 + 2·2 + 3 + 2·4) / 6.
    expect(out[0 * 2 + 1]).toBeCloseTo(16 / 6, 7);
  });

  it("padded window tokens are unmasked keys whose value is the v bias", () => {
    // Grid 3, window 2 → padded to 4: the bottom-right window holds token (2,2) and three zero tokens.
    const weights = attentionWeights(
      2,
      [
        [0, 0],
        [0, 0],
        [0, 0],
      ],
      [
        [0, 0],
        [0, 0],
        [0, 0],
      ],
      5,
    );
    const values = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    const out = samBlockAttention(weights, "b.", tokens(values), 3, 2, 1);
    // Uniform weights over 4 keys: v = t + 5 for the real token, 5 for each padded one.
    expect(out[8 * 2 + 1]).toBeCloseTo((9 + 5 + 3 * 5) / 4, 13);
    // The top-left window is all real: tokens (0,0),(0,1),(1,0),(1,1) = 1,2,4,5.
    expect(out[0 * 2 + 1]).toBeCloseTo((1 + 2 + 4 + 5) / 4 + 5, 13);
    // The top-right window holds (0,2),(1,2) = 3,6 and two padded tokens.
    expect(out[5 * 2 + 1]).toBeCloseTo((3 + 5 + 6 + 5 + 2 * 5) / 4, 13);
  });
});

describe("window partition", () => {
  it("is row-major, zero-padded, and merge undoes it on the unpadded region", () => {
    const grid = 5;
    const dim = 2;
    const x = Float64Array.from({ length: grid * grid * dim }, (_, i) => i + 1);
    const windows = windowPartition(x, grid, dim, 3);
    expect(windows.length).toBe(4);
    // Grid cell (3,1) is in window (1,0) = index 2, at local (0,1).
    expect(Array.from(windows[2]!.subarray(1 * dim, 2 * dim))).toEqual(Array.from(x.subarray((3 * grid + 1) * dim, (3 * grid + 2) * dim)));
    // Local (2,2) of the last window is grid cell (5,5): padding.
    expect(Array.from(windows[3]!.subarray(8 * dim, 9 * dim))).toEqual([0, 0]);
    expect(Array.from(windowMerge(windows, grid, dim, 3))).toEqual(Array.from(x));
  });
});

const P = "vision_model.vision_tower_high.vision_tower.";

/** Deterministic values in (−0.4, 0.4) seeded by the tensor name, so a tensor does not depend on the others. */
function pseudoRandom(name: string, size: number): number[] {
  let seed = [...name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 2147483647, 7) || 1;
  return Array.from({ length: size }, () => {
    seed = (seed * 16807) % 2147483647;
    return (seed / 2147483647 - 0.5) * 0.8;
  });
}

/**
 * A tiny SAM: image 8, patch 2 → grid 4, width 4, heads 2 (head_dim 2), window 2, 96 → `resizeTo` 8,
 * neck 4 → 3 channels, downsamples 3 → 5 → 6. Pseudo-random weights; `overrides` replaces some.
 */
function tinySam(depth: number, overrides: Record<string, number[]> = {}): WeightLookup {
  const entries: Record<string, { shape: number[]; data: number[] }> = {};
  const add = (name: string, shape: number[]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    entries[name] = { shape, data: overrides[P + name] ?? pseudoRandom(name, size) };
  };
  add("patch_embed.proj.weight", [4, 3, 2, 2]);
  add("patch_embed.proj.bias", [4]);
  add("pos_embed", [1, 4, 4, 4]);
  for (let i = 0; i < depth; i++) {
    const b = `blocks.${i}.`;
    for (const n of ["norm1", "norm2"]) {
      add(`${b}${n}.weight`, [4]);
      add(`${b}${n}.bias`, [4]);
    }
    add(`${b}attn.qkv.weight`, [12, 4]);
    add(`${b}attn.qkv.bias`, [12]);
    add(`${b}attn.proj.weight`, [4, 4]);
    add(`${b}attn.proj.bias`, [4]);
    const rel = i === 0 ? 7 : 3; // block 0 global over the 4-grid, others windowed by 2
    add(`${b}attn.rel_pos_h`, [rel, 2]);
    add(`${b}attn.rel_pos_w`, [rel, 2]);
    add(`${b}mlp.lin1.weight`, [8, 4]);
    add(`${b}mlp.lin1.bias`, [8]);
    add(`${b}mlp.lin2.weight`, [4, 8]);
    add(`${b}mlp.lin2.bias`, [4]);
  }
  for (const neck of ["neck.", "neck_hd."]) {
    add(`${neck}0.weight`, [3, 4, 1, 1]);
    add(`${neck}1.weight`, [3]);
    add(`${neck}1.bias`, [3]);
    add(`${neck}2.weight`, [3, 3, 3, 3]);
    add(`${neck}3.weight`, [3]);
    add(`${neck}3.bias`, [3]);
  }
  add("downsamples.0.weight", [5, 3, 3, 3]);
  add("downsamples.1.weight", [6, 5, 3, 3]);
  add("hd_alpha_downsamples", [1]);
  const prefixed: typeof entries = {};
  for (const [name, value] of Object.entries(entries)) prefixed[`vision_model.vision_tower_high.vision_tower.${name}`] = value;
  return weightMap(prefixed);
}

const options = { windowSize: 2, globalAttnIndexes: [0], resizeTo: 8 };
const pixels = {
  shape: [2, 3, 8, 8] as [number, number, number, number],
  data: Uint8Array.from({ length: 2 * 3 * 64 }, (_, i) => (i * 37) % 256),
};

describe("samEncoder", () => {
  it("returns [N, (resizeTo/4)², downsample channels], each image independent of the batch", () => {
    const out = samEncoder(tinySam(2), pixels, options);
    expect(out.shape).toEqual([2, 4, 6]);
    const second = samEncoder(tinySam(2), { shape: [1, 3, 8, 8], data: pixels.data.subarray(3 * 64) }, options);
    expect(Array.from(out.data.subarray(24))).toEqual(Array.from(second.data));
  });

  it("adds α times the HD branch, which runs through the same downsample convs", () => {
    // With neck_hd = neck and a single (global) block, both branches see the same map: out = (1 + α)·main.
    const base = tinySam(1);
    const sameNecks: WeightLookup = (name) => base(name.replace("neck_hd.", "neck."));
    const withAlpha =
      (alpha: number): WeightLookup =>
      (name) =>
        name === `${P}hd_alpha_downsamples` ? { shape: [1], data: Float32Array.of(alpha) } : sameNecks(name);
    const zero = samEncoder(withAlpha(0), pixels, options);
    const half = samEncoder(withAlpha(0.5), pixels, options);
    half.data.forEach((v, i) => expect(v).toBeCloseTo(1.5 * zero.data[i]!, 12));
  });

  it("the HD branch taps the first global block's output, not the last block's", () => {
    // Zero the main neck's LayerNorm2d affine: the main branch is 0 and only α·HD remains. Block 1 comes
    // after the first global block (0), so adding it must not change the output.
    const zeroNeck = { [`${P}neck.3.weight`]: [0, 0, 0], [`${P}neck.3.bias`]: [0, 0, 0] };
    const oneBlock = samEncoder(tinySam(1, zeroNeck), pixels, options);
    const twoBlocks = samEncoder(tinySam(2, zeroNeck), pixels, options);
    expect(Array.from(twoBlocks.data)).toEqual(Array.from(oneBlock.data));
    // …while without the zeroing, block 1 does change the (main) output.
    expect(Array.from(samEncoder(tinySam(2), pixels, options).data)).not.toEqual(Array.from(samEncoder(tinySam(1), pixels, options).data));
    expect(oneBlock.data.some((v) => v !== 0)).toBe(true);
  });

  it("rejects pixels of the wrong side and rel-pos tables that do not fit the window", () => {
    expect(() => samEncoder(tinySam(1), { shape: [1, 3, 16, 16], data: new Uint8Array(3 * 256) }, options)).toThrow(/expected \[N,3,8,8\]/);
    expect(() => samEncoder(tinySam(2), pixels, { ...options, windowSize: 3 })).toThrow(/rel_pos_h: expected shape \[5,2\]/);
  });
});
