"""Pillow's side of the edge preprocessing benchmark (Debian python3-pil and python3-numpy).

  pillow.py photo OUT WIDTH HEIGHT SEED
      Writes a photo-like baseline JPEG (quality 90, 4:2:0) whose EXIF orientation is 6 (the pixels are
      stored WIDTH x HEIGHT, the image shows turned a quarter clockwise), as a phone held upright writes it.
  pillow.py serve
      Reads one request per stdin line, `IN IMAGE_SIZE MEAN_R MEAN_G MEAN_B`, and answers each with a JSON line
      {"ms", "width", "height", "sha256"}: the time of one run of the official preprocessing on IN's bytes
      (read once, then held in memory) inside this process: Image.open + ImageOps.exif_transpose +
      convert("RGB") + the official resize (long side IMAGE_SIZE, Pillow bicubic) + expand2square + the
      channel-planar uint8 array the model is fed. sha256 is that array's (computed after the timed run), to
      check that the edge made the same bytes. One long-lived process, so runs interleave with other work.
"""

import hashlib
import io
import json
import sys
import time

import os

import numpy as np
from PIL import Image, ImageDraw, ImageOps

# The official pipeline is written once, in the Pillow reference the tests compare the edge with.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "pillow"))
from reference_preprocess import pipeline  # noqa: E402
ORIENTATION_TAG = 0x0112


def smooth_field(rng, width, height, cells):
    """Low-frequency colour: a coarse random grid blown up with bicubic interpolation."""
    grid_w = cells
    grid_h = max(2, cells * height // width)
    grid = rng.integers(0, 256, (grid_h, grid_w, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(grid, "RGB").resize((width, height), Image.BICUBIC), dtype=np.float32)


def photo(width, height, seed):
    """Sky-to-ground shading, soft texture, hard-edged objects and sensor noise: JPEG sizes like a phone photo's."""
    rng = np.random.default_rng(seed)
    img = 0.6 * smooth_field(rng, width, height, 6) + 0.4 * smooth_field(rng, width, height, width // 6)
    canvas = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(canvas)
    for _ in range(40):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        x1, y1 = x0 + int(rng.integers(20, width // 5)), y0 + int(rng.integers(20, height // 5))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=colour)
    pixels = np.asarray(canvas, dtype=np.float32) + rng.normal(0, 4, (height, width, 3)).astype(np.float32)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def write_photo(out, width, height, seed):
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = 6
    photo(width, height, seed).save(out, "JPEG", quality=90, subsampling="4:2:0", progressive=False, exif=exif.tobytes())


def official(data, image_size, image_mean):
    """deepseek_vl's load + VLMImageProcessor.resize on a PIL image, with EXIF orientation applied on load."""
    img = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    width, height, planar = pipeline(img, image_size, image_mean)
    return width, height, np.ascontiguousarray(planar)


def serve():
    files = {}
    for line in sys.stdin:
        path, image_size, *mean = line.rstrip("\n").rsplit(" ", 4)
        if path not in files:
            with open(path, "rb") as f:
                files[path] = f.read()
        started = time.perf_counter()
        width, height, planar = official(files[path], int(image_size), [float(m) for m in mean])
        ms = 1000 * (time.perf_counter() - started)
        answer = {"ms": ms, "width": width, "height": height, "sha256": hashlib.sha256(planar.tobytes()).hexdigest()}
        print(json.dumps(answer), flush=True)


def main(argv):
    if len(argv) == 6 and argv[1] == "photo":
        write_photo(argv[2], int(argv[3]), int(argv[4]), int(argv[5]))
    elif len(argv) == 2 and argv[1] == "serve":
        serve()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
