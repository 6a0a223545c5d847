"""Fixtures for tests/test_image_io.cpp: PNG files of every single-channel kind the label reader must decode, and
.npy files written by numpy for the .npy reader/writer.

Run from the repository root:  python3 tests/reference/eval/gen_png_npy_fixtures.py
Writes tests/reference/eval/png/*.png (+ <name>.npy with the expected raw sample plane, uint8 (H, W)) and
tests/reference/eval/npy/*.npy. Deterministic (seed 20240605); numpy 2.x and Pillow 13 were used.

PNG cases:
  pal_d8.png, pal_d4.png, pal_d2.png, pal_d1.png  Pillow palette images (mode "P", bits=8/4/2/1), values < 2^bits
  grey_d8.png                                      Pillow 8-bit grey
  grey_d1.png                                      Pillow 1-bit grey (mode "1"): stored samples 0/1
  pal_adam7_d8.png, pal_adam7_d2.png, grey_adam7_d4.png
      written by this script (Pillow cannot write interlaced PNGs): Adam7 interlacing, every scanline with a
      filter type cycling through 0..4 (None, Sub, Up, Average, Paeth), so the decoder's unfilter paths are all hit.
  pal_filters_d8.png                               non-interlaced, filters cycling 0..4, a 2-entry...256-entry palette
"""
import os
import struct
import zlib

import numpy as np
from PIL import Image

SEED = 20240605
HERE = os.path.dirname(os.path.abspath(__file__))
PNG_DIR = os.path.join(HERE, "png")
NPY_DIR = os.path.join(HERE, "npy")


def voc_palette():
    pal = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal += [r, g, b]
    return pal


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack_row(values, bit_depth):
    if bit_depth == 8:
        return bytes(int(v) for v in values)
    per = 8 // bit_depth
    out = bytearray((len(values) * bit_depth + 7) // 8)
    for k, v in enumerate(values):
        out[k // per] |= int(v) << (8 - bit_depth - (k % per) * bit_depth)
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_rows(rows, start_filter):
    """rows: list of bytes (packed scanlines of one pass). Filter type of row y = (start_filter + y) % 5; bpp = 1."""
    out = bytearray()
    prev = bytes(len(rows[0])) if rows else b""
    for y, row in enumerate(rows):
        f = (start_filter + y) % 5
        out.append(f)
        for i in range(len(row)):
            a = row[i - 1] if i >= 1 else 0
            b = prev[i]
            c = prev[i - 1] if i >= 1 else 0
            pred = [0, a, b, (a + b) >> 1, paeth(a, b, c)][f]
            out.append((row[i] - pred) & 0xFF)
        prev = row
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def write_png_by_hand(path, values, bit_depth, color_type, interlace, palette=None):
    h, w = values.shape
    raw = b""
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    for p, (x0, y0, dx, dy) in enumerate(passes):
        sub = values[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        rows = [pack_row(r, bit_depth) for r in sub]
        raw += filter_rows(rows, p)
    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 1 if interlace else 0))
    if palette is not None:
        png += chunk(b"PLTE", bytes(palette))
    png += chunk(b"tEXt", b"Comment\x00wsdol fixture")  # an ancillary chunk the reader must skip
    png += chunk(b"IDAT", zlib.compress(raw, 9)[:40])
    png += chunk(b"IDAT", zlib.compress(raw, 9)[40:])  # split IDAT: the reader must concatenate
    png += chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def main():
    rng = np.random.default_rng(SEED)
    os.makedirs(PNG_DIR, exist_ok=True)
    os.makedirs(NPY_DIR, exist_ok=True)

    def save_expected(name, arr):
        np.save(os.path.join(PNG_DIR, name + ".npy"), np.ascontiguousarray(arr.astype(np.uint8)))

    pal = voc_palette()
    for bits in (8, 4, 2, 1):
        vals = rng.integers(0, 2 ** bits, size=(13, 17), dtype=np.uint8)
        if bits == 8:
            vals[0, :4] = [0, 255, 20, 21]  # void and boundary values
        im = Image.fromarray(vals, mode="P")
        im.putpalette(pal[: 3 * 2 ** bits])
        name = f"pal_d{bits}"
        im.save(os.path.join(PNG_DIR, name + ".png"), bits=bits, optimize=False)
        save_expected(name, vals)

    grey = rng.integers(0, 256, size=(9, 11), dtype=np.uint8)
    Image.fromarray(grey, mode="L").save(os.path.join(PNG_DIR, "grey_d8.png"))
    save_expected("grey_d8", grey)

    bw = rng.integers(0, 2, size=(10, 21), dtype=np.uint8)
    Image.fromarray(bw.astype(bool)).save(os.path.join(PNG_DIR, "grey_d1.png"))
    save_expected("grey_d1", bw)

    v = rng.integers(0, 256, size=(19, 23), dtype=np.uint8)
    write_png_by_hand(os.path.join(PNG_DIR, "pal_adam7_d8.png"), v, 8, 3, True, pal)
    save_expected("pal_adam7_d8", v)
    v = rng.integers(0, 4, size=(11, 13), dtype=np.uint8)
    write_png_by_hand(os.path.join(PNG_DIR, "pal_adam7_d2.png"), v, 2, 3, True, pal[:12])
    save_expected("pal_adam7_d2", v)
    v = rng.integers(0, 16, size=(3, 5), dtype=np.uint8)  # smaller than an Adam7 tile: some passes are empty
    write_png_by_hand(os.path.join(PNG_DIR, "grey_adam7_d4.png"), v, 4, 0, True)
    save_expected("grey_adam7_d4", v)
    v = rng.integers(0, 256, size=(16, 31), dtype=np.uint8)
    write_png_by_hand(os.path.join(PNG_DIR, "pal_filters_d8.png"), v, 8, 3, False, pal)
    save_expected("pal_filters_d8", v)

    # .npy fixtures
    a = rng.standard_normal((3, 4)).astype(np.float32)
    np.save(os.path.join(NPY_DIR, "f32_3x4.npy"), a)
    np.save(os.path.join(NPY_DIR, "f64_2x3x2.npy"), rng.standard_normal((2, 3, 2)))
    np.save(os.path.join(NPY_DIR, "u8_5.npy"), np.array([0, 1, 127, 128, 255], dtype=np.uint8))
    np.save(os.path.join(NPY_DIR, "i64_2x2.npy"), np.array([[-(2 ** 62), -1], [0, 2 ** 62 + 7]], dtype=np.int64))
    np.save(os.path.join(NPY_DIR, "bool_2x3.npy"), np.array([[True, False, True], [False, False, True]]))
    np.save(os.path.join(NPY_DIR, "f64_scalar.npy"), np.float64(2.5))
    np.save(os.path.join(NPY_DIR, "f32_empty_2x0x3.npy"), np.zeros((2, 0, 3), np.float32))
    np.save(os.path.join(NPY_DIR, "i32_4.npy"), np.array([1, -2, 3, -4], dtype=np.int32))
    np.save(os.path.join(NPY_DIR, "f16_3.npy"), np.array([0.5, -1.0, 65504.0], dtype=np.float16))
    with open(os.path.join(NPY_DIR, "f32_v2_2x2.npy"), "wb") as f:
        np.lib.format.write_array(f, np.array([[1, 2], [3, 4]], np.float32), version=(2, 0))
    np.save(os.path.join(NPY_DIR, "f32_fortran_3x2.npy"), np.asfortranarray(np.arange(6, dtype=np.float32).reshape(3, 2)))
    np.save(os.path.join(NPY_DIR, "f32_bigendian_3.npy"), np.array([1, 2, 3], dtype=">f4"))
    np.save(os.path.join(NPY_DIR, "object.npy"), np.array({"a": 1}, dtype=object), allow_pickle=True)
    np.save(os.path.join(NPY_DIR, "u16_2.npy"), np.array([1, 2], dtype=np.uint16))


if __name__ == "__main__":
    main()
