"""gen_toco_step.py — one whole ToCo and one whole DIAL training step on a reduced ViT (tests/test_toco_step.cpp).

Restates rulixiang/ToCo at commit e13514d9: model/model_seg_neg.py (`network`: encoder with the aux-layer
output, GMP classifiers, LargeFOV decoder, CTCHead with weight_norm and its EMA teacher), model/backbone/vit.py
(pos_embed frozen, resized bicubic every forward, LayerNorm eps 1e-6, qkv bias) and the iteration body of
scripts/dist_train_voc_seg_neg.py (multi_scale_cam2, cam_to_roi_mask2, crop_from_roi_neg, the CTC / PTC / seg /
reg losses, the `n_iter <= 2000` switch), with the label and loss restatements of gen_toco_labels.py and
gen_toco_losses.py. DIAL adds GIA / LEA as methods.md §3.8 with this project's INFERRED choices (Linear
projections, M_obj = max over GT classes of the aux CAM at token resolution > 0.5, mask after projection).

Reduced configuration: 32 x 32 crops, patch 8 (4 x 4 tokens), embed 32, depth 4 (aux layer -3 = block 1),
4 heads, 5 classes with background, LargeFOV width 16, CTC head 24 / 8 / 12, 10 crops (8 local crops of 16),
DIAL text width 10 and joint space 12. The step is n_iter = 2001 (every term active). Differences from ToCo's
runtime, for testability (each a documented switch of the C++ code): the dense-energy loss uses the exact Gaussian
filter and weight 1 (ToCo: rloss's lattice, weight 1e-7, which would put the reg gradient under the tolerance);
the teacher head starts different from the student so the EMA update is visible.

toco_step.safetensors / dial_step.safetensors (seed 0):
  param.<name>       the network's state before the step (the teacher included)
  input.images / global_view / local_view (2, 3, 32, 32), input.cls_labels (2, 4), input.box (2, 4),
  input.perm.<b>     the torch.randperm draws of crop_from_roi_neg, input.text_fg (4, 10) / text_bg (1, 10) (DIAL)
  output.<term>      cls, cls_aux, ctc, seg, reg, ptc (+ gia, lea), output.total
  output.cams / cams_aux (2, 4, 32, 32), output.refined (2, 32, 32), output.flags (2, 10)
  teacher.<name>     the teacher head after the step's EMA update
  grad.param.<name>  d total / d parameter for every parameter that requires grad
Run: python tests/reference/toco/gen_toco_step.py (torch, numpy, safetensors).
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_toco_labels as L  # noqa: E402
import gen_toco_losses as LS  # noqa: E402

SEED = 0


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        a = ((q @ k.transpose(-2, -1)) * self.scale).softmax(-1)
        return self.proj((a @ v).transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, dim * 4)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, p, dim):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, p, p)


class ViT(nn.Module):
    def __init__(self, img=32, p=8, dim=32, depth=4, heads=4, aux_layer=-3):
        super().__init__()
        self.p, self.size, self.aux_layer = p, img // p, aux_layer
        self.patch_embed = PatchEmbed(p, dim)
        self.cls_token = nn.Parameter(0.02 * torch.randn(1, 1, dim))
        self.pos_embed = nn.Parameter(0.02 * torch.randn(1, self.size ** 2 + 1, dim))
        self.pos_embed.requires_grad = False
        self.blocks = nn.ModuleList([Block(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        for m in self.modules():
            if isinstance(m, nn.LayerNorm):  # non-trivial norms so their gradients are checked meaningfully
                nn.init.normal_(m.weight, 1.0, 0.1)
                nn.init.normal_(m.bias, 0.0, 0.1)

    def forward_features(self, x):
        b, _, h, w = x.shape
        h, w = h // self.p, w // self.p
        x = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        pp = self.pos_embed[:, 1:].reshape(1, self.size, self.size, -1).permute(0, 3, 1, 2)
        pp = F.interpolate(pp, size=(h, w), mode="bicubic", align_corners=False).reshape(1, -1, h * w).permute(0, 2, 1)
        x = torch.cat((self.cls_token.expand(b, -1, -1), x), 1) + torch.cat((self.pos_embed[:, :1], pp), 1)
        embeds = []
        for blk in self.blocks:
            x = blk(x)
            embeds.append(x)
        x = self.norm(x)
        embeds[-1] = x
        return x[:, 0], x[:, 1:], embeds[self.aux_layer][:, 1:]


class CTCHead(nn.Module):
    def __init__(self, in_dim, out_dim, hidden, bottleneck):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(in_dim, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(),
                                 nn.Linear(hidden, bottleneck))
        for m in self.mlp:
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.constant_(m.bias, 0)
        self.last_layer = nn.utils.weight_norm(nn.Linear(bottleneck, out_dim, bias=False))
        self.last_layer.weight_g.data.fill_(1)
        self.last_layer.weight_g.requires_grad = False

    def forward(self, x):
        return self.last_layer(F.normalize(self.mlp(x), dim=-1, p=2))


class LargeFOV(nn.Module):
    def __init__(self, cin, cout, width=16, d=5):
        super().__init__()
        self.conv6 = nn.Conv2d(cin, width, 3, padding=d, dilation=d, bias=False)
        self.conv7 = nn.Conv2d(width, width, 3, padding=d, dilation=d, bias=False)
        self.conv8 = nn.Conv2d(width, cout, 1, bias=False)

    def forward(self, x):
        return self.conv8(F.relu(self.conv7(F.relu(self.conv6(x)))))


class Network(nn.Module):
    def __init__(self, num_classes=5, dim=32, momentum=0.9, dial=False, text_dim=10, joint=12):
        super().__init__()
        self.num_classes, self.momentum = num_classes, momentum
        self.encoder = ViT(dim=dim)
        self.proj_head = CTCHead(dim, 12, 24, 8)
        self.proj_head_t = CTCHead(dim, 12, 24, 8)
        for p, pt in zip(self.proj_head.parameters(), self.proj_head_t.parameters()):
            pt.data.copy_(p.data)
            pt.requires_grad = False
        self.decoder = LargeFOV(dim, num_classes)
        self.classifier = nn.Conv2d(dim, num_classes - 1, 1, bias=False)
        self.aux_classifier = nn.Conv2d(dim, num_classes - 1, 1, bias=False)
        if dial:
            self.proj_visual = nn.Linear(dim, joint)
            self.proj_text = nn.Linear(text_dim, joint)

    def to_2d(self, x, h, w):
        return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], h, w)

    def forward_proj(self, crops):
        with torch.no_grad():
            for p, pt in zip(self.proj_head.parameters(), self.proj_head_t.parameters()):
                pt.data = self.momentum * pt.data + (1.0 - self.momentum) * p.data
        glob = torch.cat(crops[:2], 0)
        t = self.proj_head_t(self.encoder.forward_features(glob)[0].detach())
        s = torch.cat((self.encoder.forward_features(glob)[0], self.encoder.forward_features(torch.cat(crops[2:], 0))[0]), 0)
        return t, self.proj_head(s)

    def forward(self, x, cam_only=False, crops=None):
        cls_tok, xx, xa = self.encoder.forward_features(x)
        t = s = None
        if crops is not None:
            t, s = self.forward_proj(crops)
        h, w = x.shape[-2] // 8, x.shape[-1] // 8
        x4, xa = self.to_2d(xx, h, w), self.to_2d(xa, h, w)
        seg = self.decoder(x4)
        if cam_only:
            return F.conv2d(xa, self.aux_classifier.weight).detach(), F.conv2d(x4, self.classifier.weight).detach()
        c = self.num_classes - 1
        cls_aux = self.aux_classifier(F.adaptive_max_pool2d(xa, (1, 1))).view(-1, c)
        cls_x4 = self.classifier(F.adaptive_max_pool2d(x4, (1, 1))).view(-1, c)
        return cls_x4, seg, x4, cls_aux, t, s, cls_tok


def multi_scale_cam(model, x, scales):
    b, _, h, w = x.shape
    with torch.no_grad():
        cams, auxs = [], []
        for s in [1.0] + [s for s in scales if s != 1.0]:
            xs = x if s == 1.0 else F.interpolate(x, size=(int(s * h), int(s * w)), mode="bilinear", align_corners=False)
            a, c = model(torch.cat([xs, xs.flip(-1)], 0), cam_only=True)
            cams.append(c)
            auxs.append(a)
        return L.merge_scales(cams, h, w), L.merge_scales(auxs, h, w)


def step(model, inp, n_iter, dial, gen):
    x, y, box = inp["images"], inp["cls_labels"], inp["box"]
    cams, cams_aux = multi_scale_cam(model, x, (1.0, 0.5, 1.5))
    roi = L.roi_mask(cams_aux, y)
    perms = []
    m = 16 // 2
    for i in range(x.shape[0]):
        n = int((roi[i, m:32 - m, m:32 - m] <= 1).sum())
        n = n if n >= 8 else (32 - 2 * m) ** 2
        perms.append(torch.randperm(n, generator=gen))
    local, flags = L.crop_from_roi(inp["local_view"], roi, 8, 16, perms)
    cls, segs, fmap, cls_aux, out_t, out_s, cls_tok = model(x, crops=[x, inp["global_view"]] + local)
    terms = {"cls": F.multilabel_soft_margin_loss(cls, y), "cls_aux": F.multilabel_soft_margin_loss(cls_aux, y),
             "ctc": LS.ctc(out_s, out_t, flags, 10, 0.5)}
    valid, _ = L.cam_to_label(cams.clone(), y, img_box=box, ignore_mid=True)
    refined = L.refine_v2(L.Par(), L.denorm01(x), valid, y, box)
    segs_up = F.interpolate(segs, size=refined.shape[1:], mode="bilinear", align_corners=False)
    terms["seg"] = LS.seg(segs_up, refined)
    terms["reg"] = LS.energy(x, segs_up, refined, box, weight=1.0).reshape(())
    small = F.interpolate(cams_aux, size=fmap.shape[2:], mode="bilinear", align_corners=False)
    _, plab = L.cam_to_label(small.clone(), y, img_box=box, ignore_mid=True)
    terms["ptc"] = LS.ptc(fmap, L.aff_mask(plab))
    total = terms["cls"] + terms["cls_aux"] + 0.2 * terms["ptc"] + 0.5 * terms["ctc"]
    total = total + (0.0 if n_iter <= 2000 else 0.1 * terms["seg"] + 0.05 * terms["reg"])
    if dial:
        tf, tb = model.proj_text(inp["text_fg"]), model.proj_text(inp["text_bg"])
        terms["gia"] = LS.gia(model.proj_visual(cls_tok), tf, tb, y)
        obj = ((small * y[:, :, None, None]).max(1)[0] > 0.5).float().reshape(x.shape[0], -1)
        terms["lea"] = LS.lea(model.proj_visual(fmap.flatten(2).transpose(1, 2)), obj, tf, tb, y)
        total = total + 1.0 * terms["gia"] + 1.0 * terms["lea"]
    return terms, total, cams, cams_aux, refined, flags, perms


def make(dial, path):
    torch.manual_seed(SEED)
    model = Network(dial=dial)
    with torch.no_grad():  # a teacher different from the student, so that the EMA update shows
        for pt in model.proj_head_t.parameters():
            pt.add_(0.01 * torch.randn_like(pt))
    state = {"param." + k: v.detach().clone() for k, v in model.state_dict().items()}
    base = F.interpolate(torch.rand(2, 3, 4, 4), size=(32, 32), mode="bilinear", align_corners=False) * 255
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    inp = {"images": (base - mean) / std, "global_view": torch.randn(2, 3, 32, 32), "local_view": torch.randn(2, 3, 32, 32),
           "cls_labels": torch.tensor([[1.0, 0, 1, 0], [0, 0, 0, 1]]),
           "box": torch.tensor([[0, 32, 0, 26], [4, 30, 0, 32]])}
    if dial:
        inp["text_fg"], inp["text_bg"] = torch.randn(4, 10), torch.randn(1, 10)
    gen = torch.Generator().manual_seed(SEED + 1)
    terms, total, cams, cams_aux, refined, flags, perms = step(model, inp, 2001, dial, gen)
    total.backward()
    t = dict(state)
    for k, v in inp.items():
        t["input." + k] = v
    for i, p in enumerate(perms):
        t[f"input.perm.{i}"] = p
    for k, v in terms.items():
        t["output." + k] = v.detach().reshape(())
    t["output.total"] = total.detach().reshape(())
    t["output.cams"], t["output.cams_aux"], t["output.refined"], t["output.flags"] = cams, cams_aux, refined, flags
    for k, v in model.proj_head_t.state_dict().items():
        t["teacher." + k] = v.detach().clone()
    for k, p in model.named_parameters():
        if p.requires_grad:
            t["grad.param." + k] = (p.grad if p.grad is not None else torch.zeros_like(p)).detach().clone()
    save_file({k: v.contiguous().clone() for k, v in t.items()}, os.path.join(HERE, path),
              metadata={"seed": str(SEED), "source": "rulixiang/ToCo e13514d9; DIAL §3.8", "n_iter": "2001"})
    print(path, {k: round(float(v), 5) for k, v in terms.items()}, "flags", flags.tolist(),
          "refined", torch.unique(refined).tolist())


if __name__ == "__main__":
    make(False, "toco_step.safetensors")
    make(True, "dial_step.safetensors")
