import { copyView, type PixelView } from "./pixel-view.ts";
import { assertRgbImage, type Pixels, type RgbImage } from "./rgb-image.ts";

/** EXIF orientation: how the stored pixels must be flipped or turned for display (TIFF tag 0x0112). */
export type Orientation = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

/**
 * How each orientation turns the stored pixels upright: `swap` when upright x runs along the stored
 * columns (the upright image is `height x width`), `mirrorX` / `mirrorY` when upright x / y run
 * against their stored axis. These are the transposes Pillow's `ImageOps.exif_transpose` picks:
 * 2 FLIP_LEFT_RIGHT, 3 ROTATE_180, 4 FLIP_TOP_BOTTOM, 5 TRANSPOSE, 6 ROTATE_270, 7 TRANSVERSE, 8 ROTATE_90.
 */
export type Turn = { readonly swap: boolean; readonly mirrorX: boolean; readonly mirrorY: boolean };

export const TURNS: Readonly<Record<Orientation, Turn>> = {
  1: { swap: false, mirrorX: false, mirrorY: false },
  2: { swap: false, mirrorX: true, mirrorY: false },
  3: { swap: false, mirrorX: true, mirrorY: true },
  4: { swap: false, mirrorX: false, mirrorY: true },
  5: { swap: true, mirrorX: false, mirrorY: false },
  6: { swap: true, mirrorX: true, mirrorY: false },
  7: { swap: true, mirrorX: true, mirrorY: true },
  8: { swap: true, mirrorX: false, mirrorY: true },
};

/** The stored pixels seen upright, as an orientation says. */
export function uprightView(pixels: Pixels, orientation: Orientation): PixelView {
  const { data, width: w, height: h, channels } = pixels;
  const { swap, mirrorX, mirrorY } = TURNS[orientation];
  const [alongX, alongY] = swap ? [w * channels, channels] : [channels, w * channels];
  const [width, height] = swap ? [h, w] : [w, h];
  return {
    data,
    width,
    height,
    origin: (mirrorX ? (width - 1) * alongX : 0) + (mirrorY ? (height - 1) * alongY : 0),
    stepX: mirrorX ? -alongX : alongX,
    stepY: mirrorY ? -alongY : alongY,
  };
}

/**
 * A decoded image, upright as its orientation says, whose RGB is made only when `data` is first read.
 * `preprocess` and `resizeBicubic` read the stored pixels through the turn instead (`uprightPixels`),
 * so a photo is never held a second time, turned.
 */
class UprightImage implements RgbImage {
  readonly width: number;
  readonly height: number;
  #view: PixelView | undefined;
  readonly #inPlace: boolean;
  #data: Uint8Array | undefined;

  /** `inPlace`: the view shows RGBA stored upright, which becomes RGB in place (no write passes a read). */
  constructor(view: PixelView, inPlace: boolean) {
    this.#view = view;
    this.#inPlace = inPlace;
    this.width = view.width;
    this.height = view.height;
  }

  get data(): Uint8Array {
    if (this.#data === undefined) {
      const view = this.#view!;
      const rgb = view.width * view.height * 3;
      this.#data = this.#inPlace ? view.data.subarray(0, rgb) : new Uint8Array(rgb);
      copyView(view, { data: this.#data, offset: 0, rowBytes: view.width * 3 });
      this.#view = undefined;
    }
    return this.#data;
  }

  /** The stored pixels seen upright while `data` has not been made; else `data`. */
  view(): PixelView {
    return this.#view ?? rgbView(this);
  }
}

function rgbView({ data, width, height }: RgbImage): PixelView {
  return { data, width, height, origin: 0, stepX: 3, stepY: width * 3 };
}

/** `pixels` turned upright by an EXIF orientation, as an `RgbImage`; the turn is made lazily (see `UprightImage`). */
export function uprightImage(pixels: Pixels, orientation: Orientation): RgbImage {
  const { data, width, height, channels } = pixels;
  if (orientation === 1 && channels === 3) return { data, width, height };
  return new UprightImage(uprightView(pixels, orientation), orientation === 1);
}

/** An image's pixels in place: a decoded image's stored pixels seen through its turn, or any RGB image as is. */
export function uprightPixels(image: RgbImage): PixelView {
  if (image instanceof UprightImage) return image.view();
  assertRgbImage(image);
  return rgbView(image);
}
