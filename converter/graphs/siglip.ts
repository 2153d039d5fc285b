import type { SiglipSpec } from "../checkpoint/index.ts";
import type { Layers } from "./ops.ts";
import { antialiasBilinearMatrix, resizeSquare } from "./resize.ts";

/**
 * Multi-head self-attention over `tokens` tokens per image on a [N*tokens, width] activation, with the
 * fused qkv projection laid out [3][heads][headDim] (timm / SAM layout). Returns [N*tokens, width].
 */
export function selfAttention(l: Layers, x: string, prefix: string, tokens: number, width: number, heads: number): string {
  const headDim = width / heads;
  const qkv = l.transpose(l.reshape(l.linear(x, `${prefix}.qkv`), [-1, tokens, 3, heads, headDim]), [2, 0, 3, 1, 4]);
  const q = l.g.op("Mul", [l.take(qkv, 0, 0), l.scalar(1 / Math.sqrt(headDim))]);
  const k = l.take(qkv, 1, 0);
  const v = l.take(qkv, 2, 0);
  const probs = l.softmax(l.g.op("MatMul", [q, l.transpose(k, [0, 1, 3, 2])]));
  const context = l.transpose(l.g.op("MatMul", [probs, v]), [0, 2, 1, 3]);
  return l.linear(l.reshape(context, [-1, width]), `${prefix}.proj`);
}

/**
 * The SigLIP-L/16 tower of DeepSeek-VL (reference §4) on uint8 pixels [N,3,S,S]: rescale, optional
 * antialiased bilinear downsample to the tower size (hybrid: 1024 -> 384, as torchvision Resize does it),
 * Normalize, patch embed, position embed, all blocks (pre-LN, exact GELU), final LayerNorm. No pooling head.
 * Returns image features [N, tokens, width].
 */
export function siglipTower(l: Layers, pixels: string, s: SiglipSpec): string {
  const g = l.g;
  const grid = s.imageSize / s.patchSize;
  const tokens = grid * grid;
  let unit = g.op("Div", [l.cast(pixels, "float32"), g.scalar("float32", 255)]);
  if (s.inputSize !== s.imageSize)
    unit = resizeSquare(l, unit, s.inputSize, s.imageSize, antialiasBilinearMatrix(s.inputSize, s.imageSize));
  let x = l.normalize(unit, s.pixelMean, s.pixelStd);
  if (l.act !== "float32") x = l.cast(x, l.act);
  const p = s.prefix;
  const patches = g.op("Conv", [x, l.weight(`${p}patch_embed.proj.weight`), l.weight(`${p}patch_embed.proj.bias`)], {
    kernel_shape: [s.patchSize, s.patchSize],
    strides: [s.patchSize, s.patchSize],
  });
  const sequence = l.transpose(l.reshape(patches, [0, s.width, tokens]), [0, 2, 1]);
  x = l.reshape(g.op("Add", [sequence, l.weight(`${p}pos_embed`)]), [-1, s.width]);
  for (let n = 0; n < s.depth; n++) {
    const b = `${p}blocks.${n}`;
    x = g.op("Add", [x, selfAttention(l, l.layerNorm(x, `${b}.norm1`, s.eps), `${b}.attn`, tokens, s.width, s.heads)]);
    const hidden = l.gelu(l.linear(l.layerNorm(x, `${b}.norm2`, s.eps), `${b}.mlp.fc1`));
    x = g.op("Add", [x, l.linear(hidden, `${b}.mlp.fc2`)]);
  }
  return l.reshape(l.layerNorm(x, `${p}norm`, s.eps), [-1, tokens, s.width]);
}
