"""gen_attention_maps.py — fixture for models/attention_maps.{h,cpp} (tests/test_attention_maps.cpp).

A plain PyTorch restatement of ../shared/docs/methods.md §2.1 "Localisation map generation" (MCTformer-V2
engine.generate_attention_maps_ms with --attention-type fused --layer-index 3 --patch-attn-refine) and of the
IRNet/CLIMS make_cam high-res recipe (§4.3), written from the spec, on random attention tensors and maps.

Writes attention_maps.safetensors (seed 0):
  input.attn.<l>            (B, heads, T, T) post-softmax attention of block l, l = 0..L-1
  input.cam                 (B, C, gh, gw) the per-class map to fuse (patch CAM / correlation maps), raw (has negatives)
  input.labels              (B, C) 0/1
  layout.mct / layout.mmcst (5,) i64: class_start, num_classes, patch_start, grid_h, grid_w of each token layout
                            (the attention tensors differ per layout: input.attn_mmcst.<l> for the second)
  output.<case>             (B, C, gh, gw) attention_class_maps for the cases listed in CASES
  output.upsampled          (B, C, H, W) upsample_label_maps(output.fused_refine, H, W, labels)
  input.pass.<s>            (2, C, h_s, w_s) maps returned by a network pass at scale index s (image, flipped image)
  output.mct_driver         (C, H, W) MCTformer: to_image upsampling, flip back, x labels, sum, min-max normalize
                            over scale 0 only
  output.irn_driver         (C, H, W) IRNet: strided-up (16) upsampling + crop, flip back, sum over all scales,
                            x labels, / (max + 1e-5)
  input.image_u8 / output.rescaled  PIL bicubic rescale of an 8-bit image at scale 0.5 after ImageNet normalize
Run: python tests/reference/localize/gen_attention_maps.py  (torch, safetensors, Pillow, numpy)
"""
import os

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import save_file

SEED = 0
B, HEADS, L, C, GH, GW = 2, 3, 4, 3, 3, 4
N = GH * GW
IMG_H, IMG_W = 50, 67
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)


def random_attention(gen, T):
    return [torch.softmax(2.0 * torch.randn(B, HEADS, T, T, generator=gen), dim=-1) for _ in range(L)]


def class_maps(attn, class_start, patch_start, cam, k, kind, refine):
    """§2.1 steps 2-5, in float64."""
    a = torch.stack([x.double() for x in attn]).mean(2)  # (L, B, T, T) head average
    m = None
    if kind != "cam":
        m = a[-k:].sum(0)[:, class_start:class_start + C, patch_start:patch_start + N]  # (B, C, N)
    if kind != "attention":
        relu_cam = F.relu(cam.double()).reshape(B, C, N)
        m = relu_cam if m is None else m * relu_cam
    if refine:
        p2p = a[:, :, patch_start:patch_start + N, patch_start:patch_start + N].sum(0)  # (B, N, N)
        m = torch.matmul(p2p.unsqueeze(1), m.reshape(B, C, N, 1)).reshape(B, C, N)
    return m.reshape(B, C, GH, GW).float()


def main():
    gen = torch.Generator().manual_seed(SEED)
    out = {}
    t_mct = C + N
    t_mmcst = 2 * C + N + 1  # [C class | C text | N patches | 1 extra], text and extra ignored
    attn = random_attention(gen, t_mct)
    attn_mmcst = random_attention(gen, t_mmcst)
    cam = torch.randn(B, C, GH, GW, generator=gen)
    labels = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    for l in range(L):
        out[f"input.attn.{l}"] = attn[l]
        out[f"input.attn_mmcst.{l}"] = attn_mmcst[l]
    out["input.cam"] = cam
    out["input.labels"] = labels
    out["layout.mct"] = torch.tensor([0, C, C, GH, GW], dtype=torch.int64)
    out["layout.mmcst"] = torch.tensor([0, C, 2 * C, GH, GW], dtype=torch.int64)

    cases = {  # name: (layout, K, kind, refine)
        "fused_refine": ("mct", 3, "fused", True),
        "fused_norefine": ("mct", 3, "fused", False),
        "attention_refine": ("mct", 3, "attention", True),
        "cam_refine": ("mct", 3, "cam", True),
        "fused_k1": ("mct", 1, "fused", True),
        "mmcst_fused_refine": ("mmcst", 3, "fused", True),
    }
    for name, (layout, k, kind, refine) in cases.items():
        a, ps = (attn, C) if layout == "mct" else (attn_mmcst, 2 * C)
        out["output." + name] = class_maps(a, 0, ps, cam, k, kind, refine)

    up = F.interpolate(out["output.fused_refine"].double(), size=(IMG_H, IMG_W), mode="bilinear",
                       align_corners=False)
    out["output.upsampled"] = (up * labels.double().view(B, C, 1, 1)).float()

    # Driver: per scale s a network pass returns (2, C, h_s, w_s) maps for [image, flipped image].
    pass_sizes = [(4, 5), (2, 3), (6, 9)]
    passes = [F.relu(torch.randn(2, C, h, w, generator=gen)) for h, w in pass_sizes]
    for s, p in enumerate(passes):
        out[f"input.pass.{s}"] = p
    lab = labels[0].double().view(C, 1, 1)
    # MCTformer (scale 1.0 only): interpolate to (H, W), x label, flip the odd pass back, sum, min-max per GT class.
    cams = []
    for i in range(2):
        m = F.interpolate(passes[0][i:i + 1].double(), size=(IMG_H, IMG_W), mode="bilinear", align_corners=False)[0]
        m = m * lab
        if i == 1:
            m = torch.flip(m, dims=[-1])
        cams.append(m)
    total = sum(cams)
    norm = torch.zeros_like(total)
    for c in range(C):
        if labels[0, c] > 0:
            x = total[c]
            norm[c] = (x - x.min()) / (x.max() - x.min() + 1e-8)
    out["output.mct_driver"] = norm.float()
    # IRNet make_cam high_res: relu'd maps, x[0] + x[1].flip(-1) per scale, interpolate to strided-up size (16),
    # sum over scales, crop, keep GT classes, / (max + 1e-5).
    up_h, up_w = 16 * -(-IMG_H // 16), 16 * -(-IMG_W // 16)
    hr = []
    for p in passes:
        o = p[0].double() + torch.flip(p[1].double(), dims=[-1])
        hr.append(F.interpolate(o.unsqueeze(1), (up_h, up_w), mode="bilinear", align_corners=False))
    hr = torch.sum(torch.stack(hr, 0), 0)[:, 0, :IMG_H, :IMG_W]
    hr = hr * lab
    hr = hr / (F.adaptive_max_pool2d(hr, (1, 1)) + 1e-5)
    out["output.irn_driver"] = hr.float()

    # PIL bicubic rescale of a normalized image: the reference resizes the 8-bit image and normalizes after.
    rng = np.random.default_rng(SEED)
    img = rng.integers(0, 256, size=(IMG_H, IMG_W, 3), dtype=np.uint8)
    h, w = int(np.round(IMG_H * 0.5)), int(np.round(IMG_W * 0.5))
    small = np.asarray(Image.fromarray(img).resize((w, h), Image.BICUBIC))
    out["input.image_u8"] = torch.from_numpy(img.copy())
    out["input.image"] = (torch.from_numpy(img.copy()).permute(2, 0, 1).float() / 255.0 - MEAN) / STD
    out["output.rescaled"] = (torch.from_numpy(small.copy()).permute(2, 0, 1).float() / 255.0 - MEAN) / STD

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "attention_maps.safetensors")
    save_file({k: v.contiguous() for k, v in out.items()}, path, metadata={"seed": str(SEED)})
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
