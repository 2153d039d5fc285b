import type { RgbImage } from "../../edge/image/index.ts";

/** Seeded PRNG (mulberry32): the same images on every run. Returns 32-bit unsigned integers. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

export type Pattern = "noise" | "gradient" | "edges" | "photo";

/** Worst case for clipping and accumulation: every byte independent and uniform. */
function noise(width: number, height: number, random: () => number): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = random() & 255;
  return data;
}

/** Smooth ramps in different directions per channel. */
function gradient(width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0, p = 0; y < height; y++) {
    for (let x = 0; x < width; x++, p += 3) {
      const u = width > 1 ? x / (width - 1) : 0;
      const v = height > 1 ? y / (height - 1) : 0;
      data[p] = Math.round(255 * u);
      data[p + 1] = Math.round(255 * v);
      data[p + 2] = Math.round(255 * (1 - (u + v) / 2));
    }
  }
  return data;
}

/** Black/white cells of random sizes: hard edges make the cubic over- and undershoot past 0..255. */
function edges(width: number, height: number, random: () => number): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  const cell = 1 + (random() % 9);
  for (let y = 0, p = 0; y < height; y++) {
    for (let x = 0; x < width; x++, p += 3) {
      const on = (Math.floor(x / cell) + Math.floor(y / (cell + 1))) % 2 === 0;
      data[p] = on ? 255 : 0;
      data[p + 1] = on ? 0 : 255;
      data[p + 2] = x % 7 === 0 ? 255 : on ? 255 : 0;
    }
  }
  return data;
}

/** Photo-like: smooth shading, a few flat rectangles, mild sensor noise. */
function photo(width: number, height: number, random: () => number): Uint8Array {
  const data = gradient(width, height);
  for (let r = 0; r < 12; r++) {
    const x0 = random() % width;
    const y0 = random() % height;
    const x1 = Math.min(width, x0 + 1 + (random() % Math.ceil(width / 4)));
    const y1 = Math.min(height, y0 + 1 + (random() % Math.ceil(height / 4)));
    const [red, green, blue] = [random() & 255, random() & 255, random() & 255];
    for (let y = y0; y < y1; y++) {
      for (let p = (y * width + x0) * 3, end = (y * width + x1) * 3; p < end; p += 3) {
        data[p] = red;
        data[p + 1] = green;
        data[p + 2] = blue;
      }
    }
  }
  for (let i = 0; i < data.length; i++) data[i] = Math.min(255, Math.max(0, data[i]! + (random() % 9) - 4));
  return data;
}

export function syntheticImage(pattern: Pattern, width: number, height: number, seed: number): RgbImage {
  const random = prng(seed);
  const data =
    pattern === "noise"
      ? noise(width, height, random)
      : pattern === "gradient"
        ? gradient(width, height)
        : pattern === "edges"
          ? edges(width, height, random)
          : photo(width, height, random);
  return { data, width, height };
}
