"""Writes randaugment.safetensors: each op of timm's RandAugment 'rand-m9-mstd0.5-inc1' op set
(_RAND_INCREASING_TRANSFORMS) applied by timm's own functions (timm/data/auto_augment.py, on Pillow) to a small
crop of a real VOC image, at fixed magnitudes, signs and interpolations, for tests/test_transforms_randaugment.cpp.

timm's sign draw (_randomly_negate uses random.random() > 0.5) is forced by replacing the module's `random` with
a stub, so every output is a pure function of the stored parameters. Keys:
  input                    (24, 32, 3) u8
  op{k}.{i}                output u8; op{k}.{i}.params = [op index, magnitude, negate, filter (0 bilinear,
                           1 bicubic), timm's level argument]
  rotate_matrix.{i}        f64 [degrees, W, H, a0..a5] from Image.rotate's own formula

    python3 tests/reference/transforms/gen_randaugment.py   # from the repository root; no randomness
"""
import math
import os

import numpy as np
from PIL import Image
from safetensors.numpy import save_file
import timm.data.auto_augment as aa

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "..", "..", "..", "shared", "data", "real", "voc", "JPEGImages", "2011_000025.jpg")
FILL = (124, 116, 104)  # timm create_transform: round(255 * ImageNet mean)
AFFINE = {"Rotate", "ShearX", "ShearY", "TranslateXRel", "TranslateYRel"}
SIGNED = AFFINE | {"ColorIncreasing", "ContrastIncreasing", "BrightnessIncreasing", "SharpnessIncreasing"}


class Stub:
    def __init__(self, value):
        self.value = value

    def random(self):
        return self.value


def main():
    image = Image.open(SRC).convert("RGB").crop((200, 100, 232, 124))
    out = {"input": np.ascontiguousarray(np.asarray(image, dtype=np.uint8))}
    hparams = dict(aa._HPARAMS_DEFAULT, img_mean=FILL)
    real_random = aa.random
    for k, name in enumerate(aa._RAND_INCREASING_TRANSFORMS):
        i = 0
        for m in ([0.0, 5.5, 9.7] if name not in ("AutoContrast", "Equalize", "Invert") else [9.0]):
            for negate in ([False, True] if name in SIGNED else [False]):
                for filt in ([0, 1] if name in AFFINE else [1]):
                    aa.random = Stub(0.9 if negate else 0.1)
                    level_fn = aa.LEVEL_TO_ARG[name]
                    args = level_fn(m, hparams) if level_fn is not None else ()
                    aa.random = real_random
                    resample = Image.BICUBIC if filt else Image.BILINEAR
                    res = aa.NAME_TO_OP[name](image, *args, fillcolor=FILL, resample=resample)
                    out[f"op{k}.{i}"] = np.ascontiguousarray(np.asarray(res, dtype=np.uint8))
                    out[f"op{k}.{i}.params"] = np.asarray(
                        [k, m, float(negate), filt, float(args[0]) if args else 0.0], dtype=np.float64)
                    i += 1
    # Image.rotate's matrix (copied formula, evaluated by Python) for a few angles and sizes.
    for i, (deg, w, h) in enumerate([(17.3, 32, 24), (-29.1, 32, 24), (5.0, 224, 224), (-0.7, 31, 17)]):
        angle = -math.radians(deg % 360.0)
        mtx = [round(math.cos(angle), 15), round(math.sin(angle), 15), 0.0,
               round(-math.sin(angle), 15), round(math.cos(angle), 15), 0.0]
        cx, cy = w / 2, h / 2
        a, b, c, d, e, f = mtx
        mtx[2], mtx[5] = a * -cx + b * -cy + c, d * -cx + e * -cy + f
        mtx[2] += cx
        mtx[5] += cy
        out[f"rotate_matrix.{i}"] = np.asarray([deg, w, h] + mtx, dtype=np.float64)
    save_file(out, os.path.join(HERE, "randaugment.safetensors"),
              metadata={"generator": "tests/reference/transforms/gen_randaugment.py",
                        "timm": __import__("timm").__version__, "pillow": Image.__version__})
    print(f"wrote {len(out)} tensors")


if __name__ == "__main__":
    main()
