import type { SamSpec } from "../checkpoint/index.ts";
import { GraphError } from "../onnx/index.ts";
import { type Layers, MAX_TENSOR_BYTES } from "./ops.ts";
import { bilinearMatrix, resizeSquare } from "./resize.ts";

/** Index table [size, size] of relative offsets: i - j + size - 1 (no interpolation: sizes are exact). */
function relativeIndex(l: Layers, size: number): string {
  const values: number[] = [];
  for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) values.push(i - j + size - 1);
  return l.g.int64s(values, [size, size]);
}

/**
 * SAM attention on square grids of `size` x `size` tokens, `grids` of them per image ([B*grids*size*size, width]
 * in, same out), with decomposed relative positions (MViTv2): logits = (q/sqrt(d))·k + q·Rh[i-i'] + q·Rw[j-j'],
 * where the relative terms use the unscaled q (reference §3.2). The heads run in groups whose float32 logits
 * stay within MAX_TENSOR_BYTES per image (SAM-B: one head at a time over the 64x64 grid, 64 MiB, instead of
 * 768 MiB for all 12; all heads at once in the 14x14 windows, 44 MiB); the groups' contexts are concatenated.
 */
function samAttention(l: Layers, x: string, prefix: string, size: number, grids: number, s: SamSpec): string {
  const g = l.g;
  const headDim = s.width / s.heads;
  const tokens = size * size;
  const headBytes = grids * tokens * tokens * 4;
  if (headBytes > MAX_TENSOR_BYTES) throw new GraphError(`${prefix}: one head's logits take ${headBytes} bytes per image`);
  let group = s.heads; // the most heads that divide s.heads and fit
  while (s.heads % group !== 0 || group * headBytes > MAX_TENSOR_BYTES) group--;
  // [3, B*grids, heads, tokens, headDim]
  const qkv = l.transpose(l.reshape(l.linear(x, `${prefix}.qkv`), [-1, tokens, 3, s.heads, headDim]), [2, 0, 3, 1, 4]);
  const index = relativeIndex(l, size);
  const rh = g.op("Gather", [l.weight(`${prefix}.rel_pos_h`), index], { axis: 0 });
  const rw = g.op("Gather", [l.weight(`${prefix}.rel_pos_w`), index], { axis: 0 });
  const contexts: string[] = [];
  for (let first = 0; first < s.heads; first += group) {
    const part = l.reshape(group === s.heads ? qkv : l.slice(qkv, [first], [first + group], [2]), [3, -1, tokens, headDim]);
    const q = l.take(part, 0, 0);
    const k = l.take(part, 1, 0);
    const v = l.take(part, 2, 0);
    const logits = g.op("MatMul", [g.op("Mul", [q, l.scalar(1 / Math.sqrt(headDim))]), l.transpose(k, [0, 2, 1])]);
    const grid = l.reshape(q, [-1, size, size, headDim]);
    const relH = g.op("Einsum", [grid, rh], { equation: "bhwc,hkc->bhwk" });
    const relW = g.op("Einsum", [grid, rw], { equation: "bhwc,wkc->bhwk" });
    const biased = g.op("Add", [
      g.op("Add", [l.reshape(logits, [-1, size, size, size, size]), l.unsqueeze(relH, [4])]),
      l.unsqueeze(relW, [3]),
    ]);
    const probs = l.softmax(l.reshape(biased, [-1, tokens, tokens]));
    // [B*grids*group, tokens, headDim] -> rows [B*grids*tokens, group*headDim]
    const context = l.transpose(l.reshape(g.op("MatMul", [probs, v]), [-1, group, tokens, headDim]), [0, 2, 1, 3]);
    contexts.push(l.reshape(context, [-1, group * headDim]));
  }
  const context = contexts.length === 1 ? contexts[0]! : g.op("Concat", contexts, { axis: -1 });
  return l.linear(context, `${prefix}.proj`);
}

/** Windowed attention: zero-pad the grid to a multiple of the window, attend per window, crop back. */
function windowedAttention(l: Layers, x: string, prefix: string, grid: number, s: SamSpec): string {
  const w = s.windowSize;
  const windows = Math.ceil(grid / w);
  const padded = windows * w;
  const g = l.g;
  const map = l.reshape(x, [-1, grid, grid, s.width]);
  // Padded tokens are zeros after norm1 and are not masked: their k and v are the qkv bias (reference §3.2).
  const pad = g.op("Pad", [map, g.int64s([0, 0, 0, 0, 0, padded - grid, padded - grid, 0])], { mode: "constant" });
  const split = l.transpose(l.reshape(pad, [-1, windows, w, windows, w, s.width]), [0, 1, 3, 2, 4, 5]);
  const attended = samAttention(l, l.reshape(split, [-1, s.width]), prefix, w, windows * windows, s);
  const merged = l.transpose(l.reshape(attended, [-1, windows, windows, w, w, s.width]), [0, 1, 3, 2, 4, 5]);
  const cropped = l.slice(l.reshape(merged, [-1, padded, padded, s.width]), [0, 0], [grid, grid], [1, 2]);
  return l.reshape(cropped, [-1, s.width]);
}

/** Neck: 1x1 conv (as a matrix on NHWC rows), LayerNorm2d, 3x3 conv, LayerNorm2d. [N*g*g, width] -> NCHW. */
function neck(l: Layers, x: string, name: string, grid: number, s: SamSpec): string {
  const g = l.g;
  const p = `${s.prefix}${name}`;
  const projected = l.layerNorm(l.linear(x, `${p}.0`, { bias: false, dims: [s.neckDim, s.width] }), `${p}.1`, s.eps);
  const nchw = l.transpose(l.reshape(projected, [-1, grid, grid, s.neckDim]), [0, 3, 1, 2]);
  const conv = g.op("Conv", [nchw, l.weight(`${p}.2.weight`)], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  return l.transpose(l.layerNorm(l.transpose(conv, [0, 2, 3, 1]), `${p}.3`, s.eps), [0, 3, 1, 2]);
}

/** Bilinear resize of the neck output (in float32, as the reference), then the two stride-2 convs. */
function downsample(l: Layers, x: string, grid: number, s: SamSpec): string {
  const g = l.g;
  const resized = l.inFloat32(x, (x32) => resizeSquare(l, x32, grid, s.resizeTo, bilinearMatrix(grid, s.resizeTo)));
  const conv = (input: string, index: number) =>
    g.op("Conv", [input, l.weight(`${s.prefix}downsamples.${index}.weight`)], {
      kernel_shape: [3, 3],
      strides: [2, 2],
      pads: [1, 1, 1, 1],
    });
  return conv(conv(resized, 0), 1);
}

/**
 * The SAM-B high-resolution tower of the 7B (reference §3) on uint8 pixels [N,3,1024,1024]: CLIP
 * normalization, patch + absolute position embedding, windowed and global blocks, the neck, the HD branch
 * from the first global block through neck_hd, the shared downsample convs (scaled by hd_alpha_downsamples),
 * returning row-major features [N, 576, 1024].
 */
export function samTower(l: Layers, pixels: string, s: SamSpec): string {
  const g = l.g;
  const grid = s.imageSize / s.patchSize;
  let x = l.normalizePixels(pixels, s.pixelMean, s.pixelStd);
  if (l.act !== "float32") x = l.cast(x, l.act);
  const p = s.prefix;
  const patches = g.op("Conv", [x, l.weight(`${p}patch_embed.proj.weight`), l.weight(`${p}patch_embed.proj.bias`)], {
    kernel_shape: [s.patchSize, s.patchSize],
    strides: [s.patchSize, s.patchSize],
  });
  x = l.reshape(g.op("Add", [l.transpose(patches, [0, 2, 3, 1]), l.weight(`${p}pos_embed`)]), [-1, s.width]);
  let hd: string | undefined;
  for (let n = 0; n < s.depth; n++) {
    const b = `${p}blocks.${n}`;
    const normed = l.layerNorm(x, `${b}.norm1`, s.eps);
    const isGlobal = s.globalIndexes.includes(n);
    const attended = isGlobal ? samAttention(l, normed, `${b}.attn`, grid, 1, s) : windowedAttention(l, normed, `${b}.attn`, grid, s);
    x = g.op("Add", [x, attended]);
    const hidden = l.gelu(l.linear(l.layerNorm(x, `${b}.norm2`, s.eps), `${b}.mlp.lin1`));
    x = g.op("Add", [x, l.linear(hidden, `${b}.mlp.lin2`)]);
    if (isGlobal && hd === undefined) hd = x;
  }
  const main = downsample(l, neck(l, x, "neck", grid, s), grid, s);
  const high = downsample(l, neck(l, hd!, "neck_hd", grid, s), grid, s);
  const fused = g.op("Add", [main, g.op("Mul", [high, l.weight(`${p}hd_alpha_downsamples`)])]);
  return l.transpose(l.reshape(fused, [0, s.downsampleDims[1], -1]), [0, 2, 1]);
}
