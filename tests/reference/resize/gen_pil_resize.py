"""Writes pil_resize.safetensors: crops of real images (../shared/data/real) and Pillow's resizes of them.

Pillow decodes the JPEGs (the inputs are stored decoded, so the test does not depend on JPEG decoders) and
resizes with Image.BILINEAR / Image.BICUBIC, no box, no reducing_gap — what torchvision's Resize and CLIP's
preprocessing call. The sizes cover every up/down combination and both sides of Pillow's pass-order switch
(150x99 runs the vertical pass first, 150x100 the horizontal one; see engine/data/pil_resize.cpp). The C++ test (tests/test_pil_resize.cpp) resizes the same inputs and compares every pixel.

    python3 tests/reference/resize/gen_pil_resize.py   # from the repository root; Pillow only, no randomness
"""
import os

import numpy as np
from PIL import Image
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "..", "..", "shared", "data", "real")

# (file under data/real, crop box (x0, y0, x1, y1) or None for the whole image, mode, output sizes (w, h))
CASES = [
    ("voc/JPEGImages/2011_000003.jpg", (100, 80, 260, 200), "RGB", [(64, 48), (150, 113), (230, 97), (200, 37)]),
    ("voc/JPEGImages/2011_000025.jpg", (0, 0, 160, 120), "RGB", [(150, 99), (150, 100), (33, 150), (160, 97)]),
    ("cub/images/009.Brewer_Blackbird/Brewer_Blackbird_0028_2682.jpg", (40, 40, 190, 140), "L",
     [(75, 50), (311, 143), (150, 211)]),
]
FILTERS = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}


def main():
    tensors = {}
    for index, (rel, box, mode, sizes) in enumerate(CASES):
        image = Image.open(os.path.join(SHARED, rel)).convert(mode)
        if box is not None:
            image = image.crop(box)
        src = np.asarray(image, dtype=np.uint8)
        if src.ndim == 2:
            src = src[:, :, None]
        tensors[f"case{index}.input"] = np.ascontiguousarray(src)
        for w, h in sizes:
            for name, flt in FILTERS.items():
                out = np.asarray(image.resize((w, h), flt), dtype=np.uint8)
                if out.ndim == 2:
                    out = out[:, :, None]
                tensors[f"case{index}.{name}.{h}x{w}"] = np.ascontiguousarray(out)
    save_file(tensors, os.path.join(HERE, "pil_resize.safetensors"),
              metadata={"generator": "tests/reference/resize/gen_pil_resize.py",
                        "pillow": Image.__version__})
    print(f"wrote {len(tensors)} tensors")


if __name__ == "__main__":
    main()
