// Next-token selection with the semantics of transformers' generate() as the reference runs it
// (reference §9): repetition penalty -> greedy argmax, or temperature -> top-k -> top-p -> multinomial.
// - Element-wise steps round to float32 like torch's float32 logits; softmax sums run in float64.
// - Ties: argmax takes the lowest id (torch.argmax); top-k keeps every tie of the k-th value
//   (TopKLogitsWarper masks `scores < kth`); top-p, whose torch.sort leaves tie order unspecified,
//   removes the higher id first, so lower ids win ties everywhere.
// - The reported logprob is log_softmax of the raw logits, as vLLM reports by default
//   (logprobs_mode "raw_logprobs"): a property of the model's prediction, comparable across requests
//   whatever their temperature or filters, and never -inf for a token that was actually drawn.
import type { SamplingParams } from "../../shared/gen/deepseek_vl/v1/inference_pb.js";
import { expOfNonPositive } from "./fast-exp.ts";
import type { SequenceRng } from "./rng.ts";

/** What the sampler reads of the protocol's SamplingParams (check them first with validateSamplingParams). */
export type SamplingSettings = Pick<SamplingParams, "temperature" | "topK" | "topP" | "repetitionPenalty">;

export type SampledToken = {
  tokenId: number;
  /** log P(token) under the raw model distribution: log_softmax of the unprocessed logits. */
  logprob: number;
};

/** The top-p search buckets probability mass by distance below the maximum logit: 1/128 nat over 64 nats. */
const BUCKETS_PER_NAT = 128;
const BUCKET_RANGE = 64;
const BUCKETS = BUCKETS_PER_NAT * BUCKET_RANGE;

/**
 * Draws next tokens for a decode loop. One sampler serves any number of sequences one call at a time:
 * it owns only scratch buffers (about 3 MB for V = 102400), reused by every step, while each sequence
 * owns its SequenceRng. sample() draws exactly one uniform when sampling and none when greedy.
 */
export class TokenSampler {
  readonly vocabSize: number;
  /** The logits after the repetition penalty (only when a penalty applies). */
  readonly #penalized: Float32Array;
  /** Processed logits (penalty, then temperature) of the tokens in play. */
  readonly #processed: Float32Array;
  /** Token ids in play: the whole vocabulary or the top-k candidates, then the kept ones first. */
  readonly #ids: Int32Array;
  /** Unnormalised probabilities of #ids, same order. */
  readonly #weights: Float64Array;
  /** Min-heap of the k largest penalized logits (the temperature keeps their order); ids in #ids[0, k). */
  readonly #heap: Float32Array;
  /** Side list: top-k ties with the heap's minimum that did not fit in it, then top-p's boundary bucket. */
  readonly #ties: Int32Array;
  /** Positions of the kept tokens in ascending id, for the draw. */
  readonly #order: Int32Array;
  /** Top-p's bucket of each token in play (same order as #ids) and the probability mass per bucket. */
  readonly #buckets: Uint16Array;
  readonly #massByBucket = new Float64Array(BUCKETS);
  #cachedTopP = Number.NaN;
  #cachedThreshold = 0;
  readonly #byProcessedLogitDescending = (a: number, b: number): number => this.#processed[b]! - this.#processed[a]! || a - b;

  constructor(vocabSize: number) {
    if (!Number.isInteger(vocabSize) || vocabSize < 1) throw new RangeError(`vocabSize must be a positive integer, got ${vocabSize}`);
    this.vocabSize = vocabSize;
    this.#penalized = new Float32Array(vocabSize);
    this.#processed = new Float32Array(vocabSize);
    this.#ids = new Int32Array(vocabSize);
    this.#weights = new Float64Array(vocabSize);
    this.#heap = new Float32Array(vocabSize);
    this.#ties = new Int32Array(vocabSize);
    this.#order = new Int32Array(vocabSize);
    this.#buckets = new Uint16Array(vocabSize);
  }

  /**
   * The next token of one sequence. `logits` are the model's last-position logits (left untouched);
   * `generated` are the ids this sequence generated so far (not the prompt: the reference penalizes
   * generated tokens only).
   */
  sample(logits: Float32Array, generated: ArrayLike<number>, settings: SamplingSettings, rng: SequenceRng): SampledToken {
    const penalized = this.#penalize(logits, generated, settings.repetitionPenalty);
    const raw = summarize(logits);
    let tokenId: number;
    if (settings.temperature !== 0) tokenId = this.#draw(this.#keep(penalized, settings), rng.nextUniform());
    else tokenId = penalized === logits ? raw.argmax : argmax(penalized);
    return { tokenId, logprob: logits[tokenId]! - raw.logSumExp };
  }

  /** The distribution sample() draws from for the same inputs (token id -> probability, zeros left out). */
  distribution(logits: Float32Array, generated: ArrayLike<number>, settings: SamplingSettings): Map<number, number> {
    const penalized = this.#penalize(logits, generated, settings.repetitionPenalty);
    if (settings.temperature === 0) return new Map([[argmax(penalized), 1]]);
    const count = this.#keep(penalized, settings);
    let total = 0;
    for (let j = 0; j < count; j++) total += this.#weights[j]!;
    const probabilities = new Map<number, number>();
    for (let j = 0; j < count; j++) {
      if (this.#weights[j]! > 0) probabilities.set(this.#ids[j]!, this.#weights[j]! / total);
    }
    return probabilities;
  }

  /**
   * transformers' RepetitionPenaltyLogitsProcessor: each distinct generated id gets logit × p when the
   * logit is negative, else logit ÷ p. Like generate(), it applies whenever p != 1, greedy or not.
   */
  #penalize(logits: Float32Array, generated: ArrayLike<number>, penalty: number): Float32Array {
    if (logits.length !== this.vocabSize) throw new RangeError(`expected ${this.vocabSize} logits, got ${logits.length}`);
    if (penalty === 1 || generated.length === 0) return logits;
    const penalized = this.#penalized;
    const factor = Math.fround(penalty);
    penalized.set(logits);
    for (let n = 0; n < generated.length; n++) {
      const id = generated[n]!;
      // Computed from the raw logit, so an id generated several times is penalized once.
      const logit = logits[id]!;
      penalized[id] = logit < 0 ? logit * factor : logit / factor;
    }
    return penalized;
  }

  /** Runs temperature, top-k and top-p; leaves the kept tokens in #ids/#weights and returns how many. */
  #keep(penalized: Float32Array, settings: SamplingSettings): number {
    const temperature = Math.fround(settings.temperature);
    let count: number;
    let max: number;
    // transformers adds TopKLogitsWarper only for top_k != 0 and clamps k to the vocabulary size.
    if (settings.topK > 0 && settings.topK < this.vocabSize) {
      count = this.#selectTopK(penalized, temperature, settings.topK);
      max = this.#maxOfCandidates(count);
    } else {
      count = this.vocabSize;
      max = this.#processVocabulary(penalized, temperature);
    }
    if (settings.topP < 1) return this.#nucleus(count, max, this.#nucleusThreshold(settings.topP));
    this.#weigh(0, count, max);
    return count;
  }

  /**
   * transformers' TopKLogitsWarper keeps every token whose processed logit is >= the k-th largest, so
   * ties at the boundary all stay. One pass over the penalized logits, without dividing each by the
   * temperature (order is the same): a min-heap holds k tokens, and rejected tokens that could still
   * tie with its minimum once divided and rounded to float32 are listed aside (the list is pruned when
   * the minimum rises). Leaves the candidates in #ids and #processed; returns how many.
   */
  #selectTopK(penalized: Float32Array, temperature: number, k: number): number {
    const heap = this.#heap;
    const ids = this.#ids;
    const ties = this.#ties;
    for (let i = 0; i < k; i++) {
      heap[i] = penalized[i]!;
      ids[i] = i;
    }
    for (let i = (k >> 1) - 1; i >= 0; i--) siftDown(heap, ids, i, k);
    let min = heap[0]!;
    let floor = lowestTying(min, temperature);
    let tieCount = 0;
    for (let i = k; i < this.vocabSize; i++) {
      const value = penalized[i]!;
      if (!(value >= floor)) continue; // the common case: one comparison
      if (value <= min) {
        ties[tieCount++] = i;
        continue;
      }
      const evicted = ids[0]!;
      heap[0] = value;
      ids[0] = i;
      siftDown(heap, ids, 0, k);
      if (heap[0]! === min) {
        ties[tieCount++] = evicted;
        continue;
      }
      const evictedValue = min;
      min = heap[0]!;
      floor = lowestTying(min, temperature);
      let kept = 0;
      for (let t = 0; t < tieCount; t++) if (penalized[ties[t]!]! >= floor) ties[kept++] = ties[t]!;
      tieCount = kept;
      if (evictedValue >= floor) ties[tieCount++] = evicted;
    }
    ids.set(ties.subarray(0, tieCount), k);
    const count = k + tieCount;
    for (let j = 0; j < count; j++) this.#processed[ids[j]!] = penalized[ids[j]!]! / temperature;
    return count;
  }

  /** Every token in play, with its processed logit; returns the largest. */
  #processVocabulary(penalized: Float32Array, temperature: number): number {
    const processed = this.#processed;
    let max = -Infinity;
    for (let i = 0; i < this.vocabSize; i++) {
      this.#ids[i] = i;
      processed[i] = penalized[i]! / temperature;
      if (processed[i]! > max) max = processed[i]!;
    }
    return max;
  }

  #maxOfCandidates(count: number): number {
    let max = -Infinity;
    for (let j = 0; j < count; j++) {
      if (this.#processed[this.#ids[j]!]! > max) max = this.#processed[this.#ids[j]!]!;
    }
    return max;
  }

  /**
   * transformers' TopPLogitsWarper over the `count` tokens in play (their maximum processed logit is
   * `max`). It needs the descending order only where the nucleus ends, so instead of sorting up to V
   * tokens: one pass sums the mass per 1/128 nat below the maximum, the tokens of nearer buckets are
   * kept as they are, and only the boundary bucket is sorted and walked. Returns the kept count.
   */
  #nucleus(count: number, max: number, threshold: number): number {
    const ids = this.#ids;
    const weights = this.#weights;
    const processed = this.#processed;
    const buckets = this.#buckets;
    const mass = this.#massByBucket;
    mass.fill(0);
    let total = 0;
    for (let j = 0; j < count; j++) {
      const distance = max - processed[ids[j]!]!;
      const weight = expOfNonPositive(-distance);
      const bucket = bucketOf(distance);
      weights[j] = weight;
      buckets[j] = bucket;
      total += weight;
      mass[bucket] = mass[bucket]! + weight;
    }
    let boundary = 0;
    let cumulative = mass[0]!;
    while (boundary < BUCKETS - 1 && !(Math.fround((total - cumulative) / total) <= threshold)) {
      boundary++;
      cumulative += mass[boundary]!;
    }
    // Nearer buckets to the front (weights alongside), the boundary bucket after them, sorted.
    const edge = this.#ties;
    let kept = 0;
    let edgeCount = 0;
    let before = 0;
    for (let j = 0; j < count; j++) {
      const bucket = buckets[j]!;
      if (bucket < boundary) {
        ids[kept] = ids[j]!;
        weights[kept] = weights[j]!;
        before += weights[j]!;
        kept++;
      } else if (bucket === boundary) {
        edge[edgeCount++] = ids[j]!;
      }
    }
    ids.set(edge.subarray(0, edgeCount), kept);
    ids.subarray(kept, kept + edgeCount).sort(this.#byProcessedLogitDescending);
    this.#weigh(kept, kept + edgeCount, max);
    return nucleusLength(weights, kept, kept + edgeCount, before, total, threshold);
  }

  /**
   * torch compares `cumulative_probs <= 1 - top_p` in float32, with 1 - top_p computed in Python double.
   * The protocol carries top_p as float32 (0.8 arrives as 0.800000011920929), so the decimal the client
   * wrote is recovered first: 1 - 0.8 then rounds to the same float32 threshold as in the reference.
   */
  #nucleusThreshold(topP: number): number {
    if (topP !== this.#cachedTopP) {
      this.#cachedTopP = topP;
      this.#cachedThreshold = Math.fround(1 - shortestDecimalOfFloat32(topP));
    }
    return this.#cachedThreshold;
  }

  /** e^(processed - max) of #ids[from, to) into #weights. */
  #weigh(from: number, to: number, max: number): void {
    for (let j = from; j < to; j++) this.#weights[j] = expOfNonPositive(this.#processed[this.#ids[j]!]! - max);
  }

  /**
   * Inverse CDF over the kept tokens: the first whose cumulative weight exceeds u·total. It walks them in
   * ascending id, as torch.multinomial does: the draw then depends only on the distribution, not on the order
   * selection left the candidates in, so a last-ulp difference between a batched and a solo decode step cannot
   * swap two candidates under the same uniform.
   */
  #draw(count: number, uniform: number): number {
    const ids = this.#ids;
    const weights = this.#weights;
    const order = this.#order;
    for (let j = 0; j < count; j++) order[j] = j;
    let ascending = true;
    for (let j = 1; j < count && ascending; j++) ascending = ids[j - 1]! < ids[j]!;
    if (!ascending) order.subarray(0, count).sort((a, b) => ids[a]! - ids[b]!);
    let total = 0;
    for (let j = 0; j < count; j++) total += weights[order[j]!]!;
    const target = uniform * total;
    let cumulative = 0;
    let last = 0;
    for (let j = 0; j < count; j++) {
      const index = order[j]!;
      const weight = weights[index]!;
      if (weight === 0) continue;
      cumulative += weight;
      last = index;
      if (cumulative > target) return ids[index]!;
    }
    return ids[last]!; // u·total rounded up to total
  }
}

/**
 * transformers' TopPLogitsWarper sorts ascending and removes every token whose cumulative probability
 * (itself included) is <= 1 - top_p, always keeping the most probable one. In descending order that
 * cumulative probability at position j is (total - mass before j) / total: the kept tokens are those
 * before the first position where it is <= the threshold. Positions [from, to) are walked with `before`
 * the mass ahead of `from`; all of them stay if none qualifies (summation order disagreed at the edge).
 */
function nucleusLength(weights: Float64Array, from: number, to: number, before: number, total: number, threshold: number): number {
  for (let j = from; j < to; j++) {
    if (j > 0 && Math.fround((total - before) / total) <= threshold) return j;
    before += weights[j]!;
  }
  return to;
}

/** 1/128-nat buckets of distance below the maximum, the last one also holding everything further away. */
function bucketOf(distance: number): number {
  return distance < BUCKET_RANGE ? (distance * BUCKETS_PER_NAT) | 0 : BUCKETS - 1;
}

/** The shortest decimal that rounds to the same float32 as x (at most 9 significant digits). */
function shortestDecimalOfFloat32(x: number): number {
  const single = Math.fround(x);
  for (let digits = 1; digits < 9; digits++) {
    const decimal = Number(single.toPrecision(digits));
    if (Math.fround(decimal) === single) return decimal;
  }
  return Number(single.toPrecision(9));
}

const float32Bits = new Float32Array(1);
const float32BitsAsInteger = new Uint32Array(float32Bits.buffer);

/** The largest float32 below the float32 x (finite). */
function nextFloat32Down(x: number): number {
  if (x === 0) return -(2 ** -149);
  float32Bits[0] = x;
  float32BitsAsInteger[0] = float32BitsAsInteger[0]! + (x > 0 ? -1 : 1);
  return float32Bits[0]!;
}

/**
 * The smallest float32 whose processed logit equals that of `value`: dividing by the temperature and
 * rounding to float32 is monotone but can merge neighbours, and merged ones tie at the top-k boundary.
 */
export function lowestTying(value: number, temperature: number): number {
  if (!Number.isFinite(value)) return value;
  const processed = Math.fround(value / temperature);
  let lowest = value;
  for (;;) {
    const below = nextFloat32Down(lowest);
    if (Math.fround(below / temperature) !== processed) return lowest;
    lowest = below;
  }
}

/** Index of the largest value; the first one on ties, like torch.argmax. */
function argmax(values: Float32Array): number {
  let best = 0;
  let bestValue = values[0]!;
  for (let i = 1; i < values.length; i++) {
    if (values[i]! > bestValue) {
      bestValue = values[i]!;
      best = i;
    }
  }
  return best;
}

/**
 * argmax and log Σ e^value of the raw logits in one pass. The sum runs in float64 relative to the
 * largest value so far and is rescaled when a larger one appears (about ln V times in a random order).
 */
function summarize(values: Float32Array): { argmax: number; logSumExp: number } {
  let best = 0;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    if (value > max) {
      sum *= expOfNonPositive(max - value);
      max = value;
      best = i;
    }
    sum += expOfNonPositive(value - max);
  }
  return { argmax: best, logSumExp: max + Math.log(sum) };
}

function siftDown(values: Float32Array, ids: Int32Array, start: number, size: number): void {
  const value = values[start]!;
  const id = ids[start]!;
  let i = start;
  for (;;) {
    let child = 2 * i + 1;
    if (child >= size) break;
    if (child + 1 < size && values[child + 1]! < values[child]!) child++;
    if (values[child]! >= value) break;
    values[i] = values[child]!;
    ids[i] = ids[child]!;
    i = child;
  }
  values[i] = value;
  ids[i] = id;
}
