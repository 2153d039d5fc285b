import type { SequenceRng } from "./rng.ts";
import { lowestTying, type SampledToken, type SamplingSettings, TokenSampler } from "./sampler.ts";

/** A row's largest last-position logits (descending, float32) with their token ids and the row's log-sum-exp. */
export type RowCandidates = { logits: Float32Array; ids: BigInt64Array; logSumExp: number };

/**
 * Samples from a row's top candidates (decoder_serving's top-k outputs) instead of its whole vocabulary,
 * with exactly TokenSampler's result on the whole row whenever the candidates hold every token the settings
 * could keep; otherwise it answers undefined and the caller samples the whole row. The candidates decide when
 * - no repetition penalty applies (a penalty moves logits from outside the candidates into play), and
 * - the request is greedy, or has top_k within the candidates (top_p then works inside the top-k set), and
 * - nothing past the last candidate could tie with the k-th largest once divided by the temperature.
 * Candidates are offered to a TokenSampler in ascending id order, so its lower-id-wins tie rules pick the same
 * token, and it draws the same single uniform. The logprob uses the device's log-sum-exp of the whole row.
 */
export class CandidateSampler {
  readonly #vocabSize: number;
  readonly #sampler: TokenSampler;
  readonly #values: Float32Array;
  readonly #order: Int32Array;

  constructor(width: number, vocabSize: number) {
    this.#vocabSize = vocabSize;
    this.#sampler = new TokenSampler(width);
    this.#values = new Float32Array(width);
    this.#order = new Int32Array(width);
  }

  sample(row: RowCandidates, generated: ArrayLike<number>, settings: SamplingSettings, rng: SequenceRng): SampledToken | undefined {
    const width = row.logits.length;
    if (settings.repetitionPenalty !== 1 && generated.length > 0) return undefined;
    const greedy = settings.temperature === 0;
    const k = greedy ? 1 : settings.topK;
    if (k === 0 || k > width) return undefined;
    if (width < this.#vocabSize) {
      const floor = greedy ? row.logits[0]! : lowestTying(row.logits[k - 1]!, Math.fround(settings.temperature));
      if (!(row.logits[width - 1]! < floor)) return undefined;
    }
    const order = this.#order;
    for (let j = 0; j < width; j++) order[j] = j;
    order.sort((a, b) => Number(row.ids[a]! - row.ids[b]!));
    for (let j = 0; j < width; j++) this.#values[j] = row.logits[order[j]!]!;
    const { tokenId: position } = this.#sampler.sample(this.#values, [], settings, rng);
    return { tokenId: Number(row.ids[order[position]!]!), logprob: this.#values[position]! - row.logSumExp };
  }
}
