"""Writes a varied set of JPEG, PNG and WebP files and Pillow's reading of each, for the edge's decode tests.

Usage: decode_images.py OUT_DIR. Writes OUT_DIR/<name>.<ext> for every case and OUT_DIR/manifest.json,
a list of {"name", "file", "pillow"} where "pillow" is either
  {"size": [w, h], "orientation": 1..8 or null, "mode": ..., "width", "height", "rgb": "<name>.rgb"}
(the header as Image.open reports it, then ImageOps.exif_transpose(im).convert("RGB") as raw bytes), or
  {"error": "..."} when Pillow refuses the file.

Most files are written by Pillow itself; PNG variants Pillow cannot write (1/2/4-bit, 16-bit colour,
Adam7 interlacing, every filter type, metadata after the image data) are built by hand below
following the PNG specification, and JPEG variants it cannot write come from fixtures/ (made with
libjpeg-turbo's cjpeg and jpegtran); Pillow only reads those.
"""

import io
import json
import os
import struct
import sys
import warnings
import zlib

import numpy as np
from PIL import Image, ImageFile, ImageOps

# Progressive JPEG at high quality needs a larger encoder buffer than Pillow's default.
ImageFile.MAXBLOCK = 1 << 24

RNG = np.random.default_rng(20261127)


def photo(width, height):
    """Photo-like RGB: smooth shading, a few flat patches, sensor noise, hard edges."""
    y, x = np.mgrid[0:height, 0:width]
    u = x / max(width - 1, 1)
    v = y / max(height - 1, 1)
    img = np.stack([255 * u, 255 * v, 255 * (1 - (u + v) / 2)], -1)
    for _ in range(6):
        x0, y0 = RNG.integers(0, width), RNG.integers(0, height)
        img[y0 : y0 + height // 4 + 1, x0 : x0 + width // 4 + 1] = RNG.integers(0, 256, 3)
    img += RNG.normal(0, 6, img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def noise(shape, high=256, dtype=np.uint8):
    return RNG.integers(0, high, shape, dtype=np.int64).astype(dtype)


def with_alpha(img):
    w, h = img.size
    alpha = (np.mgrid[0:h, 0:w][1] * 255 // max(w - 1, 1)).astype(np.uint8)
    alpha[:, : max(1, w // 8)] = 0  # fully transparent columns keep their stored colour in Pillow
    return Image.fromarray(np.dstack([np.asarray(img.convert("RGB")), alpha]), "RGBA")


def exif_bytes(orientation):
    """An EXIF block with "Exif\\0\\0" in front, as a JPEG APP1 segment carries it (and Pillow's save expects it)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def tiff_bytes(orientation):
    """The bare TIFF structure, as a PNG eXIf chunk carries it."""
    return exif_bytes(orientation)[6:]


def app14_at(jpeg):
    """Start and end of the Adobe APP14 segment libjpeg writes for CMYK (marker, length 14, "Adobe", 7 bytes)."""
    at = jpeg.index(b"\xff\xee\x00\x0eAdobe")
    return at, at + 2 + 14


def without_app14(jpeg):
    start, end = app14_at(jpeg)
    return jpeg[:start] + jpeg[end:]


def adobe_transform(jpeg, transform):
    """The JPEG with the colour transform byte of its Adobe APP14 segment replaced."""
    start, _ = app14_at(jpeg)
    at = start + 4 + 11
    return jpeg[:at] + bytes([transform]) + jpeg[at + 1 :]


def save(img, fmt, **options):
    buf = io.BytesIO()
    img.save(buf, fmt, **options)
    return buf.getvalue()


# ---- PNG written by hand --------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def pack_row(samples, depth):
    """One row of samples (pixels x channels) to PNG bytes: big-endian 16-bit, or sub-byte values MSB first."""
    flat = [int(s) for s in np.asarray(samples).reshape(-1)]
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in flat)
    if depth == 8:
        return bytes(flat)
    per_byte = 8 // depth
    out = bytearray((len(flat) + per_byte - 1) // per_byte)
    for i, s in enumerate(flat):
        out[i // per_byte] |= s << (8 - depth * (i % per_byte + 1))
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def filter_row(kind, row, prev, bpp):
    out = bytearray(len(row))
    for i, x in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        predictor = [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]
        out[i] = (x - predictor) & 255
    return bytes([kind]) + bytes(out)


def png_bytes(samples, depth, color_type, interlace=False, before=b"", after=b"", idat_size=None, palette=None):
    """samples: array (h, w, channels). Filters cycle through all five types, row by row."""
    h, w = samples.shape[:2]
    channels = samples.shape[2]
    bpp = max(1, depth * channels // 8)
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    raw = bytearray()
    n = 0
    for x0, y0, dx, dy in passes:
        sub = samples[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        prev = bytes(len(pack_row(sub[0], depth)))
        for r in sub:
            row = pack_row(r, depth)
            raw += filter_row(n % 5, row, prev, bpp)
            prev = row
            n += 1
    data = zlib.compress(bytes(raw), 9)
    size = idat_size or len(data)
    idat = b"".join(chunk(b"IDAT", data[i : i + size]) for i in range(0, len(data), size))
    ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 1 if interlace else 0))
    plte = chunk(b"PLTE", palette) if palette is not None else b""
    return PNG_SIGNATURE + ihdr + plte + before + idat + after + chunk(b"IEND", b"")


def text_chunk(keyword, value):
    return chunk(b"tEXt", keyword.encode("latin-1") + b"\0" + value.encode("latin-1"))


def itxt_chunk(keyword, value):
    return chunk(b"iTXt", keyword.encode("latin-1") + b"\0\0\0\0\0" + value.encode("utf-8"))


def raw_profile(exif):
    hexed = exif.hex()
    lines = [hexed[i : i + 72] for i in range(0, len(hexed), 72)]
    return "\nexif\n%8d\n%s\n" % (len(exif), "\n".join(lines))


# ---- the cases --------------------------------------------------------------------------------------


def jpeg_cases():
    img = photo(203, 157)
    for quality in (35, 75, 95):
        for subsampling, label in ((0, "444"), (1, "422"), (2, "420")):
            yield f"jpeg-q{quality}-{label}", save(img, "JPEG", quality=quality, subsampling=subsampling)
            yield f"jpeg-q{quality}-{label}-progressive", save(
                img, "JPEG", quality=quality, subsampling=subsampling, progressive=True
            )
    yield "jpeg-q100-444-optimized", save(img, "JPEG", quality=100, subsampling=0, optimize=True)
    cmyk = img.convert("CMYK")
    yield "jpeg-cmyk", save(cmyk, "JPEG", quality=90)
    yield "jpeg-cmyk-progressive", save(cmyk, "JPEG", quality=90, progressive=True)
    # Pillow subsamples the first ink, so the others go through libjpeg's fancy upsampling.
    yield "jpeg-cmyk-422", save(cmyk, "JPEG", quality=80, subsampling=1)
    yield "jpeg-cmyk-420-progressive", save(cmyk, "JPEG", quality=60, subsampling=2, progressive=True)
    yield "jpeg-cmyk-no-adobe-marker", without_app14(save(cmyk, "JPEG", quality=90))
    # Adobe transform 2 makes libjpeg read the first three components as YCC (YCCK).
    yield "jpeg-ycck-420", adobe_transform(save(cmyk, "JPEG", quality=85, subsampling=2), 2)
    yield "jpeg-ycck-progressive", adobe_transform(save(cmyk, "JPEG", quality=85, progressive=True), 2)
    yield "jpeg-cmyk-orientation-6", save(photo(37, 23).convert("CMYK"), "JPEG", quality=90, exif=exif_bytes(6))
    yield "jpeg-grey", save(img.convert("L"), "JPEG", quality=80)
    yield "jpeg-grey-progressive", save(img.convert("L"), "JPEG", quality=80, progressive=True)
    for w, h in ((1, 1), (2, 3), (7, 5), (17, 9), (16, 16), (33, 1)):
        yield f"jpeg-{w}x{h}-420", save(Image.fromarray(noise((h, w, 3)), "RGB"), "JPEG", quality=90, subsampling=2)
    yield "jpeg-noise-420", save(Image.fromarray(noise((61, 83, 3)), "RGB"), "JPEG", quality=85)
    yield "jpeg-large-420", save(photo(1500, 1001), "JPEG", quality=88)
    portrait = photo(37, 23)
    for orientation in range(1, 9):
        yield f"jpeg-orientation-{orientation}", save(portrait, "JPEG", quality=90, exif=exif_bytes(orientation))
    yield "jpeg-orientation-6-progressive", save(portrait, "JPEG", quality=90, progressive=True, exif=exif_bytes(6))


def tiff(entries, order="II", count=None):
    """A TIFF block with one IFD; entries are (tag, type, count, value bytes), values over 4 bytes stored after the IFD."""
    e = "<" if order == "II" else ">"
    n = len(entries) if count is None else count
    data_at = 8 + 2 + 12 * len(entries) + 4
    ifd, data = b"", b""
    for tag, kind, values, value in entries:
        if len(value) > 4:
            field = struct.pack(e + "I", data_at + len(data))
            data += value
        else:
            field = value.ljust(4, b"\0")
        ifd += struct.pack(e + "HHI", tag, kind, values) + field
    magic = struct.pack(e + "H", 42)
    return order.encode() + magic + struct.pack(e + "I", 8) + struct.pack(e + "H", n) + ifd + b"\0\0\0\0" + data


def with_app1(jpeg, *payloads):
    """The JPEG with APP1 segments inserted right after SOI."""
    segments = b"".join(b"\xff\xe1" + struct.pack(">H", len(p) + 2) + p for p in payloads)
    return jpeg[:2] + segments + jpeg[2:]


def exif_variant_cases():
    """How Pillow reads an orientation tag written in unusual ways (the decoder must read it the same)."""
    base = save(photo(21, 13), "JPEG", quality=90)
    o = 0x0112
    variants = {
        "short-le": tiff([(o, 3, 1, struct.pack("<H", 6))]),
        "long-be": tiff([(o, 4, 1, struct.pack(">I", 8))], "MM"),
        "sshort": tiff([(o, 8, 1, struct.pack("<h", 5))]),
        "rational": tiff([(o, 5, 1, struct.pack("<II", 12, 2))]),
        "float": tiff([(o, 11, 1, struct.pack("<f", 3.0))]),
        "double-be": tiff([(o, 12, 1, struct.pack(">d", 7.0))], "MM"),
        "byte": tiff([(o, 1, 1, bytes([6]))]),
        "ascii": tiff([(o, 2, 2, b"6\0")]),
        "two-values": tiff([(o, 3, 2, struct.pack("<HH", 6, 3))]),
        "last-entry-wins": tiff([(o, 3, 1, struct.pack("<H", 2)), (o, 3, 1, struct.pack("<H", 4))]),
        "unknown-type-skipped": tiff([(o, 3, 1, struct.pack("<H", 7)), (o, 99, 1, struct.pack("<H", 2))]),
        "value-out-of-range": tiff([(o, 3, 1, struct.pack("<H", 9))]),
        "zero": tiff([(o, 3, 1, struct.pack("<H", 0))]),
        # A rational is 8 bytes, so its field holds an offset: here past the end of the block.
        "offset-outside": tiff([(o, 5, 1, struct.pack("<I", 9999))]),
        "ifd-count-past-end": tiff([(o, 3, 1, struct.pack("<H", 6))], count=40),
        "swapped-magic": b"II\0*" + tiff([(o, 3, 1, struct.pack("<H", 6))])[4:],
    }
    for name, block in variants.items():
        yield f"jpeg-exif-{name}", with_app1(base, b"Exif\0\0" + block)
    first, second = tiff([(o, 3, 1, struct.pack("<H", 3))]), tiff([(o, 3, 1, struct.pack("<H", 6))])
    yield "jpeg-exif-first-app1-wins", with_app1(base, b"Exif\0\0" + first, b"Exif\0\0" + second)


def png_cases():
    img = photo(67, 45)
    yield "png-rgb", save(img, "PNG")
    yield "png-rgba", save(with_alpha(img), "PNG")
    yield "png-l", save(img.convert("L"), "PNG")
    yield "png-la", save(img.convert("LA"), "PNG")
    yield "png-1", save(img.convert("1"), "PNG")
    palette = img.quantize(colors=37)
    yield "png-p", save(palette, "PNG")
    yield "png-p-transparent-index", save(palette, "PNG", transparency=3)
    yield "png-p-alpha-table", save(palette, "PNG", transparency=bytes(range(0, 256, 7)))
    yield "png-l-trns", save(img.convert("L"), "PNG", transparency=17)
    yield "png-rgb-trns", save(img, "PNG", transparency=(1, 2, 3))
    yield "png-i16", save(Image.fromarray(noise((29, 31), 65536, np.uint16)), "PNG")
    yield "png-i16-low", save(Image.fromarray(noise((29, 31), 400, np.uint16)), "PNG")
    yield "png-rgb-orientation-6", save(img, "PNG", exif=exif_bytes(6))
    yield "png-rgb-optimized", save(img, "PNG", optimize=True)

    h, w = 23, 19
    yield "png-grey-2bit", png_bytes(noise((h, w, 1), 4), 2, 0)
    yield "png-grey-4bit", png_bytes(noise((h, w, 1), 16), 4, 0)
    yield "png-grey-1bit-hand", png_bytes(noise((h, w, 1), 2), 1, 0)
    plte = noise(3 * 16).tobytes()
    yield "png-palette-1bit", png_bytes(noise((h, w, 1), 2), 1, 3, palette=plte[:6])
    yield "png-palette-2bit", png_bytes(noise((h, w, 1), 4), 2, 3, palette=plte[:12])
    yield "png-palette-4bit", png_bytes(noise((h, w, 1), 16), 4, 3, palette=plte)
    yield "png-palette-index-past-plte", png_bytes(noise((h, w, 1), 256), 8, 3, palette=plte[:30])
    yield "png-palette-no-plte", png_bytes(noise((h, w, 1), 256), 8, 3)
    yield "png-rgb16", png_bytes(noise((h, w, 3), 65536), 16, 2)
    yield "png-rgba16", png_bytes(noise((h, w, 4), 65536), 16, 6)
    yield "png-la16", png_bytes(noise((h, w, 2), 65536), 16, 4)
    yield "png-grey16-hand", png_bytes(noise((h, w, 1), 600), 16, 0)
    yield "png-la8-hand", png_bytes(noise((h, w, 2)), 8, 4)
    yield "png-adam7-rgb", png_bytes(noise((h, w, 3)), 8, 2, interlace=True)
    yield "png-adam7-grey-2bit", png_bytes(noise((h, w, 1), 4), 2, 0, interlace=True)
    yield "png-adam7-palette-4bit", png_bytes(noise((h, w, 1), 16), 4, 3, interlace=True, palette=plte)
    yield "png-adam7-rgba16", png_bytes(noise((h, w, 4), 65536), 16, 6, interlace=True)
    yield "png-adam7-tiny", png_bytes(noise((3, 2, 3)), 8, 2, interlace=True)
    yield "png-1x1", png_bytes(noise((1, 1, 3)), 8, 2)
    yield "png-many-idat", png_bytes(noise((h, w, 3)), 8, 2, idat_size=37)
    yield "png-exif-after-idat", png_bytes(noise((h, w, 3)), 8, 2, after=chunk(b"eXIf", tiff_bytes(3)))
    profile = text_chunk("Raw profile type exif", raw_profile(exif_bytes(5)))
    yield "png-raw-profile-exif", png_bytes(noise((h, w, 3)), 8, 2, before=profile)
    xmp = '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description tiff:Orientation="8"/></x:xmpmeta>'
    yield "png-xmp-orientation", png_bytes(noise((h, w, 3)), 8, 2, before=itxt_chunk("XML:com.adobe.xmp", xmp))
    yield "png-exif-wins-over-xmp", png_bytes(
        noise((h, w, 3)), 8, 2, before=chunk(b"eXIf", tiff_bytes(2)) + itxt_chunk("XML:com.adobe.xmp", xmp)
    )
    # Pillow stops reading once it has every row: a missing IEND or junk after the zlib stream does not matter.
    good = png_bytes(noise((h, w, 3)), 8, 2)
    yield "png-no-iend", good[: -len(chunk(b"IEND", b""))]
    raw = b"".join(b"\0" + pack_row(r, 8) for r in noise((h, w, 3)))
    ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    yield "png-zlib-trailing-junk", PNG_SIGNATURE + ihdr + chunk(b"IDAT", zlib.compress(raw) + b"junk") + chunk(b"IEND", b"")


def webp_cases():
    img = photo(91, 67)
    for quality in (30, 80, 100):
        yield f"webp-lossy-q{quality}", save(img, "WEBP", quality=quality)
    yield "webp-lossy-method6", save(img, "WEBP", quality=60, method=6)
    yield "webp-lossless", save(img, "WEBP", lossless=True)
    yield "webp-lossy-alpha", save(with_alpha(img), "WEBP", quality=80)
    yield "webp-lossless-alpha", save(with_alpha(img), "WEBP", lossless=True)
    yield "webp-lossless-alpha-exact", save(with_alpha(img), "WEBP", lossless=True, exact=True)
    yield "webp-1x1", save(Image.fromarray(noise((1, 1, 3)), "RGB"), "WEBP", quality=90)
    yield "webp-odd", save(Image.fromarray(noise((13, 7, 3)), "RGB"), "WEBP", quality=90)
    portrait = photo(37, 23)
    yield "webp-orientation-8", save(portrait, "WEBP", quality=90, exif=exif_bytes(8))
    yield "webp-lossless-orientation-5", save(portrait, "WEBP", lossless=True, exif=exif_bytes(5))
    frames = [photo(24, 16), photo(24, 16)]
    yield "webp-animated", save(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100)


def fixture_cases():
    """JPEG variants Pillow cannot write (sampling, restart intervals, RGB, arithmetic): see fixtures/README.md."""
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
    for file in sorted(os.listdir(folder)):
        if file.endswith(".jpg"):
            with open(os.path.join(folder, file), "rb") as f:
                yield f"jpeg-{file[:-4]}", f.read()


def broken_cases(files):
    """Files Pillow refuses: the decoder must refuse them too, with an error rather than a crash or a hang."""
    jpeg = files["jpeg-q75-420"]
    png = files["png-rgb"]
    for name in ("jpeg-q75-420", "jpeg-q75-420-progressive", "jpeg-cmyk", "jpeg-ycc440", "png-rgb", "png-adam7-rgb",
                 "webp-lossy-q80", "webp-lossless-alpha"):
        for percent in (10, 50, 90):
            data = files[name]
            yield f"broken-{name}-cut-at-{percent}-percent", data[: len(data) * percent // 100]
    yield "broken-jpeg-headers-only", jpeg[: jpeg.index(b"\xff\xda")]
    yield "broken-png-bad-ihdr-crc", png[:29] + bytes([png[29] ^ 1]) + png[30:]
    yield "broken-png-no-idat", PNG_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)) + chunk(b"IEND", b"")
    raw = b"".join(bytes([7]) + bytes(12) for _ in range(4))
    yield "broken-png-bad-filter", PNG_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)) + chunk(
        b"IDAT", zlib.compress(raw)
    ) + chunk(b"IEND", b"")
    yield "broken-not-an-image", b"GIF89a" + bytes(64)


def reference(data):
    try:
        with Image.open(io.BytesIO(data)) as im:
            size = list(im.size)
            mode = im.mode
            orientation = im.getexif().get(0x0112)
            rgb = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    except Exception as error:  # Pillow's refusal is the expectation for the broken cases
        return {"error": f"{type(error).__name__}: {error}"}, None
    return {
        "size": size,
        "mode": mode,
        # The orientation exif_transpose acts on: its table is keyed by 1..8, so 6.0 or 12/2 count as 6.
        "orientation": next((k for k in range(1, 9) if orientation == k), None),
        "width": rgb.shape[1],
        "height": rgb.shape[0],
    }, rgb


def main():
    warnings.simplefilter("ignore")  # Pillow's advice on palette transparency, irrelevant here
    out = sys.argv[1]
    extension = {"jpeg": "jpg", "png": "png", "webp": "webp", "broken": "bin"}
    files = {}
    for generate in (jpeg_cases, exif_variant_cases, fixture_cases, png_cases, webp_cases):
        files.update(generate())
    files.update(broken_cases(files))
    manifest = []
    for name, data in files.items():
        file = f"{name}.{extension[name.split('-')[0]]}"
        with open(os.path.join(out, file), "wb") as f:
            f.write(data)
        pillow, rgb = reference(data)
        if rgb is not None:
            pillow["rgb"] = f"{name}.rgb"
            with open(os.path.join(out, pillow["rgb"]), "wb") as f:
                f.write(np.ascontiguousarray(rgb).tobytes())
        manifest.append({"name": name, "file": file, "pillow": pillow})
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
