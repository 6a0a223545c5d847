"""gen_mctformer_release.py — fixture for `wsdol infer --weights FILE --method mctformer` (tests/test_mctformer_release.cpp).

A plain PyTorch restatement of MCTformer-V2 as released (xulianuwa/MCTformer @ 9606597): models.py MCTformerV2 on
timm's VisionTransformer (blocks returning their attention, the final norm unused), and engine.py
generate_attention_maps_ms as run.sh calls it (--scales 1.0 with the flipped image, --layer-index 3,
--attention-type fused, --patch-attn-refine) on a FULL-RESOLUTION, NON-SQUARE image (the test loader only applies
ToTensor + Normalize), followed by the per-class min-max of its visualize step. Two documented differences from a
CUDA run of the official code: no fp16 autocast (float64 here, float32 in wsdol), and the maps are those of the
image's labelled classes only (the official multiplies by the label vector, as this does).

Writes, with seed 0, a reduced configuration with random weights (D 128, depth 3, 2 heads = D / 64, patch 16,
mlp hidden 2D, training size 64 -> pos_embed grid 4 x 4, C = 3 classes):
  mctformer_release.pth        torch.save({"model": state_dict}) with the official parameter names (incl. norm.*)
  mctformer_release.safetensors
    input.image_u8             (H, W, 3) u8, H 250, W 333 (the image the test writes as a PNG)
    input.labels               (C,) 0/1 — the image's classes
    output.maps                (C, H, W) f32 min-max normalized maps of the labelled classes (zero elsewhere)
Run: python tests/reference/localize/gen_mctformer_release.py   (torch, safetensors, numpy)
"""
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

SEED = 0
C, D, DEPTH, HEADS, P, IMG, HIDDEN = 3, 128, 3, 2, 16, 64, 256
H, W = 250, 333
LABELS = [1, 0, 1]
MEAN = torch.tensor([0.485, 0.456, 0.406], dtype=torch.float64).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225], dtype=torch.float64).view(3, 1, 1)


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(D, 3 * D)
        self.proj = nn.Linear(D, D)

    def forward(self, x):
        B, N, _ = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, HEADS, D // HEADS).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)) * (D // HEADS) ** -0.5
        attn = attn.softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, N, D)
        return self.proj(x), attn


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(D, HIDDEN)
        self.fc2 = nn.Linear(HIDDEN, D)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1 = nn.LayerNorm(D, eps=1e-6)
        self.attn = Attention()
        self.norm2 = nn.LayerNorm(D, eps=1e-6)
        self.mlp = Mlp()

    def forward(self, x):
        o, weights = self.attn(self.norm1(x))
        x = x + o
        x = x + self.mlp(self.norm2(x))
        return x, weights


class PatchEmbed(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Conv2d(3, D, P, P)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class MCTformerV2(nn.Module):
    """models.py MCTformerV2: C class tokens, one pos_embed for (C + N) tokens, Conv2d(D, C, 3) head; the final
    norm is a parameter of the timm base class that the forward never uses."""

    def __init__(self):
        super().__init__()
        self.patch_embed = PatchEmbed()
        self.cls_token = nn.Parameter(torch.zeros(1, C, D))
        self.pos_embed = nn.Parameter(torch.zeros(1, (IMG // P) ** 2 + C, D))
        self.blocks = nn.ModuleList([Block() for _ in range(DEPTH)])
        self.norm = nn.LayerNorm(D, eps=1e-6)
        self.head = nn.Conv2d(D, C, 3, 1, 1)

    def interpolate_pos_encoding(self, x, w, h):  # w = rows, h = columns (the reference's naming)
        npatch = x.shape[1] - C
        N = self.pos_embed.shape[1] - C
        if npatch == N and w == h:
            return self.pos_embed
        class_pos_embed = self.pos_embed[:, 0:C]
        patch_pos_embed = self.pos_embed[:, C:]
        w0, h0 = w // P + 0.1, h // P + 0.1
        patch_pos_embed = F.interpolate(
            patch_pos_embed.reshape(1, int(math.sqrt(N)), int(math.sqrt(N)), D).permute(0, 3, 1, 2),
            scale_factor=(w0 / math.sqrt(N), h0 / math.sqrt(N)), mode="bicubic")
        assert int(w0) == patch_pos_embed.shape[-2] and int(h0) == patch_pos_embed.shape[-1]
        patch_pos_embed = patch_pos_embed.permute(0, 2, 3, 1).reshape(1, -1, D)
        return torch.cat((class_pos_embed, patch_pos_embed), dim=1)

    def forward(self, x, n_layers=3):
        B, _, w, h = x.shape
        t = self.patch_embed(x)
        t = torch.cat((self.cls_token.expand(B, -1, -1), t), dim=1)
        t = t + self.interpolate_pos_encoding(t, w, h)
        attn_weights = []
        for blk in self.blocks:
            t, a = blk(t)
            attn_weights.append(a)
        x_patch = t[:, C:]
        n, p, c = x_patch.shape
        w0, h0 = w // P, h // P
        x_patch = x_patch.reshape(n, w0, h0, c).permute(0, 3, 1, 2).contiguous()
        x_patch = self.head(x_patch)
        attn = torch.stack(attn_weights).mean(2)  # (L, B, T, T)
        feature_map = F.relu(x_patch.detach().clone())
        n, c, hh, ww = feature_map.shape
        mtatt = attn[-n_layers:].sum(0)[:, 0:C, C:].reshape(n, c, hh, ww)
        cams = mtatt * feature_map  # fused
        patch_attn = attn[:, :, C:, C:]
        return cams, patch_attn


def init(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.copy_(0.02 * torch.randn(p.shape, generator=gen))
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            else:
                fan_in = p[0].numel() if p.dim() > 1 else p.shape[-1]
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(fan_in))


def maps_of(model, image):  # image: (3, H, W) f64 normalized -> (C, H, W)
    cam_list = []
    for s, img in enumerate([image, torch.flip(image, dims=[-1])]):
        x = img.unsqueeze(0)
        wf, hf = (x.shape[2] - x.shape[2] % P) // P, (x.shape[3] - x.shape[3] % P) // P
        cams, patch_attn = model(x, n_layers=3)
        patch_attn = torch.sum(patch_attn, dim=0)
        cams = torch.matmul(patch_attn.unsqueeze(1), cams.view(1, C, -1, 1)).reshape(1, C, wf, hf)
        cams = F.interpolate(cams, size=(H, W), mode="bilinear", align_corners=False)[0]
        cams = cams * torch.tensor(LABELS, dtype=cams.dtype).view(C, 1, 1)
        if s % 2 == 1:
            cams = torch.flip(cams, dims=[-1])
        cam_list.append(cams)
    total = cam_list[0] + cam_list[1]
    out = torch.zeros_like(total)
    for k in range(C):
        if LABELS[k]:
            m = total[k]
            out[k] = (m - m.min()) / (m.max() - m.min() + 1e-8)
    return out


def main():
    gen = torch.Generator().manual_seed(SEED)
    model = MCTformerV2().double()
    init(model, gen)
    with torch.no_grad():  # the weights the file holds are f32: compute with exactly those
        for p in model.parameters():
            p.copy_(p.float().double())
    model.eval()
    # A smooth image with structure (gradients and two blobs), as 8-bit pixels.
    yy, xx = torch.meshgrid(torch.arange(H, dtype=torch.float64), torch.arange(W, dtype=torch.float64), indexing="ij")
    r = 128 + 100 * torch.sin(xx / 23.0) * torch.cos(yy / 31.0)
    g = 60 + 150 * torch.exp(-((xx - 90) ** 2 + (yy - 70) ** 2) / 1800.0)
    b = 40 + 180 * torch.exp(-((xx - 250) ** 2 + (yy - 180) ** 2) / 2500.0)
    image_u8 = torch.stack([r, g, b], dim=-1).round().clamp(0, 255).to(torch.uint8)  # (H, W, 3)
    x = (image_u8.permute(2, 0, 1).double() / 255.0 - MEAN) / STD  # ToTensor + Normalize
    with torch.no_grad():
        maps = maps_of(model, x)
    here = os.path.dirname(os.path.abspath(__file__))
    sd = {k: v.float() for k, v in model.state_dict().items()}
    torch.save({"model": sd}, os.path.join(here, "mctformer_release.pth"))
    save_file({"input.image_u8": image_u8.contiguous(),
               "input.labels": torch.tensor(LABELS, dtype=torch.float32),
               "output.maps": maps.float().contiguous()},
              os.path.join(here, "mctformer_release.safetensors"))
    print("wrote mctformer_release.pth and mctformer_release.safetensors; map range",
          float(maps.min()), float(maps.max()))


if __name__ == "__main__":
    main()
