// The reference reads every parameter through one lookup keyed by the official checkpoint names
// (reference §10), so it never depends on how the converter stores or renames tensors.

/** One checkpoint tensor, widened to fp32, row-major. */
export interface WeightTensor {
  shape: number[];
  data: Float32Array;
}

/** Official tensor name -> tensor; `undefined` (or a throw) for a name the checkpoint does not hold. */
export type WeightLookup = (name: string) => WeightTensor | undefined;

/** A weight is missing or has a shape the specification does not allow. */
export class ReferenceWeightError extends Error {
  override name = "ReferenceWeightError";
}

/** A forward input or option contradicts the weights or the specification. */
export class ReferenceInputError extends Error {
  override name = "ReferenceInputError";
}

/** The tensor `name`; with `shape`, checks it (a `-1` entry matches any size). */
export function requireWeight(weights: WeightLookup, name: string, shape?: readonly number[]): WeightTensor {
  const tensor = weights(name);
  if (tensor === undefined) throw new ReferenceWeightError(`missing weight ${name}`);
  const size = tensor.shape.reduce((a, b) => a * b, 1);
  if (size !== tensor.data.length) {
    throw new ReferenceWeightError(`${name}: shape [${tensor.shape}] does not match ${tensor.data.length} values`);
  }
  if (shape !== undefined) {
    const fits = shape.length === tensor.shape.length && shape.every((d, i) => d === -1 || d === tensor.shape[i]);
    if (!fits) throw new ReferenceWeightError(`${name}: expected shape [${shape}], got [${tensor.shape}]`);
  }
  return tensor;
}

/** Whether the checkpoint holds `name` (a throwing lookup counts as "no"). */
export function hasWeight(weights: WeightLookup, name: string): boolean {
  try {
    return weights(name) !== undefined;
  } catch {
    return false;
  }
}

/** Number of consecutive `${prefix}{i}.${probe}` entries from i = 0: the depth of a block stack. */
export function countBlocks(weights: WeightLookup, prefix: string, probe: string): number {
  let n = 0;
  while (hasWeight(weights, `${prefix}${n}.${probe}`)) n++;
  return n;
}

/** A float64 tensor produced by the reference, row-major. */
export interface Tensor64 {
  shape: number[];
  data: Float64Array;
}

/** A uint8 image batch [N,3,S,S], as the encoder graphs take it (DESIGN §4). */
export interface PixelBatch {
  shape: [number, number, number, number];
  data: Uint8Array;
}

/** A lookup over in-memory tensors (tests and hand-made fixtures). */
export function weightMap(tensors: Record<string, { shape: number[]; data: ArrayLike<number> }>): WeightLookup {
  const map = new Map<string, WeightTensor>();
  for (const [name, { shape, data }] of Object.entries(tensors)) map.set(name, { shape, data: Float32Array.from(data) });
  return (name) => map.get(name);
}
