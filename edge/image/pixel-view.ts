/**
 * A `width x height` image read in place: upright pixel `(x, y)` is the bytes from
 * `data[origin + x * stepX + y * stepY]`, the first three its RGB. Negative steps read an axis backwards,
 * steps of a row's length read it transposed: any EXIF turn of stored RGB or RGBA, without a copy.
 */
export interface PixelView {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly origin: number;
  readonly stepX: number;
  readonly stepY: number;
}

/** Where RGB is written: pixel `(x, y)` at `data[offset + y * rowBytes + x * 3 ..]`. */
export interface Canvas {
  readonly data: Uint8Array;
  readonly offset: number;
  readonly rowBytes: number;
}

/** Copies the view's pixels onto the canvas as RGB. */
export function copyView(view: PixelView, canvas: Canvas): void {
  const { data, width, height, origin, stepX, stepY } = view;
  const out = canvas.data;
  for (let y = 0; y < height; y++) {
    let o = canvas.offset + y * canvas.rowBytes;
    for (let x = 0, p = origin + y * stepY; x < width; x++, p += stepX) {
      out[o++] = data[p]!;
      out[o++] = data[p + 1]!;
      out[o++] = data[p + 2]!;
    }
  }
}
