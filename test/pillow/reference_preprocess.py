"""Reference outputs from Pillow for the edge's image preprocessing tests.

Reads requests from stdin until EOF and answers each on stdout, little-endian:
  request:  u8 op, u32 width, u32 height, then
            op 0 (DeepSeek-VL pipeline): u32 image_size, 3 x f64 image_mean
            op 1 (plain resize):         u32 out_width, u32 out_height
            then width*height*3 bytes of interleaved RGB.
  response: u32 width, u32 height, then the pixels:
            op 0: channel-planar [3, H, W]; op 1: interleaved [H, W, 3].

Op 0 follows deepseek_vl/models/image_processing_vlm.py (VLMImageProcessor.resize), with
torchvision's PIL resize replaced by the Pillow call it makes.
"""

import struct
import sys

import numpy as np
from PIL import Image

MIN_SIZE = 14


def pad_to_square(img, colour):
    """expand2square: centre on the short axis, offset (long - short) // 2."""
    w, h = img.size
    if w == h:
        return img
    side = max(w, h)
    canvas = Image.new(img.mode, (side, side), colour)
    canvas.paste(img, ((side - w) // 2, (side - h) // 2))
    return canvas


def pipeline(img, image_size, image_mean):
    colour = tuple(int(m * 255) for m in image_mean)
    w, h = img.size
    longest = max(w, h)
    new_h = max(int(h / longest * image_size), MIN_SIZE)
    new_w = max(int(w / longest * image_size), MIN_SIZE)
    square = np.asarray(pad_to_square(img.resize((new_w, new_h), Image.BICUBIC), colour))
    return square.shape[1], square.shape[0], square.transpose(2, 0, 1)


def read_exact(stream, n):
    data = stream.read(n)
    if len(data) != n:
        raise EOFError(f"expected {n} bytes, got {len(data)}")
    return data


def main():
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = stdin.read(9)
        if not head:
            break
        op, width, height = struct.unpack("<BII", head)
        if op == 0:
            image_size, *image_mean = struct.unpack("<Iddd", read_exact(stdin, 28))
        else:
            out_width, out_height = struct.unpack("<II", read_exact(stdin, 8))
        pixels = read_exact(stdin, width * height * 3)
        img = Image.frombytes("RGB", (width, height), pixels).convert("RGB")
        if op == 0:
            w, h, out = pipeline(img, image_size, image_mean)
        else:
            out = np.asarray(img.resize((out_width, out_height), Image.BICUBIC))
            w, h = out_width, out_height
        stdout.write(struct.pack("<II", w, h))
        stdout.write(np.ascontiguousarray(out).tobytes())
    stdout.flush()


if __name__ == "__main__":
    main()
