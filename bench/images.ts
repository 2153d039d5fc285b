/** A deterministic test image, uint8 [3,size,size], different for each seed (pseudo-random noise). */
export function noiseImage(size: number, seed: number): Uint8Array {
  const data = new Uint8Array(3 * size * size);
  let state = Math.imul(seed + 1, 2654435761) >>> 0;
  for (let i = 0; i < data.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    data[i] = state >>> 24;
  }
  return data;
}
