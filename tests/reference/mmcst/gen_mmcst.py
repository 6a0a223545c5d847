"""gen_mmcst.py — PyTorch reference of MMCST and MCTformer-V2 written from ../shared/docs/methods.md §2.1-2.2
(independently of the C++ code), writing the parity fixtures tests/test_mmcst.cpp checks (shared format:
tests/reference/parity/parity_common.py).

Reduced configurations (f32, CPU, seed below):
  mmcst_parity.safetensors        C=3 classes, D=32, 2 blocks, 4 heads, 32x32 input, patch 8 (4x4 grid), CLIP text
                                  width E=16, CLIP image width 12, B=3, GWRP decay 0.9, learnable temperature
  mctformer_v2_parity.safetensors C=3, D=32, 2 blocks, 4 heads, trained grid 4x4 (image_size 32), run on 40x48
                                  inputs (5x6 grid: the positional embedding is resized as MCTformer does), B=2
Outputs: token layout, attention-mask pattern, per-block attention probabilities, class logits, correlation maps,
pooled scores, projected text embedding, every loss term and the total; gradients wrt the images and every
parameter, of the fixture loss (parity_common: a fixed random weighting of all outputs).

Run from the repository root: python tests/reference/mmcst/gen_mmcst.py
"""
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "parity"))
from parity_common import write_parity_fixture  # noqa: E402

SEED = 1234
OUT_DIR = os.path.dirname(os.path.abspath(__file__))


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask):
        B, T, D = x.shape
        qkv = self.qkv(x).reshape(B, T, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        logits = (q * self.scale) @ k.transpose(-2, -1)
        if mask is not None:
            logits = logits + mask
        probs = logits.softmax(dim=-1)
        out = (probs @ v).transpose(1, 2).reshape(B, T, D)
        return self.proj(out), probs


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, 4 * dim)

    def forward(self, x, mask):
        a, probs = self.attn(self.norm1(x), mask)
        x = x + a
        return x + self.mlp(self.norm2(x)), probs


class PatchEmbed(nn.Module):
    def __init__(self, dim, patch):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch, patch)


def gwrp(maps, decay):
    """maps (B, C, N) -> (B, C): sorted descending, weights d^j / sum_j d^j."""
    n = maps.shape[-1]
    w = decay ** torch.arange(n, dtype=torch.float64)
    w = (w / w.sum()).to(maps.dtype)
    ranked, _ = torch.sort(maps, dim=-1, descending=True, stable=True)
    return (ranked * w).sum(-1)


class Net(nn.Module):
    """MMCST (text=True, branch='corr') or MCTformer-V2 (text=False, branch='conv')."""

    def __init__(self, C, D, depth, heads, image_size, patch, text, branch, E=16, E_img=12, decay=0.996):
        super().__init__()
        self.C, self.D, self.patch, self.text, self.branch, self.decay = C, D, patch, text, branch, decay
        self.g0 = image_size // patch
        Ct = C if text else 0
        self.patch_embed = PatchEmbed(D, patch)
        self.cls_token = nn.Parameter(torch.randn(1, C, D) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, C + Ct + self.g0 * self.g0, D) * 0.02)
        self.blocks = nn.ModuleList([Block(D, heads) for _ in range(depth)])
        if text:
            self.register_buffer("text_embed", torch.randn(C, E))
            self.text_proj = nn.Linear(E, D)
        if branch == "corr":
            self.patch_proj = nn.Linear(D, D)
            # non-trivial fusion weights so the test sees them act
            self.lambda_txt = nn.Parameter(torch.tensor([0.8]))
            self.lambda_cls = nn.Parameter(torch.tensor([1.3]))
            self.contrast_proj = nn.Linear(D, E_img)
            self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        if branch == "conv":
            self.head = nn.Conv2d(D, C, 3, padding=1)

    def pos_for(self, gh, gw):
        if gh == self.g0 and gw == self.g0:
            return self.pos_embed
        P = self.pos_embed.shape[1] - self.g0 * self.g0
        patch = self.pos_embed[:, P:].reshape(1, self.g0, self.g0, self.D).permute(0, 3, 1, 2)
        patch = F.interpolate(patch, scale_factor=((gh + 0.1) / self.g0, (gw + 0.1) / self.g0), mode="bicubic")
        assert patch.shape[-2:] == (gh, gw)
        return torch.cat([self.pos_embed[:, :P], patch.permute(0, 2, 3, 1).reshape(1, gh * gw, self.D)], 1)


def forward(model, images, labels, clip_image_embeddings=None):
    m = model
    B, _, H, W = images.shape
    gh, gw = H // m.patch, W // m.patch
    N, C, D = gh * gw, m.C, m.D
    Ct = C if m.text else 0
    T = C + Ct + N
    patches = m.patch_embed.proj(images).flatten(2).transpose(1, 2)
    groups = [m.cls_token.expand(B, -1, -1)]
    if m.text:
        text_in = m.text_proj(m.text_embed)  # (C, D), before the positional embedding
        groups.append(text_in.unsqueeze(0).expand(B, -1, -1))
    groups.append(patches)
    x = torch.cat(groups, 1) + m.pos_for(gh, gw)
    mask = None
    blocked = torch.zeros(T, T)
    if m.text:
        blocked[:C, C:2 * C] = 1
        blocked[C:2 * C, :C] = 1
        mask = torch.zeros(T, T).masked_fill(blocked.bool(), float("-inf"))
    out = {"layout": torch.tensor([C, Ct, gh, gw], dtype=torch.float32), "attn_blocked": blocked}
    for i, blk in enumerate(m.blocks):
        x, probs = blk(x, mask)
        out[f"attn.{i}"] = probs
    cls_out, patch_out = x[:, :C], x[:, C + Ct:]
    out["cls_logits"] = cls_out.mean(-1)
    terms = {"mlsm_cls": F.multilabel_soft_margin_loss(out["cls_logits"], labels)}
    if m.branch == "conv":
        cam = m.head(patch_out.transpose(1, 2).reshape(B, D, gh, gw))
        out["patch_cam"] = cam
        out["patch_logits"] = cam.mean((2, 3))
        terms["mlsm_patch"] = F.multilabel_soft_margin_loss(out["patch_logits"], labels)
    else:
        text_out = x[:, C:2 * C]
        Fp = m.patch_proj(patch_out)
        t_cls = m.cls_token + m.lambda_cls * cls_out
        t_txt = text_in.unsqueeze(0) + m.lambda_txt * text_out
        c2p = (Fp @ t_cls.transpose(1, 2)).transpose(1, 2).reshape(B, C, gh, gw)
        t2p = (Fp @ t_txt.transpose(1, 2)).transpose(1, 2).reshape(B, C, gh, gw)
        out["c2p"], out["t2p"] = c2p, t2p
        out["c2p_logits"] = gwrp(c2p.flatten(2), m.decay)
        out["t2p_logits"] = gwrp(t2p.flatten(2), m.decay)
        emb = m.contrast_proj(text_out.mean(1))
        out["text_embedding"] = emb
        scale = m.logit_scale.clamp(max=math.log(100)).exp()
        sim = scale * F.normalize(emb, dim=1) @ F.normalize(clip_image_embeddings, dim=1).t()
        terms["contrast"] = F.cross_entropy(sim, torch.arange(B))
        terms["mlsm_t2p"] = F.multilabel_soft_margin_loss(out["t2p_logits"], labels)
        terms["mlsm_c2p"] = F.multilabel_soft_margin_loss(out["c2p_logits"], labels)
    total = None
    for name, t in terms.items():
        out["loss." + name] = t
        total = t if total is None else total + t
    out["loss.total"] = total
    return out


def main():
    torch.manual_seed(SEED)
    # ---- MMCST
    net = Net(C=3, D=32, depth=2, heads=4, image_size=32, patch=8, text=True, branch="corr", decay=0.9)
    B = 3
    inputs = {
        "images": torch.randn(B, 3, 32, 32),
        "labels": torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 1.0]]),
        "clip_image_embeddings": torch.randn(B, 12),
    }
    loss_outputs = ["attn.0", "attn.1", "cls_logits", "c2p", "t2p", "c2p_logits", "t2p_logits", "text_embedding",
                    "loss.mlsm_cls", "loss.contrast", "loss.mlsm_t2p", "loss.mlsm_c2p", "loss.total"]
    write_parity_fixture(os.path.join(OUT_DIR, "mmcst_parity.safetensors"), net, inputs, forward, SEED,
                         loss_outputs=loss_outputs,
                         metadata={"config": "C3 D32 depth2 heads4 img32 patch8 E16 Eimg12 decay0.9 learnable_tau"})
    # ---- MCTformer-V2, run on a non-square size other than the training one
    torch.manual_seed(SEED + 1)
    net = Net(C=3, D=32, depth=2, heads=4, image_size=32, patch=8, text=False, branch="conv")
    B = 2
    inputs = {"images": torch.randn(B, 3, 40, 48), "labels": torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])}
    loss_outputs = ["attn.0", "attn.1", "cls_logits", "patch_cam", "patch_logits", "loss.mlsm_cls",
                    "loss.mlsm_patch", "loss.total"]
    write_parity_fixture(os.path.join(OUT_DIR, "mctformer_v2_parity.safetensors"), net, inputs, forward, SEED + 2,
                         loss_outputs=loss_outputs, metadata={"config": "C3 D32 depth2 heads4 img32 patch8, input 40x48"})


if __name__ == "__main__":
    main()
