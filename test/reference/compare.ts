// Agreement measures for oracle-vs-graph checks.

import { ReferenceInputError } from "./weights.ts";

/** cos∠(a, b) in float64; 1 for two all-zero vectors. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  sameLength(a, b);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! ** 2;
    nb += b[i]! ** 2;
  }
  if (na === 0 && nb === 0) return 1;
  return dot / Math.sqrt(na * nb);
}

/** max |a − b|; NaN anywhere gives NaN so it can never pass a bound. */
export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  sameLength(a, b);
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (Number.isNaN(d)) return NaN;
    if (d > max) max = d;
  }
  return max;
}

/** max |a| (to express a max-abs bound relative to the output's scale). */
export function maxAbs(a: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]!));
  return max;
}

function sameLength(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new ReferenceInputError(`compare: ${a.length} vs ${b.length} values`);
}
