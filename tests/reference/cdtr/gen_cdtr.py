"""gen_cdtr.py — parity fixtures for CDTR and TS-CAM (models/cdtr.h, models/cdtr_losses.h, models/tscam.h;
tests/test_cdtr.cpp): one whole training step each, on a reduced DeiT, f32, CPU.

A plain PyTorch restatement of the official code, read at zhiweichen0012/CDTR @ 86ff62ff (models.py CDTR_cub
forward(return_train_cam=True) and get_loss, att_CNN.py, sba_util.py with mmcv DeformConv2d = torchvision
deform_conv2d without bias, clip_util.py clip_forward / ClipLoss, engine.train_one_epoch_our) and at
vasgaowei/TS-CAM @ 25aece44 (lib/models/deit.py TSCAM forward, train: CE on the logits). The timm DeiT and the
OpenAI CLIP vision tower are restated too (timm / openai-clip parameter names).
Not reproduced (recorded decisions): fp16 autocast and the loss scaler (f32 here), drop-path (rate 0 here).
Evaluation (eval mode, the initial weights, opencv-python-headless 5.1.0): CDTR evaluate_our (top-1 class's fused
map, resize_cam, get_bboxes at 0.2; eval.box_hi at 0.6) -> eval.logits, eval.maps (B, C, g, g), eval.box (B, 4); TS-CAM
evaluate_cls_loc (GT class's cams, its resize_cam, get_bboxes at 0.1; 0.6) -> eval.maps, eval.box, eval.box_hi.

cdtr_step.safetensors (seed 0): reduced DeiT (image 32, patch 8 -> 4x4 grid, D 32, depth 5, 2 heads, LN eps 1e-6),
C = 3 classes, CSM c_base 2, OCM K = depth - 3 = 2, SKI on, B = 3, alpha = 2.4, area p = 0.25, broadcast MSE;
CLIP vision tower (image 32, patch 8, width 16, 1 layer, 2 heads, output 8), frozen, eval.
  param.<name>            the CDTR state_dict before the step (BN buffers included); clip.<name> the CLIP tower's
  input.images (B, 3, 32, 32), input.labels (B) i64, input.text_features (B, 8) (the frozen text tower's prompt
                          features per batch position, given)
  output.<name>           logits, csm_logits, ski_logits, m_ca, m_ocm, x_out, x_csm, object_map, offset, and the
                          losses loss_x, loss_att, loss_area, map_loss, loss_dnc, loss_clip, awl, total
  grad.param.<name>       d total / d parameter (every CDTR parameter; CLIP is frozen)
  grad.input.images       d total / d images
  after.<name>            BN running statistics after the training-mode forward
tscam_step.safetensors (seed 1): the same reduced DeiT with TS-CAM's head, C = 3, B = 3: output.logits, x_out,
  cams (the eval-time semantic-aware maps, computed from the same forward), loss; grad.param.*, grad.input.images.

Run from the repository root: python tests/reference/cdtr/gen_cdtr.py   (torch 2.15, torchvision 0.29.2)
"""
import copy
import os
import sys

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file
from torchvision.ops import deform_conv2d

OUT_DIR = os.path.dirname(os.path.abspath(__file__))
IMAGE, PATCH, D, DEPTH, HEADS, C, B = 32, 8, 32, 5, 2, 3, 3
CLIP_W, CLIP_OUT = 16, 8


# ---- timm DeiT (VisionTransformer with blocks returning their attention, as CDTR's vision_transformer.py) ----
class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        Bn, N, Cd = x.shape
        qkv = self.qkv(x).reshape(Bn, N, 3, self.heads, Cd // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(Bn, N, Cd)), attn


class Mlp(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim)

    def forward(self, x):
        y, w = self.attn(self.norm1(x))
        x = x + y
        return x + self.mlp(self.norm2(x)), w


class PatchEmbed(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Conv2d(3, D, PATCH, PATCH)


class DeiT(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch_embed = PatchEmbed()
        g = IMAGE // PATCH
        self.cls_token = nn.Parameter(torch.randn(1, 1, D) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, 1 + g * g, D) * 0.02)
        self.blocks = nn.ModuleList([Block(D, HEADS) for _ in range(DEPTH)])
        self.norm = nn.LayerNorm(D, eps=1e-6)

    def forward_features(self, x):
        Bn = x.shape[0]
        x = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        x = torch.cat((self.cls_token.expand(Bn, -1, -1), x), dim=1) + self.pos_embed
        ws = []
        for blk in self.blocks:
            x, w = blk(x)
            ws.append(w)
        x = self.norm(x)
        return x[:, 0], x[:, 1:], ws


def patch_map(x_patch):
    n, p, c = x_patch.shape
    s = int(p ** 0.5)
    return x_patch.reshape(n, s, s, c).permute(0, 3, 1, 2).contiguous()


# ---- CDTR (models.py CDTR_cub, att_CNN.py, sba_util.py) ----
BN_MOMEMTUM = 0.01


class NEWConv(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.UConv = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out, momentum=BN_MOMEMTUM),
            nn.LeakyReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out, momentum=BN_MOMEMTUM),
            nn.LeakyReLU(inplace=True))

    def forward(self, x):
        return self.UConv(x)


class Up(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv = NEWConv(c_in, c_out)

    def forward(self, x1, x2):
        x1 = F.interpolate(x1, scale_factor=2, mode="bilinear", align_corners=False)
        return self.conv(torch.cat([x2, x1], dim=1))


class Cnn(nn.Module):
    def __init__(self, c_in, n_classes, c_base):
        super().__init__()
        self.down_1 = nn.Sequential(nn.MaxPool2d(2), NEWConv(c_in, c_base * 2))
        self.up_1 = Up(c_base * 2 + c_in, n_classes)

    def forward(self, x1):
        return self.up_1(self.down_1(x1), x1)


class DeformConv(nn.Module):  # mmcv v1 DeformConv2d(C, C, 3, padding=1): no bias
    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(c, c, 3, 3))
        nn.init.kaiming_uniform_(self.weight, nonlinearity="relu")

    def forward(self, x, offset):
        return deform_conv2d(x, offset, self.weight, None, padding=(1, 1))


class SbaModule(nn.Module):  # sba_util.sba_module (SKI)
    def __init__(self, c):
        super().__init__()
        self.conv_offset = nn.Conv2d(c, 18, 3, padding=1)
        self.conv_offset.weight = nn.Parameter(torch.zeros(18, c, 3, 3))
        self.deform_conv = DeformConv(c)

    def forward(self, x, m_out_feat, m_ca):
        offset = self.conv_offset(m_out_feat * m_ca)
        self.last_offset = offset
        return F.adaptive_avg_pool2d(self.deform_conv(x, offset), 1).squeeze(3).squeeze(2)


class AutomaticWeightedLoss(nn.Module):
    def __init__(self, num):
        super().__init__()
        self.params = nn.Parameter(torch.ones(num))

    def forward(self, *x):
        s = 0
        for i, loss in enumerate(x):
            s += 0.5 / (self.params[i] ** 2) * loss + torch.log(1 + self.params[i] ** 2)
        return s


class CDTR(DeiT):
    def __init__(self):
        super().__init__()
        self.head = nn.Conv2d(D, C, 3, 1, 1)
        self.att_layer = Cnn(DEPTH * HEADS, C, c_base=2)
        self.att_cls = nn.Conv2d(C, C, 1, bias=False)
        self.dnc_att_layer = SbaModule(C)
        self.AutomaticWeightedLoss = AutomaticWeightedLoss(5)
        self.K = DEPTH - 3
        for k in range(self.K):
            setattr(self, f"block{k}", nn.Sequential(nn.Conv2d(HEADS, 1, 1, bias=False), nn.BatchNorm2d(1),
                                                     nn.LeakyReLU(inplace=True)))
        self.block_catconv = nn.Conv2d(self.K, 1, 3, padding=1, bias=False)
        self.block_catbn = nn.BatchNorm2d(1)

    def forward(self, x, label):
        _, x_patch, ws = self.forward_features(x)
        g = IMAGE // PATCH
        stack = torch.stack(ws)                                            # (L, B, H, T, T)
        self.attn_map = stack.mean(0).sum(1)[:, 0, 1:].reshape(-1, g, g)   # m_ca (B, g, g)
        x_out = self.head(patch_map(x_patch))
        x_logits = F.adaptive_avg_pool2d(x_out, 1).squeeze(3).squeeze(2)
        cls_rows = stack[..., 0, 1:]                                       # (L, B, H, N)
        merged = cls_rows.permute(1, 0, 2, 3).reshape(x.shape[0], DEPTH * HEADS, g, g)  # channel = H l + h
        attn_out2 = self.att_cls(self.att_layer(merged))
        attn_logits = F.adaptive_avg_pool2d(attn_out2, 1).squeeze(3).squeeze(2)
        per_block = cls_rows.reshape(DEPTH, x.shape[0], HEADS, g, g)
        blocks = [getattr(self, f"block{k}")(per_block[k]) for k in range(self.K)]
        self.pre_map = torch.sigmoid(self.block_catbn(self.block_catconv(torch.cat(blocks, 1))))
        cams_at = stack.mean(0).sum(1)[:, 0, 1:].reshape(-1, g, g).unsqueeze(1)
        cams = cams_at * (x_out.detach().clone() + attn_out2.detach().clone())
        cams = cams[torch.arange(label.shape[0]), label.long(), ...].unsqueeze(1)
        self.dnc_logits = self.dnc_att_layer(x=attn_out2, m_out_feat=x_out, m_ca=cams_at)
        self.x_out, self.x_csm = x_out, attn_out2
        return x_logits, attn_logits, cams

    def get_loss(self, x_logits, attn_logits, targets):
        loss_x = F.cross_entropy(x_logits, targets)
        loss_att = F.cross_entropy(attn_logits, targets)
        loss_dnc = F.cross_entropy(self.dnc_logits, targets)
        label = self.attn_map
        flat = self.attn_map.flatten(1)
        v, _ = flat.sort()
        thr = v[:, int(flat.shape[1] * 0.25)].view(flat.shape[0], 1, 1)
        kept = torch.where(self.attn_map > torch.ones_like(self.attn_map) * thr, torch.zeros_like(self.attn_map),
                           self.attn_map)
        loss_area = kept.sum() / float(flat.shape[1])  # the code's 196.0 = N for a 14 x 14 grid
        map_loss = F.mse_loss(self.pre_map, label)     # (B, 1, g, g) vs (B, g, g): broadcast to (B, B, g, g)
        awl = self.AutomaticWeightedLoss(loss_x, loss_att, loss_area, map_loss, loss_dnc)
        return awl, dict(loss_x=loss_x, loss_att=loss_att, loss_area=loss_area, map_loss=map_loss, loss_dnc=loss_dnc)


# ---- OpenAI CLIP VisionTransformer (clip/model.py), fp32 ----
class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResBlock(nn.Module):
    def __init__(self, w, heads):
        super().__init__()
        self.attn = nn.MultiheadAttention(w, heads)
        self.ln_1 = nn.LayerNorm(w)
        self.mlp = nn.Sequential()
        self.mlp.add_module("c_fc", nn.Linear(w, 4 * w))
        self.mlp.add_module("gelu", QuickGELU())
        self.mlp.add_module("c_proj", nn.Linear(4 * w, w))
        self.ln_2 = nn.LayerNorm(w)

    def forward(self, x):
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, w, layers, heads):
        super().__init__()
        self.resblocks = nn.Sequential(*[ResBlock(w, heads) for _ in range(layers)])


class ClipVisual(nn.Module):
    def __init__(self, image, patch, w, layers, heads, out):
        super().__init__()
        s = w ** -0.5
        self.conv1 = nn.Conv2d(3, w, patch, patch, bias=False)
        self.class_embedding = nn.Parameter(s * torch.randn(w))
        self.positional_embedding = nn.Parameter(s * torch.randn((image // patch) ** 2 + 1, w))
        self.ln_pre = nn.LayerNorm(w)
        self.transformer = Transformer(w, layers, heads)
        self.ln_post = nn.LayerNorm(w)
        self.proj = nn.Parameter(s * torch.randn(w, out))

    def forward(self, x):
        x = self.conv1(x).flatten(2).permute(0, 2, 1)
        cls = self.class_embedding + torch.zeros(x.shape[0], 1, x.shape[-1])
        x = torch.cat([cls, x], dim=1) + self.positional_embedding
        x = self.ln_pre(x).permute(1, 0, 2)
        x = self.transformer.resblocks(x).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj


def perturb(model, gen):
    """Random LayerNorm/BatchNorm affine values and BN statistics, so none of them is the identity."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.LayerNorm, nn.BatchNorm2d)):
                m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=gen))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=gen))
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=gen))
                m.running_var.copy_(1 + 0.2 * torch.rand(m.running_var.shape, generator=gen))


def clip_sim(clip, images, text_features):  # clip_util.clip_forward
    f = clip(images)
    f = f / f.norm(dim=-1, keepdim=True)
    t = text_features / text_features.norm(dim=-1, keepdim=True)
    return torch.matmul(f.reshape(f.shape[0], 1, -1), t.reshape(t.shape[0], -1, 1))  # (B, 1, 1)


def clip_loss(x_fg, x_bg):  # clip_util.ClipLoss
    x_fg = x_fg.clamp(0.0001, 0.9999)
    x_bg = x_bg.clamp(0.0001, 0.9999)
    return -torch.log(x_fg / (x_fg + x_bg)).mean()


def get_bboxes(cam, thr):  # CDTR utils.get_bboxes = TS-CAM lib/cams_deit.get_bboxes
    cam = (cam * 255.0).astype(np.uint8)
    _, t = cv2.threshold(cam, int(thr * np.max(cam)), 255, cv2.THRESH_TOZERO)
    contours, _ = cv2.findContours(t, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
    if len(contours) == 0:
        return [0, 0, 1, 1]
    x, y, w, h = cv2.boundingRect(max(contours, key=cv2.contourArea))
    return [x, y, x + w, y + h]


def cdtr_resize_cam(cam, size):  # CDTR utils.resize_cam: normalize, then resize
    cam = (cam - cam.min()) / (cam.max() - cam.min())
    return cv2.resize(cam, (size, size))


def tscam_resize_cam(cam, size):  # TS-CAM lib/cams_deit.resize_cam: resize, then normalize
    cam = cv2.resize(cam, (size, size))
    return (cam - cam.min()) / (cam.max() - cam.min())


def state(model, prefix=""):
    return {prefix + k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}


def cdtr_step():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    model = CDTR()
    perturb(model, gen)
    with torch.no_grad():  # a non-zero offset conv, so the offsets vary over the map (the code starts at 0)
        model.dnc_att_layer.conv_offset.weight.copy_(0.5 * torch.randn(18, C, 3, 3, generator=gen))
    clip = ClipVisual(IMAGE, PATCH, CLIP_W, 1, 2, CLIP_OUT)
    perturb(clip, gen)
    clip.eval().requires_grad_(False)
    model.train()
    out = {"param." + k: v for k, v in state(model).items()}
    initial = copy.deepcopy(model.state_dict())
    out.update(state(clip, "clip."))
    images = torch.randn(B, 3, IMAGE, IMAGE, generator=gen).requires_grad_()
    labels = torch.tensor([2, 0, 1])
    text = torch.randn(B, CLIP_OUT, generator=gen)
    x_logits, attn_logits, obj = model(images, labels)
    o224 = F.interpolate(obj, (IMAGE, IMAGE), mode="bilinear", align_corners=True)
    fg, bg = o224 * images, (1.0 - o224) * images
    loss_clip = clip_loss(clip_sim(clip, fg, text), clip_sim(clip, bg, text))
    awl, losses = model.get_loss(x_logits, attn_logits, labels)
    total = awl + 2.4 * loss_clip
    total.backward()
    outputs = dict(logits=x_logits, csm_logits=attn_logits, ski_logits=model.dnc_logits, m_ca=model.attn_map,
                   m_ocm=model.pre_map, x_out=model.x_out, x_csm=model.x_csm, object_map=obj,
                   offset=model.dnc_att_layer.last_offset, loss_clip=loss_clip, awl=awl, total=total, **losses)
    for k, v in outputs.items():
        out["output." + k] = v.detach().clone().contiguous()
    out["input.images"] = images.detach().clone()
    out["input.labels"] = labels
    out["input.text_features"] = text
    out["grad.input.images"] = images.grad.clone()
    for k, p in model.named_parameters():
        out["grad.param." + k] = (p.grad if p.grad is not None else torch.zeros_like(p)).clone()
    for k, v in model.state_dict().items():
        if "running" in k:
            out["after." + k] = v.clone()
    # evaluate_our on the initial weights (eval mode): the top-1 class's fused map -> box at 0.2
    ev = CDTR()
    ev.load_state_dict(initial)
    ev.eval()
    with torch.no_grad():
        _, x_patch, ws = ev.forward_features(images.detach())
        g = IMAGE // PATCH
        x_out = ev.head(patch_map(x_patch))
        logits = F.adaptive_avg_pool2d(x_out, 1).squeeze(3).squeeze(2)
        merged = torch.stack(ws)[..., 0, 1:].permute(1, 0, 2, 3).reshape(B, DEPTH * HEADS, g, g)
        attn_out2 = ev.att_cls(ev.att_layer(merged))
        cams = torch.stack(ws).mean(0).sum(1)[:, 0, 1:].reshape(B, g, g).unsqueeze(1) * (x_out + attn_out2)
    top1 = logits.argmax(1)
    out["eval.logits"] = logits.contiguous()
    out["eval.maps"] = cams.contiguous()
    for key, thr in (("eval.box", 0.2), ("eval.box_hi", 0.6)):  # 0.6: boxes smaller than the image
        out[key] = torch.tensor([get_bboxes(cdtr_resize_cam(cams[b, top1[b]].numpy(), IMAGE), thr)
                                 for b in range(B)], dtype=torch.int64)
    save_file(out, os.path.join(OUT_DIR, "cdtr_step.safetensors"), metadata={"seed": "0"})
    print("cdtr: total", float(total), {k: round(float(v), 5) for k, v in losses.items()}, "clip", float(loss_clip))


class TSCAM(DeiT):
    def __init__(self):
        super().__init__()
        self.head = nn.Conv2d(D, C, 3, 1, 1)

    def forward(self, x):
        _, x_patch, ws = self.forward_features(x)
        x_out = self.head(patch_map(x_patch))
        logits = F.adaptive_avg_pool2d(x_out, 1).squeeze(3).squeeze(2)
        a = torch.stack(ws).mean(2)                                        # (L, B, T, T)
        g = x_out.shape[2]
        cams = a.sum(0)[:, 0, 1:].reshape(x.shape[0], g, g).unsqueeze(1) * x_out.detach().clone()
        return logits, x_out, cams


def tscam_step():
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(1)
    model = TSCAM()
    perturb(model, gen)
    model.train()
    out = {"param." + k: v for k, v in state(model).items()}
    images = torch.randn(B, 3, IMAGE, IMAGE, generator=gen).requires_grad_()
    labels = torch.tensor([1, 2, 1])
    # evaluate_cls_loc (eval mode, initial weights): the GT class's cams -> box at 0.1
    model.eval()
    with torch.no_grad():
        _, _, ev_cams = model(images.detach())
    for key, thr in (("eval.box", 0.1), ("eval.box_hi", 0.6)):  # 0.6: boxes smaller than the image
        out[key] = torch.tensor([get_bboxes(tscam_resize_cam(ev_cams[b, labels[b]].numpy(), IMAGE), thr)
                                 for b in range(B)], dtype=torch.int64)
    out["eval.maps"] = ev_cams.contiguous()
    model.train()
    logits, x_out, cams = model(images)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    for k, v in dict(logits=logits, x_out=x_out, cams=cams, loss=loss).items():
        out["output." + k] = v.detach().clone().contiguous()
    out["input.images"] = images.detach().clone()
    out["input.labels"] = labels
    out["grad.input.images"] = images.grad.clone()
    for k, p in model.named_parameters():
        out["grad.param." + k] = p.grad.clone()
    save_file(out, os.path.join(OUT_DIR, "tscam_step.safetensors"), metadata={"seed": "1"})
    print("tscam: loss", float(loss))


if __name__ == "__main__":
    cdtr_step()
    tscam_step()
