/** A deterministic photo-like RGB test image. */
export function testImage(width: number, height: number, seed: number): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  let state = (seed * 2654435761) >>> 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      state = (state * 1103515245 + 12345) >>> 0;
      const noise = state >>> 28;
      const i = (y * width + x) * 3;
      rgb[i] = (x * 255) / width + noise;
      rgb[i + 1] = (y * 255) / height + noise;
      rgb[i + 2] = ((x + y) * 127) / (width + height) + seed * 40;
    }
  }
  return rgb;
}
