"""Writes transforms.safetensors: small crops of real VOC images (decoded by Pillow, stored as inputs so JPEG
decoders do not matter) and what Pillow / torchvision make of them, for tests/test_transforms*.cpp.

Every random transform is stored with the parameters that were sampled (torch/Python RNG here), under
"<key>.params" (f64), so the C++ test replays the same parameters with its own functions: it never needs the
reference's random numbers. Keys:
  case{k}.input                      (H, W, 3) u8
  case{k}.<op>.<i>                   output, u8 (H', W', C)
  case{k}.<op>.<i>.params            f64 vector (op-specific, see the comments below)

    python3 tests/reference/transforms/gen_transforms.py   # from the repository root; seed 1234
"""
import os
import random

import numpy as np
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as F
from PIL import Image, ImageEnhance, ImageFilter, ImageOps
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "..", "..", "shared", "data", "real", "voc", "JPEGImages")
SEED = 1234

# (file, crop box (x0, y0, x1, y1)): 48x36 and 40x30 crops for photometric ops, one 120x90 crop for geometry
# (small, to keep the fixture well under 1 MB).
CASES = [("2011_000003.jpg", (150, 120, 198, 156)),
         ("2011_000025.jpg", (40, 60, 80, 90)),
         ("2011_000006.jpg", (100, 50, 220, 140))]


def u8(img):
    a = np.asarray(img, dtype=np.uint8)
    if a.ndim == 2:
        a = a[:, :, None]
    return np.ascontiguousarray(a)


def main():
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    out = {}

    def put(key, img, params):
        out[key] = u8(img)
        out[key + ".params"] = np.asarray(params, dtype=np.float64).reshape(-1)

    for k, (name, box) in enumerate(CASES):
        image = Image.open(os.path.join(SHARED, name)).convert("RGB").crop(box)
        out[f"case{k}.input"] = u8(image)
        c = f"case{k}"
        if k < 2:
            # params: [out_channels]
            put(f"{c}.gray.0", image.convert("L"), [1])
            put(f"{c}.gray.1", F.rgb_to_grayscale(image, num_output_channels=3), [3])
            for i, t in enumerate([128, 64]):
                put(f"{c}.solarize.{i}", ImageOps.solarize(image, t), [t])
            for i, b in enumerate([4, 2]):
                put(f"{c}.posterize.{i}", ImageOps.posterize(image, b), [b])
            put(f"{c}.invert.0", ImageOps.invert(image), [])
            put(f"{c}.equalize.0", ImageOps.equalize(image), [])
            put(f"{c}.autocontrast.0", ImageOps.autocontrast(image), [])
            for i, f in enumerate([0.0, 0.63, 1.37, 2.5]):
                put(f"{c}.brightness.{i}", ImageEnhance.Brightness(image).enhance(f), [f])
                put(f"{c}.contrast.{i}", ImageEnhance.Contrast(image).enhance(f), [f])
                put(f"{c}.saturation.{i}", ImageEnhance.Color(image).enhance(f), [f])
                put(f"{c}.sharpness.{i}", ImageEnhance.Sharpness(image).enhance(f), [f])
            for i, h in enumerate([-0.5, -0.1, 0.033, 0.1, 0.37]):
                put(f"{c}.hue.{i}", F.adjust_hue(image, h), [h])
            for i, r in enumerate([0.1, 0.5, 1.0, 1.37, 2.0, 6.0]):
                put(f"{c}.blur.{i}", image.filter(ImageFilter.GaussianBlur(radius=r)), [r])
            # ColorJitter(0.4, 0.4, 0.2, 0.1) as DINO/ToCo: params = [order0..3, b, c, s, h]
            jitter = T.ColorJitter(0.4, 0.4, 0.2, 0.1)
            for i in range(6):
                fn_idx, b, cc, s, h = T.ColorJitter.get_params(jitter.brightness, jitter.contrast,
                                                               jitter.saturation, jitter.hue)
                img = image
                for fn in fn_idx:
                    fn = int(fn)
                    if fn == 0:
                        img = F.adjust_brightness(img, b)
                    elif fn == 1:
                        img = F.adjust_contrast(img, cc)
                    elif fn == 2:
                        img = F.adjust_saturation(img, s)
                    else:
                        img = F.adjust_hue(img, h)
                put(f"{c}.jitter.{i}", img, [int(x) for x in fn_idx] + [b, cc, s, h])
        else:
            # RandomResizedCrop params from torchvision; params = [top, left, h, w, size, filter(0 bilinear,
            # 1 bicubic)].
            for i in range(4):
                scale = (0.08, 1.0) if i < 2 else (0.4, 1.0)
                top, left, h, w = T.RandomResizedCrop.get_params(image, scale, (3 / 4, 4 / 3))
                filt = i % 2
                interp = T.InterpolationMode.BICUBIC if filt else T.InterpolationMode.BILINEAR
                res = F.resized_crop(image, top, left, h, w, [40, 40], interp)
                put(f"{c}.rrc.{i}", res, [top, left, h, w, 40, filt])
            # ToCo random_scaling + random_crop(crop) on image and a label map (L // 40, values 0..6):
            # params = [ratio, crop, pad_top, pad_left, crop_top, crop_left, box0, box1, box2, box3].
            label = Image.fromarray((np.asarray(image.convert("L")) // 40).astype(np.uint8), "L")
            out[f"{c}.label"] = u8(label)
            for i, (lo, hi, crop) in enumerate([(0.5, 2.0, 72), (0.5, 0.7, 72), (1.2, 2.0, 80)]):
                ratio = random.uniform(lo, hi)
                w, h = image.size
                size = (int(ratio * w), int(ratio * h))
                img = np.asarray(image.resize(size, resample=Image.BILINEAR))
                lab = np.asarray(label.resize(size, resample=Image.NEAREST))
                hh, ww = lab.shape
                H, W = max(crop, hh), max(crop, ww)
                pad_img = np.zeros((H, W, 3), dtype=np.uint8)
                pad_lab = np.full((H, W), 255, dtype=np.uint8)
                H_pad = int(np.random.randint(H - hh + 1))
                W_pad = int(np.random.randint(W - ww + 1))
                pad_img[H_pad:H_pad + hh, W_pad:W_pad + ww] = img
                pad_lab[H_pad:H_pad + hh, W_pad:W_pad + ww] = lab
                H_start = random.randrange(0, H - crop + 1, 1)
                W_start = random.randrange(0, W - crop + 1, 1)
                box = [max(H_pad - H_start, 0), min(crop, hh + H_pad - H_start),
                       max(W_pad - W_start, 0), min(crop, ww + W_pad - W_start)]
                params = [ratio, crop, H_pad, W_pad, H_start, W_start] + box
                put(f"{c}.toco.{i}", pad_img[H_start:H_start + crop, W_start:W_start + crop], params)
                out[f"{c}.toco.{i}.label"] = u8(pad_lab[H_start:H_start + crop, W_start:W_start + crop])
    save_file(out, os.path.join(HERE, "transforms.safetensors"),
              metadata={"generator": "tests/reference/transforms/gen_transforms.py", "seed": str(SEED),
                        "pillow": Image.__version__, "torchvision": __import__("torchvision").__version__})
    print(f"wrote {len(out)} tensors")


if __name__ == "__main__":
    main()
