import type { Logger } from "../log.ts";
import { CandidateSampler, type SampledToken, type SamplingSettings, type SequenceRng, TokenSampler } from "../sampling/index.ts";
import type { Activations } from "./activations.ts";
import { DecodeBatch } from "./batch.ts";
import { RuntimeError } from "./errors.ts";
import { type Candidates, type DecodeOutputs, disposeCache, disposeOnDevice, type VisionLanguageModel } from "./model.ts";
import { PrefixCache, type PrefixCacheStats, type PrefixHit, type PromptIdentity } from "./prefix-cache.ts";
import type { ImageInput, VisionEncoder } from "./vision.ts";

export type FinishReason = "stop" | "length" | "cancelled";

export type Timings = { queueMs: number; visionMs: number; prefillMs: number; decodeMs: number; timeToFirstTokenMs: number };

export type GenerationResult = {
  reason: FinishReason;
  promptTokens: number;
  completionTokens: number;
  cachedImages: number;
  /** Leading prompt tokens whose KV came from the prefix cache. */
  cachedPromptTokens: number;
  timings: Timings;
};

export type GenerationRequest = {
  id: string;
  /** Prefix reuse stays within a namespace (one per tenant). */
  cacheNamespace: string;
  inputIds: readonly number[];
  images: readonly ImageInput[];
  /** Start of each image's run of image tokens in inputIds, in order. */
  imageStarts: readonly number[];
  sampling: SamplingSettings;
  /** The sequence's own random stream (seeded when the caller gave a seed). */
  rng: SequenceRng;
  maxNewTokens: number;
  /** Generation ends after any of these (EOS included by the caller). */
  stopTokenIds: ReadonlySet<number>;
  /** Cancellation and deadline: the sequence then finishes "cancelled" (the caller tells a deadline from a hang-up). */
  signal: AbortSignal;
  /** How many of the most probable tokens to report with each token (at most the decoder's candidates). */
  topLogprobs: number;
  /** Each generated token, its logprob, and the `topLogprobs` most probable tokens at its position. */
  onToken(token: number, logprob: number, top: readonly TokenLogprob[]): void;
};

/** A token and its log-probability (log_softmax of the raw logits). */
export type TokenLogprob = { tokenId: number; logprob: number };

export type EngineOptions = {
  /** Sequences decoding together at most. */
  maxBatch: number;
  /** Requests waiting for a place at most; more are refused with RuntimeError "queue_full". */
  maxQueue: number;
  /** Retry hint sent with a refusal. */
  retryAfterMs: number;
  /** Longest sequence (prompt + generated) the model takes. */
  contextLength: number;
  /** Bytes the batch's KV cache may hold (see #fits). */
  kvCacheBytes: number;
  /** Prompt tokens per prefill decoder call. */
  prefillChunkTokens: number;
  /** Bytes of earlier prompts' KV kept for prefix reuse; 0 turns it off. */
  prefixCacheBytes: number;
};

export type EngineEvents = {
  onTokens?(count: number): void;
  onFirstToken?(ms: number): void;
  onQueueDepth?(depth: number): void;
  onActive?(count: number): void;
  onDecodeStep?(batch: number): void;
  /** Bytes moved between host memory and the decoder's inputs and outputs by one decode step. */
  onDecodeHostBytes?(bytes: number): void;
  /** One prefill decoder call (a chunk of a prompt). */
  onPrefillChunk?(): void;
};

type Sequence = {
  request: GenerationRequest;
  /** Positions its cache may reach: prompt + max new tokens, within the context. */
  reservedLength: number;
  generated: number[];
  lastToken: number;
  cachedImages: number;
  cachedPromptTokens: number;
  timings: Timings;
  submittedAt: number;
  decodeStartedAt: number;
  resolve(result: GenerationResult): void;
  reject(error: unknown): void;
};

/**
 * Runs generation for every request: prefill one request at a time, then decode all running
 * sequences together, one batched decoder call per step, so every stream advances each step.
 * Work reaches the model only from this loop (and `exclusive`), one call at a time.
 */
export class GenerationEngine {
  readonly #model: VisionLanguageModel;
  readonly #vision: VisionEncoder;
  readonly #options: EngineOptions;
  readonly #events: EngineEvents;
  readonly #log: Logger;
  readonly #batch: DecodeBatch<Sequence>;
  readonly #prefixes: PrefixCache | undefined;
  /** Scratch space for sampling, shared by all sequences: the loop samples one sequence at a time. */
  readonly #sampler: TokenSampler;
  readonly #candidateSampler: CandidateSampler;
  readonly #waiting: Sequence[] = [];
  readonly #exclusive: (() => Promise<void>)[] = [];
  #wake: (() => void) | undefined;
  #running = false;
  /** Sequences between leaving the queue and joining the batch. */
  #prefilling = 0;

  constructor(model: VisionLanguageModel, vision: VisionEncoder, options: EngineOptions, log: Logger, events: EngineEvents = {}) {
    this.#model = model;
    this.#vision = vision;
    this.#options = options;
    this.#events = events;
    this.#log = log;
    const { vocabSize } = model.manifest.llm;
    this.#batch = new DecodeBatch(model);
    this.#prefixes = options.prefixCacheBytes > 0 ? new PrefixCache(options.prefixCacheBytes, model.kvBytesPerPosition) : undefined;
    this.#sampler = new TokenSampler(vocabSize);
    this.#candidateSampler = new CandidateSampler(model.candidates, vocabSize);
  }

  get queued(): number {
    return this.#waiting.length;
  }

  get active(): number {
    return this.#batch.size;
  }

  /** The prefix cache's counters (undefined when it is off). */
  prefixCacheStats(): PrefixCacheStats | undefined {
    return this.#prefixes?.stats();
  }

  /** Queues a request; resolves when it finishes. Refused at once when the queue is full. */
  generate(request: GenerationRequest): Promise<GenerationResult> {
    const reservedLength = Math.min(request.inputIds.length + request.maxNewTokens, this.#options.contextLength);
    const needed = reservedLength * this.#model.kvBytesPerPosition;
    if (needed > this.#options.kvCacheBytes) {
      return Promise.reject(
        new RuntimeError(
          `the request's KV cache (${needed} bytes for ${reservedLength} positions) exceeds the budget of ${this.#options.kvCacheBytes} bytes`,
          { kind: "kv_budget", neededBytes: needed, budgetBytes: this.#options.kvCacheBytes },
        ),
      );
    }
    // Capacity is the free places in the batch plus the queue: requests waiting only for a prefill to end
    // do not count against the queue.
    const freePlaces = Math.max(0, this.#options.maxBatch - this.#batch.size - this.#prefilling);
    if (this.#waiting.length >= this.#options.maxQueue + freePlaces) {
      return Promise.reject(
        new RuntimeError(`queue full (${this.#waiting.length} waiting)`, { kind: "queue_full", retryAfterMs: this.#options.retryAfterMs }),
      );
    }
    return new Promise((resolve, reject) => {
      const now = performance.now();
      const sequence: Sequence = {
        request,
        reservedLength,
        generated: [],
        lastToken: -1,
        cachedImages: 0,
        cachedPromptTokens: 0,
        timings: { queueMs: 0, visionMs: 0, prefillMs: 0, decodeMs: 0, timeToFirstTokenMs: 0 },
        submittedAt: now,
        decodeStartedAt: now,
        resolve,
        reject,
      };
      this.#waiting.push(sequence);
      // A caller gone while waiting frees its place at once, not when the loop reaches it.
      request.signal.addEventListener("abort", () => this.#leaveQueue(sequence), { once: true });
      this.#events.onQueueDepth?.(this.#waiting.length);
      this.#kick();
    });
  }

  #leaveQueue(sequence: Sequence): void {
    const index = this.#waiting.indexOf(sequence);
    if (index < 0) return;
    this.#waiting.splice(index, 1);
    this.#events.onQueueDepth?.(this.#waiting.length);
    sequence.timings.queueMs = performance.now() - sequence.submittedAt;
    this.#finish(sequence, "cancelled");
  }

  /** Runs `work` between decode steps, alone on the model (e.g. EncodeImages). */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return new Promise((resolve, reject) => {
      this.#exclusive.push(() => work().then(resolve, reject));
      this.#kick();
    });
  }

  /**
   * Whether the batch's cache stays within the KV budget with `sequence` in it: rows are padded to the
   * longest, so the batch may come to hold rows x its longest reservation. First come, first served: a
   * request that does not fit yet waits at the head of the queue for rows to finish.
   */
  #fits(sequence: Sequence): boolean {
    const rows = [...this.#batch.rows, sequence];
    const longest = Math.max(...rows.map((row) => row.reservedLength));
    return rows.length * longest * this.#model.kvBytesPerPosition <= this.#options.kvCacheBytes;
  }

  /** Bytes of the batch's KV cache now. */
  get kvCacheBytes(): number {
    return this.#batch.size === 0 ? 0 : this.#batch.size * this.#batch.cache.length * this.#model.kvBytesPerPosition;
  }

  #kick(): void {
    if (this.#wake) {
      const wake = this.#wake;
      this.#wake = undefined;
      wake();
    }
    if (!this.#running) {
      this.#running = true;
      void this.#loop();
    }
  }

  async #loop(): Promise<void> {
    for (;;) {
      while (this.#exclusive.length > 0) await this.#exclusive.shift()!();
      while (this.#waiting.length > 0 && this.#batch.size < this.#options.maxBatch && this.#fits(this.#waiting[0]!)) {
        const sequence = this.#waiting.shift()!;
        this.#events.onQueueDepth?.(this.#waiting.length);
        this.#prefilling++;
        try {
          await this.#prefill(sequence);
        } finally {
          this.#prefilling--;
        }
        if (this.#exclusive.length > 0) break;
      }
      if (this.#batch.size > 0) {
        await this.#step();
      } else if (this.#waiting.length === 0 && this.#exclusive.length === 0) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
      }
    }
  }

  async #prefill(sequence: Sequence): Promise<void> {
    const { request } = sequence;
    const start = performance.now();
    sequence.timings.queueMs = start - sequence.submittedAt;
    if (request.signal.aborted) return this.#finish(sequence, "cancelled");
    const prompt = promptOf(request, request.inputIds);
    try {
      // Borrowed until the next insert, which comes after this prefill's first decoder call has read it.
      const held = this.#prefixes?.lookup(prompt);
      const cached = held?.length ?? 0;
      sequence.cachedPromptTokens = cached;
      // Images whose runs lie wholly inside the held prefix are not encoded again.
      const { imageTokens } = this.#model.manifest.vision;
      const needed = request.images.flatMap((_, k) => (request.imageStarts[k]! + imageTokens > cached ? [k] : []));
      const { embeds: images, cached: encoderHits } = await this.#vision.embeddings(needed.map((k) => request.images[k]!));
      sequence.cachedImages = encoderHits + request.images.length - needed.length;
      const visionDone = performance.now();
      sequence.timings.visionMs = visionDone - start;

      // Embeddings of the positions still to prefill, from `cached` on; an image run may begin before it.
      const embeds = await this.#model.embed(request.inputIds.slice(cached));
      const hidden = this.#model.manifest.llm.hiddenSize;
      needed.forEach((k, j) => {
        const offset = request.imageStarts[k]! - cached;
        const rows = offset < 0 ? images[j]!.subarray(-offset * hidden) : images[j]!;
        embeds.set(rows as never, Math.max(0, offset) * hidden);
      });
      const output = await this.#prefillChunks(sequence, embeds, held);
      if (!output) return this.#finish(sequence, "cancelled");
      const now = performance.now();
      sequence.timings.prefillMs = now - visionDone;
      sequence.timings.timeToFirstTokenMs = now - sequence.submittedAt;
      this.#events.onFirstToken?.(sequence.timings.timeToFirstTokenMs);
      sequence.decodeStartedAt = now;
      // From here the prompt's cache is ours until the prefix cache or the batch takes it.
      const keep = () => (this.#prefixes ? this.#prefixes.insert(prompt, output.present) : disposeCache(output.present));
      let finished: boolean;
      try {
        finished = (await this.#sampleRows([sequence], output))[0] === true;
      } catch (error) {
        disposeCache(output.present);
        throw error;
      }
      if (finished) return keep();
      try {
        await this.#batch.join(sequence, output.present, { adopt: !this.#prefixes });
      } catch (error) {
        disposeCache(output.present);
        throw error;
      }
      if (this.#prefixes) keep();
      this.#events.onActive?.(this.#batch.size);
    } catch (error) {
      sequence.reject(error);
    }
  }

  /**
   * Runs the prompt through the decoder in chunks of `prefillChunkTokens`, from the end of the held prefix (when
   * there is one, its cache is the first past; `embeds` start there); between chunks the running sequences take
   * a decode step, so a long prompt does not freeze their streams. Returns the last chunk's output (its present
   * is the whole prompt's cache), or nothing when the caller left meanwhile.
   */
  async #prefillChunks(sequence: Sequence, embeds: Activations, held: PrefixHit | undefined): Promise<DecodeOutputs | undefined> {
    const length = sequence.request.inputIds.length;
    const hidden = this.#model.manifest.llm.hiddenSize;
    const first = held?.length ?? 0;
    let past = held?.cache ?? this.#model.emptyCache();
    // The held prefix's cache belongs to the prefix cache: read, never freed here.
    let borrowed = held !== undefined;
    const release = () => {
      if (!borrowed) disposeCache(past);
      borrowed = false;
    };
    try {
      for (let done = first; ; ) {
        const tokens = Math.min(this.#options.prefillChunkTokens, length - done);
        const output = await this.#model.decode({
          embeds: embeds.subarray((done - first) * hidden, (done - first + tokens) * hidden),
          batch: 1,
          tokens,
          padding: [0],
          positions: Int32Array.from({ length: tokens }, (_, i) => done + i),
          past,
        });
        release();
        past = output.present;
        done += tokens;
        this.#events.onPrefillChunk?.();
        if (done === length) return output;
        disposeOnDevice(output.logits);
        if (this.#batch.size > 0) await this.#step();
        if (sequence.request.signal.aborted) {
          release();
          return undefined;
        }
      }
    } catch (error) {
      release();
      throw error;
    }
  }

  async #step(): Promise<void> {
    let rows = this.#batch.rows;
    try {
      await this.#dropCancelled();
      rows = this.#batch.rows;
      if (rows.length === 0) return;
      const embeds = await this.#model.embed(
        rows.map((sequence) => sequence.lastToken),
        rows.length,
      );
      const output = await this.#model.decode({
        embeds,
        batch: rows.length,
        tokens: 1,
        padding: this.#batch.padding,
        positions: this.#batch.lengths,
        past: this.#batch.cache,
      });
      this.#batch.advance(output.present);
      this.#events.onDecodeStep?.(rows.length);
      const finished = await this.#sampleRows(rows, output);
      this.#events.onDecodeHostBytes?.(output.hostBytes);
      if (finished.some(Boolean)) {
        await this.#keepFinished(rows, finished);
        await this.#batch.remove((sequence) => finished[rows.indexOf(sequence)] === true);
        this.#events.onActive?.(this.#batch.size);
      }
    } catch (error) {
      // A failed step leaves no consistent cache: end every sequence in it.
      this.#log.error("decode step failed", { error: String(error), batch: rows.length });
      await this.#batch.remove(() => true).catch(() => undefined);
      for (const sequence of rows) sequence.reject(error);
      this.#events.onActive?.(0);
    }
  }

  /**
   * Hands the prefix cache a copy of each answered row's KV (its prompt and its answer but the last token, which
   * never ran through the decoder), so the conversation's next turn starts from all of it. Best effort: a failed
   * copy costs reuse, not the batch.
   */
  async #keepFinished(rows: readonly Sequence[], finished: readonly boolean[]): Promise<void> {
    if (!this.#prefixes) return;
    const { cache, lengths } = this.#batch;
    for (const [b, sequence] of rows.entries()) {
      const { request, generated } = sequence;
      if (!finished[b] || request.signal.aborted) continue;
      const inputIds = [...request.inputIds, ...generated.slice(0, -1)];
      if (lengths[b] !== inputIds.length) continue;
      try {
        const row = await this.#model.selectCache(cache, [b], cache.length - lengths[b]!);
        this.#prefixes.insert(promptOf(request, inputIds), row);
      } catch (error) {
        this.#log.warn("could not keep a finished sequence for prefix reuse", { requestId: request.id, error: String(error) });
      }
    }
  }

  /**
   * Samples and streams the next token of each row of a decode's output; true for the rows that finished.
   * Rows sample from the decoder's top candidates where those decide exactly (CandidateSampler); the others
   * (a repetition penalty, top-k beyond the candidates or none) read their whole logits row from the device.
   * The output's logits are freed here; the bytes read join its `hostBytes`.
   */
  async #sampleRows(rows: readonly Sequence[], output: DecodeOutputs): Promise<boolean[]> {
    const { candidates } = output;
    const width = candidates.width;
    try {
      const sampled: (SampledToken | undefined)[] = rows.map((sequence, b) => {
        if (sequence.request.signal.aborted) return undefined;
        const row = {
          logits: candidates.logits.subarray(b * width, (b + 1) * width),
          ids: candidates.ids.subarray(b * width, (b + 1) * width),
          logSumExp: candidates.logSumExp[b]!,
        };
        return this.#candidateSampler.sample(row, sequence.generated, sequence.request.sampling, sequence.request.rng);
      });
      const whole = rows.flatMap((sequence, b) => (sampled[b] === undefined && !sequence.request.signal.aborted ? [b] : []));
      if (whole.length > 0) {
        const read = await this.#model.rowLogits(output.logits, whole);
        output.hostBytes += read.hostBytes;
        whole.forEach((b, i) => {
          const { generated, request } = rows[b]!;
          sampled[b] = this.#sampler.sample(read.rows[i]!, generated, request.sampling, request.rng);
        });
      }
      return rows.map((sequence, b) => this.#emit(sequence, sampled[b], topOf(candidates, b, sequence.request.topLogprobs)));
    } finally {
      disposeOnDevice(output.logits);
    }
  }

  /** Streams a sampled token (none when the caller is gone); true when the sequence has finished. */
  #emit(sequence: Sequence, sampled: SampledToken | undefined, top: readonly TokenLogprob[]): boolean {
    const { request } = sequence;
    if (request.signal.aborted || !sampled) {
      this.#finish(sequence, "cancelled");
      return true;
    }
    const { tokenId, logprob } = sampled;
    sequence.generated.push(tokenId);
    sequence.lastToken = tokenId;
    request.onToken(tokenId, logprob, top);
    this.#events.onTokens?.(1);
    if (request.stopTokenIds.has(tokenId)) {
      this.#finish(sequence, "stop");
      return true;
    }
    const count = sequence.generated.length;
    if (count >= request.maxNewTokens || request.inputIds.length + count >= this.#options.contextLength) {
      this.#finish(sequence, "length");
      return true;
    }
    return false;
  }

  async #dropCancelled(): Promise<void> {
    const cancelled = await this.#batch.remove((sequence) => sequence.request.signal.aborted);
    for (const sequence of cancelled) this.#finish(sequence, "cancelled");
    if (cancelled.length > 0) this.#events.onActive?.(this.#batch.size);
  }

  #finish(sequence: Sequence, reason: FinishReason): void {
    const { request } = sequence;
    sequence.timings.decodeMs = performance.now() - sequence.decodeStartedAt;
    sequence.resolve({
      reason,
      promptTokens: request.inputIds.length,
      completionTokens: sequence.generated.length,
      cachedImages: sequence.cachedImages,
      cachedPromptTokens: sequence.cachedPromptTokens,
      timings: sequence.timings,
    });
  }
}

const NO_ALTERNATIVES: readonly TokenLogprob[] = Object.freeze([]);

/** What a sequence's KV depends on, for the prefix cache: its namespace, `inputIds` and its images' keys and runs. */
function promptOf(request: GenerationRequest, inputIds: readonly number[]): PromptIdentity {
  const images = request.images.map((image, k) => ({ key: image.key, start: request.imageStarts[k]! }));
  return { namespace: request.cacheNamespace, inputIds, images };
}

/** The `count` most probable tokens of row `b`: the decoder's candidates are its largest logits, descending. */
function topOf(candidates: Candidates, b: number, count: number): readonly TokenLogprob[] {
  // Most requests ask for none: no array per token for them.
  if (count === 0) return NO_ALTERNATIVES;
  const { width } = candidates;
  return Array.from({ length: Math.min(count, width) }, (_, j) => ({
    tokenId: Number(candidates.ids[b * width + j]!),
    logprob: candidates.logits[b * width + j]! - candidates.logSumExp[b]!,
  }));
}
