// Fixed-size resizes are linear maps: out = R_h · X · R_w^T with constant [out, in] matrices. These
// reproduce PyTorch's weights (computed in float32 like its float kernels), so two MatMuls in the graph
// give torch's result up to summation order.
import type { Layers } from "./ops.ts";

const f = Math.fround;

/**
 * Weights of `F.interpolate(mode="bilinear", antialias=True, align_corners=False)` along one axis
 * (torchvision `Resize(size, antialias=True)` on a tensor): a triangle filter whose support is widened by
 * the downscale factor, weights normalised per output. Follows PyTorch's aa kernel: center = scale (i + 0.5),
 * xmin = max(int(center - support + 0.5), 0), xsize = min(int(center + support + 0.5), in) - xmin,
 * w_j = tri((j + xmin - center + 0.5) / scale) / sum.
 */
export function antialiasBilinearMatrix(inSize: number, outSize: number): Float32Array {
  const matrix = new Float32Array(outSize * inSize);
  const scale = f(inSize / outSize);
  const support = scale >= 1 ? f(1 * scale) : 1; // interp_size 2 -> half-width 1
  const invscale = scale >= 1 ? f(1 / scale) : 1;
  for (let i = 0; i < outSize; i++) {
    const center = f(scale * f(i + 0.5));
    const xmin = Math.max(Math.trunc(f(f(center - support) + 0.5)), 0);
    const xsize = Math.min(Math.trunc(f(f(center + support) + 0.5)), inSize) - xmin;
    const weights = new Float32Array(xsize);
    let total = 0;
    for (let j = 0; j < xsize; j++) {
      const x = Math.abs(f(f(f(j + f(xmin - center)) + 0.5) * invscale));
      const w = x < 1 ? f(1 - x) : 0;
      weights[j] = w;
      total = f(total + w);
    }
    for (let j = 0; j < xsize; j++) matrix[i * inSize + xmin + j] = total !== 0 ? f(weights[j]! / total) : weights[j]!;
  }
  return matrix;
}

/**
 * Weights of `F.interpolate(mode="bilinear", align_corners=False)` without antialias along one axis:
 * src = max(scale (i + 0.5) - 0.5, 0), the two neighbours weighted by the fractional part.
 */
export function bilinearMatrix(inSize: number, outSize: number): Float32Array {
  const matrix = new Float32Array(outSize * inSize);
  const scale = f(inSize / outSize);
  for (let i = 0; i < outSize; i++) {
    const src = Math.max(f(f(scale * f(i + 0.5)) - 0.5), 0);
    const i0 = Math.trunc(src);
    const step = i0 < inSize - 1 ? 1 : 0;
    const lambda1 = f(src - i0);
    const lambda0 = f(1 - lambda1);
    matrix[i * inSize + i0] = f(matrix[i * inSize + i0]! + lambda0);
    matrix[i * inSize + i0 + step] = f(matrix[i * inSize + i0 + step]! + lambda1);
  }
  return matrix;
}

function transposed(matrix: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = matrix[r * cols + c]!;
  return out;
}

/** Resizes the two last axes of a float32 [.., in, in] tensor to [.., out, out] with a per-axis matrix. */
export function resizeSquare(l: Layers, x: string, inSize: number, outSize: number, matrix: Float32Array): string {
  const g = l.g;
  const alongWidth = g.op("MatMul", [x, g.constant("float32", [inSize, outSize], transposed(matrix, outSize, inSize))]);
  return g.op("MatMul", [g.constant("float32", [outSize, inSize], matrix), alongWidth]);
}
