#!/usr/bin/env python3
"""gen_preprocess.py — reference tensors of each model family's evaluation preprocessing, for
tests/test_preprocess.cpp (engine/data/preprocess.h).

Inputs (written here, next to this script, under images/): PNG files, so that the pixels wsdol decodes are the pixels
Pillow decodes (a JPEG would add the stb vs libjpeg decoder difference, which is not what is tested here):
  real_cub.png     160x120 crop of a CUB photo (../shared/data/real/cub, Black_Footed_Albatross_0025_796057.jpg)
  real_voc.png     120x170 crop of a VOC photo (../shared/data/real/voc, 2011_000003.jpg): tall
  synth_wide.png   401x301 RGB pattern (smooth gradients, sharp edges, fine stripes): downscaled by every preset
  synth_tall.png   61x250 RGB pattern: the short side is upscaled, the long side far longer than the crop
  synth_grey.png   48x40 grey ('L') image: upscaled; CLIP resizes it as 'L' and converts after, timm/torchvision
                   convert to RGB first (the same pixels)
  synth_exact.png  300x224 RGB: the short side already 224 (CLIP: no resize at all)

Pipelines (the reference objects themselves, at input size 224):
  clip       open_clip.transform.image_transform(224, is_train=False, OPENAI mean/std), checked equal to OpenAI's
             clip.py _transform (rebuilt here from torchvision pieces because `import clip` fails on pkg_resources)
  resnet     torchvision ResNet50_Weights.IMAGENET1K_V1.transforms()   (Resize 256 bilinear, crop 224)
  resnet-v2  torchvision ResNet50_Weights.IMAGENET1K_V2.transforms()   (Resize 232 bilinear, crop 224)
  deit       the facebookresearch/deit eval transform (datasets.py build_transform: Resize(int(224 / 0.875),
             bicubic), CenterCrop, ToTensor, Normalize ImageNet), rebuilt from torchvision pieces
  timm-deit  timm.data.create_transform(**resolve_data_config(model=deit_small_patch16_224.fb_in1k))
  vit        timm.data.create_transform(**resolve_data_config(model=vit_base_patch16_224.augreg2_in21k_ft_in1k))
CLIP receives Image.open(path) as is (as clip.py's users do); the others Image.open(path).convert('RGB') (as
timm's and torchvision's dataset loaders do).

Outputs: preprocess_<pipeline>.safetensors, for each image <img>:
  <img>.sample    (3, 32, 32) f32: the reference tensor at rows/columns 3, 10, 17, ... (stride 7), bit for bit
  <img>.row_sums  (3, 224) f64: the sum of every row of every channel of the full reference tensor
  <img>.col_sums  (3, 224) f64: the sum of every column
The sample checks the f32 arithmetic exactly; the sums cover every pixel (one grey level anywhere moves a sum by
>= 1/255/std ~ 0.017; numpy sums in another order than the C++ test, so they agree to ~1e-12, not bit for bit).

Run:  python tests/reference/cli/gen_preprocess.py   (Pillow, numpy, torch, torchvision, timm, open_clip, safetensors)
"""
import os

import numpy as np
import torch
from PIL import Image
from safetensors.numpy import save_file

SEED = 20261121
HERE = os.path.dirname(os.path.abspath(__file__))
IMAGES = os.path.join(HERE, "images")
REAL = os.path.normpath(os.path.join(HERE, "../../../../shared/data/real"))
STRIDE, OFFSET = 7, 3


def write_images():
    os.makedirs(IMAGES, exist_ok=True)
    cub = Image.open(os.path.join(REAL, "cub/images/001.Black_footed_Albatross/Black_Footed_Albatross_0025_796057.jpg"))
    cub.convert("RGB").crop((45, 40, 45 + 160, 40 + 120)).save(os.path.join(IMAGES, "real_cub.png"), optimize=True)
    voc = Image.open(os.path.join(REAL, "voc/JPEGImages/2011_000003.jpg"))
    voc.convert("RGB").crop((190, 100, 190 + 120, 100 + 170)).save(os.path.join(IMAGES, "real_voc.png"), optimize=True)

    rng = np.random.default_rng(SEED)

    def pattern(h, w, channels):
        y, x = np.mgrid[0:h, 0:w].astype(np.float64)
        out = []
        for c in range(channels):
            fx, fy, phase = rng.uniform(0.01, 0.2), rng.uniform(0.01, 0.2), rng.uniform(0, 6.28)
            v = 127.5 + 100 * np.sin(fx * x + phase) * np.cos(fy * y)
            v += 40 * ((x // 9 + y // 13) % 2 == 0)  # sharp edges
            v[:, ::5] += 30 * (c - 1)  # fine stripes
            cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(5, max(6, min(h, w) / 2))
            v[(y - cy) ** 2 + (x - cx) ** 2 < r * r] = rng.uniform(0, 255)
            out.append(np.clip(np.rint(v), 0, 255).astype(np.uint8))
        return np.stack(out, -1) if channels > 1 else out[0]

    Image.fromarray(pattern(301, 401, 3), "RGB").save(os.path.join(IMAGES, "synth_wide.png"), optimize=True)
    Image.fromarray(pattern(250, 61, 3), "RGB").save(os.path.join(IMAGES, "synth_tall.png"), optimize=True)
    Image.fromarray(pattern(40, 48, 1), "L").save(os.path.join(IMAGES, "synth_grey.png"), optimize=True)
    Image.fromarray(pattern(224, 300, 3), "RGB").save(os.path.join(IMAGES, "synth_exact.png"), optimize=True)


def pipelines():
    import open_clip
    import timm
    import torchvision.transforms as T
    from torchvision.models import ResNet50_Weights

    clip_mean, clip_std = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
    imagenet_mean, imagenet_std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    openai_transform = T.Compose([  # clip.py _transform(n_px)
        T.Resize(224, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(224),
        lambda im: im.convert("RGB"), T.ToTensor(), T.Normalize(clip_mean, clip_std)])
    open_clip_transform = open_clip.transform.image_transform(224, is_train=False, mean=clip_mean, std=clip_std)
    deit_repo = T.Compose([T.Resize(int(224 / 0.875), interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(224),
                           T.ToTensor(), T.Normalize(imagenet_mean, imagenet_std)])

    def timm_transform(name):
        model = timm.create_model(name, pretrained=False)
        return timm.data.create_transform(**timm.data.resolve_data_config({}, model=model))

    def clip_both(im):
        a, b = open_clip_transform(im), openai_transform(im)
        assert torch.equal(a, b), "open_clip and OpenAI CLIP preprocessing differ"
        return a

    return {
        "clip": (clip_both, False),
        "resnet": (ResNet50_Weights.IMAGENET1K_V1.transforms(), True),
        "resnet-v2": (ResNet50_Weights.IMAGENET1K_V2.transforms(), True),
        "deit": (deit_repo, True),
        "timm-deit": (timm_transform("deit_small_patch16_224.fb_in1k"), True),
        "vit": (timm_transform("vit_base_patch16_224.augreg2_in21k_ft_in1k"), True),
    }


def main():
    write_images()
    names = sorted(f[:-4] for f in os.listdir(IMAGES) if f.endswith(".png"))
    for pipe, (transform, to_rgb) in pipelines().items():
        out = {}
        for name in names:
            im = Image.open(os.path.join(IMAGES, name + ".png"))
            if to_rgb:
                im = im.convert("RGB")
            t = transform(im)
            assert t.shape == (3, 224, 224) and t.dtype == torch.float32, (pipe, name, t.shape)
            a = t.numpy()
            out[f"{name}.sample"] = np.ascontiguousarray(a[:, OFFSET::STRIDE, OFFSET::STRIDE])
            out[f"{name}.row_sums"] = np.ascontiguousarray(a.astype(np.float64).sum(axis=2))
            out[f"{name}.col_sums"] = np.ascontiguousarray(a.astype(np.float64).sum(axis=1))
        path = os.path.join(HERE, f"preprocess_{pipe}.safetensors")
        save_file(out, path)
        print(f"{os.path.basename(path)}: {os.path.getsize(path):,d} bytes")
    for f in sorted(os.listdir(IMAGES)):
        print(f"images/{f}: {os.path.getsize(os.path.join(IMAGES, f)):,d} bytes")


if __name__ == "__main__":
    torch.manual_seed(SEED)
    main()
