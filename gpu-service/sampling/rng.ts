// Per-sequence random numbers: xoshiro128** (Blackman & Vigna, 2018) seeded through SplitMix64 from the
// protocol's uint64 seed. Integer-only arithmetic, so a seed gives the same stream on every machine, and
// each sequence owns its generator, so interleaving with other requests never shifts a stream.

const UINT64_LIMIT = 1n << 64n;
const UINT64_MASK = UINT64_LIMIT - 1n;
const GOLDEN_GAMMA = 0x9e3779b97f4a7c15n;

/** One SplitMix64 step (Steele, Lea & Flood, 2014): the advanced state and its output. */
export function splitMix64(state: bigint): [state: bigint, output: bigint] {
  const next = (state + GOLDEN_GAMMA) & UINT64_MASK;
  let z = next;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & UINT64_MASK;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & UINT64_MASK;
  return [next, z ^ (z >> 31n)];
}

function rotateLeft(x: number, bits: number): number {
  return (x << bits) | (x >>> (32 - bits));
}

/** One xoshiro128** step on a 4-word state (updated in place): the next uint32. */
export function xoshiro128StarStar(state: Uint32Array): number {
  const s0 = state[0]!;
  const s1 = state[1]!;
  const s2 = state[2]! ^ s0;
  const s3 = state[3]! ^ s1;
  const result = Math.imul(rotateLeft(Math.imul(s1, 5), 7), 9) >>> 0;
  state[0] = s0 ^ s3;
  state[1] = s1 ^ s2;
  state[2] = s2 ^ (s1 << 9);
  state[3] = rotateLeft(s3, 11);
  return result;
}

function randomSeed(): bigint {
  return crypto.getRandomValues(new BigUint64Array(1))[0]!;
}

/** The random stream of one sequence. Without a seed it is seeded from crypto.getRandomValues. */
export class SequenceRng {
  /** The seed in use (drawn at random when none was given), so a stream can be reproduced. */
  readonly seed: bigint;
  readonly #state = new Uint32Array(4);

  constructor(seed: bigint = randomSeed()) {
    if (seed < 0n || seed >= UINT64_LIMIT) throw new RangeError(`seed must be a uint64 in [0, 2^64), got ${seed}`);
    this.seed = seed;
    // Two SplitMix64 outputs, low word first. SplitMix64's output is a bijection of its state, so two
    // consecutive outputs are never both 0 and the xoshiro state is never all-zero.
    const [state, first] = splitMix64(seed);
    const [, second] = splitMix64(state);
    this.#state[0] = Number(first & 0xffffffffn);
    this.#state[1] = Number(first >> 32n);
    this.#state[2] = Number(second & 0xffffffffn);
    this.#state[3] = Number(second >> 32n);
  }

  nextUint32(): number {
    return xoshiro128StarStar(this.#state);
  }

  /** A uniform double in [0, 1) with 53 random bits (two 32-bit outputs, 27 + 26 bits). */
  nextUniform(): number {
    const high = this.nextUint32() >>> 5;
    const low = this.nextUint32() >>> 6;
    return (high * 2 ** 26 + low) / 2 ** 53;
  }
}
