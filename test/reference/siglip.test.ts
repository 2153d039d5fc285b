import { describe, expect, it } from "vitest";
import { SIGLIP_PREFIX_1_3B, SIGLIP_PREFIX_7B, siglipDims, siglipEncoder } from "./siglip.ts";
import { type PixelBatch, weightMap } from "./weights.ts";

/**
 * A SigLIP tower with width 3, patch 2, grid 2 (input 4) and `depth` blocks whose weights are all zero, so every
 * block is the identity (attention and MLP outputs are their zero biases). The patch conv sums the red channel
 * of its patch into feature 0; pos_embed is zero; the final norm is a plain LayerNorm.
 */
function identityTower(prefix: string, depth: number) {
  const z = (shape: number[]) => ({ shape, data: new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(0) });
  const patch = z([3, 3, 2, 2]);
  for (let k = 0; k < 4; k++) patch.data[k] = 1; // out 0 ← in channel 0, all 4 pixels
  const entries: Record<string, { shape: number[]; data: number[] }> = {
    "patch_embed.proj.weight": patch,
    "patch_embed.proj.bias": z([3]),
    pos_embed: z([1, 4, 3]),
    "norm.weight": { shape: [3], data: [1, 1, 1] },
    "norm.bias": z([3]),
  };
  for (let i = 0; i < depth; i++) {
    const b = `blocks.${i}.`;
    for (const n of ["norm1", "norm2"]) {
      entries[`${b}${n}.weight`] = { shape: [3], data: [1, 1, 1] };
      entries[`${b}${n}.bias`] = z([3]);
    }
    Object.assign(entries, {
      [`${b}attn.qkv.weight`]: z([9, 3]),
      [`${b}attn.qkv.bias`]: z([9]),
      [`${b}attn.proj.weight`]: z([3, 3]),
      [`${b}attn.proj.bias`]: z([3]),
      [`${b}mlp.fc1.weight`]: z([12, 3]),
      [`${b}mlp.fc1.bias`]: z([12]),
      [`${b}mlp.fc2.weight`]: z([3, 12]),
      [`${b}mlp.fc2.bias`]: z([3]),
    });
  }
  return weightMap(Object.fromEntries(Object.entries(entries).map(([n, t]) => [prefix + n, t])));
}

/** An image [1,3,side,side] whose red channel is 255 inside `bright(row, col)` and 0 elsewhere. */
function image(side: number, bright: (row: number, col: number) => boolean): PixelBatch {
  const data = new Uint8Array(3 * side * side);
  for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) data[y * side + x] = bright(y, x) ? 255 : 0;
  return { shape: [1, 3, side, side], data };
}

// LayerNorm of (s, 0, 0), s > 0, is (√2, −√2/2, −√2/2); of s < 0 the negation.
const BRIGHT = [Math.SQRT2, -Math.SQRT1_2, -Math.SQRT1_2];
const DARK = BRIGHT.map((v) => -v);

describe("siglipEncoder", () => {
  it("reads its dimensions from the weights", () => {
    expect(siglipDims(identityTower(SIGLIP_PREFIX_1_3B, 2), SIGLIP_PREFIX_1_3B)).toEqual({
      width: 3,
      patchSize: 2,
      grid: 2,
      imageSize: 4,
      depth: 2,
    });
  });

  it("normalises x·2 − 1 and flattens patches row-major (token t = row·grid + col)", () => {
    // Only the patch at grid (0,1) is bright: its red sum is 4·(+1), the others 4·(−1).
    const out = siglipEncoder(
      identityTower(SIGLIP_PREFIX_1_3B, 2),
      image(4, (y, x) => y < 2 && x >= 2),
      { prefix: SIGLIP_PREFIX_1_3B, heads: 1 },
    );
    expect(out.shape).toEqual([1, 4, 3]);
    const expected = [DARK, BRIGHT, DARK, DARK].flat();
    out.data.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
  });

  it("a larger input is first downsampled to the tower size (7B path): a uniform 8x8 equals a uniform 4x4", () => {
    const weights = identityTower(SIGLIP_PREFIX_7B, 1);
    const big = siglipEncoder(
      weights,
      image(8, () => true),
      { prefix: SIGLIP_PREFIX_7B, heads: 1 },
    );
    const small = siglipEncoder(
      weights,
      image(4, () => true),
      { prefix: SIGLIP_PREFIX_7B, heads: 1 },
    );
    expect(big.shape).toEqual([1, 4, 3]);
    big.data.forEach((v, i) => expect(v).toBeCloseTo(small.data[i]!, 12));
    big.data.forEach((v, i) => expect(v).toBeCloseTo(BRIGHT[i % 3]!, 5));
  });
});
