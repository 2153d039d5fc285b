"""Files carrying every EXIF orientation, and what Pillow makes of each after ImageOps.exif_transpose:
the DeepSeek-VL pipeline for both models, and a plain bicubic resize, for the edge's oriented-preprocessing tests.

Usage: oriented_pipeline.py OUT_DIR. Writes OUT_DIR/<name>.<ext> and OUT_DIR/manifest.json, a list of
{"name", "file", "width", "height" (upright), "pipeline": {"<image_size>": "<raw file>"}, "resize": "<raw file>"}:
the pipeline outputs channel-planar [3, S, S], the resize (to RESIZE) interleaved [H, W, 3].
"""

import json
import os
import sys

import numpy as np
from PIL import Image, ImageOps

from decode_images import exif_bytes, noise, photo, save, tiff_bytes
from reference_preprocess import pipeline

MODELS = ((384, (0.5, 0.5, 0.5)), (1024, (0.48145466, 0.4578275, 0.40821073)))
RESIZE = (101, 67)


def sources():
    # Shrunk on both axes by either model; one side already 1024 (Pillow skips that pass for the 7B);
    # enlarged; a strip the min_size widens; odd sizes everywhere.
    yield "photo-1500x1001", photo(1500, 1001)
    yield "noise-1024x701", Image.fromarray(noise((701, 1024, 3)), "RGB")
    yield "noise-641x479", Image.fromarray(noise((479, 641, 3)), "RGB")
    yield "noise-37x23", Image.fromarray(noise((23, 37, 3)), "RGB")
    yield "noise-900x13", Image.fromarray(noise((13, 900, 3)), "RGB")


def files():
    for name, img in sources():
        for orientation in range(1, 9):
            # JPEG through the WebAssembly codec, which hands over RGBA.
            yield f"{name}-jpeg-{orientation}.jpg", save(img, "JPEG", quality=90, exif=exif_bytes(orientation))
    img = photo(641, 479)
    # RGB from the TypeScript decoders (PNG, CMYK JPEG) and RGBA from libwebp.
    yield "photo-641x479-png-5.png", save(img, "PNG", exif=tiff_bytes(5))
    yield "photo-641x479-png-3.png", save(img, "PNG", exif=tiff_bytes(3))
    yield "photo-641x479-cmyk-8.jpg", save(img.convert("CMYK"), "JPEG", quality=90, exif=exif_bytes(8))
    yield "photo-641x479-webp-7.webp", save(img, "WEBP", lossless=True, exif=exif_bytes(7))
    yield "photo-641x479-webp-2.webp", save(img, "WEBP", lossless=True, exif=exif_bytes(2))


def write(out, name, array):
    with open(os.path.join(out, name), "wb") as f:
        f.write(np.ascontiguousarray(array).tobytes())


def main():
    out = sys.argv[1]
    manifest = []
    for file, data in files():
        with open(os.path.join(out, file), "wb") as f:
            f.write(data)
        name = file.rsplit(".", 1)[0]
        with Image.open(os.path.join(out, file)) as im:
            upright = ImageOps.exif_transpose(im).convert("RGB")
        entry = {"name": name, "file": file, "width": upright.width, "height": upright.height, "pipeline": {}}
        for image_size, image_mean in MODELS:
            entry["pipeline"][str(image_size)] = f"{name}-{image_size}.chw"
            write(out, entry["pipeline"][str(image_size)], pipeline(upright, image_size, image_mean)[2])
        entry["resize"] = f"{name}-resize.rgb"
        write(out, entry["resize"], np.asarray(upright.resize(RESIZE, Image.BICUBIC)))
        manifest.append(entry)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
