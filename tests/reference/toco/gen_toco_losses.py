"""gen_toco_losses.py — fixture for models/toco_losses.{h,cpp} (tests/test_toco_losses.cpp).

Restates rulixiang/ToCo at commit e13514d9 model/losses.py (get_masked_ptc_loss, CTCLoss_neg, get_seg_loss,
get_energy_loss + DenseEnergyLoss of meng-tang/rloss 1caa759e) and DIAL's GIA / LEA (methods.md §3.8, PAPER, with
this project's INFERRED choices: clamp [1e-4, 0.9999] in GIA, mask after projection in LEA, batch means).

toco_losses.safetensors (seed 0); for each loss <x>: in.<x>.*, out.<x> (0-dim), grad.<x>.<input>:
  ptc       fmap (2, 8, 4, 4), aff (2, 16, 16) from a label map with ignored pixels
  ctc       student (5 * 3, 16), teacher (2 * 3, 16), flags (3, 5): image 0 mixed, image 1 all local crops
            negative, image 2 all positive; temp 0.5
  seg       logits (2, 5, 6, 7), labels with 0 / classes / 255; seg_nobg: no background pixel (guarded: the empty
            term counts 0, INFERRED); seg_nofg: no foreground pixel
  energy    images (2, 3, 12, 14) normalized, logits (2, 4, 12, 14), labels (255 on some pixels), box (2, 4);
            the bilateral filter is the EXACT Gaussian sum (the C++ test selects EnergyFilter::exact; the lattice
            that approximates it is tested in test_dense_crf); weight 1 (ToCo's 1e-7 is a plain factor and would
            put every gradient under the tolerance floor); the custom rloss backward
  gia       cls (3, 8), text_fg (4, 8), text_bg (1, 8), labels (3, 4)
  lea, lea_masked   patches (2, 9, 8), obj (2, 9), text_fg, text_bg, labels (2, 4); tau 1, lambda 1e-3 (PAPER);
            image 1's mask is all ones (an empty background set for the masked mean)
Run: python tests/reference/toco/gen_toco_losses.py (torch, numpy, safetensors).
"""
import os

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

SEED = 0
HERE = os.path.dirname(os.path.abspath(__file__))


def ptc(fmap, aff):
    b, c, h, w = fmap.shape
    x = F.normalize(fmap.reshape(b, c, h * w), p=2, dim=1, eps=1e-8)
    cos = torch.matmul(x.transpose(1, 2), x).abs()
    pos, neg = aff == 1, aff == 0
    return 0.5 * (1 - (pos * cos).sum() / (pos.sum() + 1)) + 0.5 * (neg * cos).sum() / (neg.sum() + 1)


def ctc(student, teacher, flags, ncrops, temp):
    b = flags.shape[0]
    s = student.reshape(ncrops, b, -1).permute(1, 0, 2)
    t = teacher.reshape(2, b, -1).permute(1, 0, 2)
    logits = torch.exp(torch.matmul(t, s.permute(0, 2, 1)) / temp)
    total = 0
    for i in range(b):
        neg = logits[i, :, flags[i] == 0].sum(dim=1)
        pos_idx = torch.nonzero(flags[i])[:, 0]
        loss = 0
        for j in pos_idx:
            p = logits[i, :, j]
            loss = loss - torch.log(p / (p + neg + 1e-4))
        loss = loss - torch.log(1 / (1 + neg + 1e-4))  # the for-else term
        total = total + loss.sum() / 2 / (pos_idx.shape[0] + 1e-4)
    return total / b


def seg(pred, label, ignore=255):
    # get_seg_loss, with this project's INFERRED guard: an empty pixel set's term counts 0 (PyTorch: NaN).
    bg = label.clone()
    bg[label != 0] = ignore
    fg = label.clone()
    fg[label == 0] = ignore
    total = pred.sum() * 0
    for lab in (bg, fg):
        if (lab != ignore).any():
            total = total + 0.5 * F.cross_entropy(pred, lab, ignore_index=ignore)
    return total


def exact_filter(feat, vals):
    f = feat.double()
    d2 = ((f[:, None, :] - f[None, :, :]) ** 2).sum(-1)
    return (torch.exp(-0.5 * d2) @ vals.double()).float()


class DenseEnergyFn(torch.autograd.Function):
    """rloss DenseEnergyLossFunction with the exact filter in place of the lattice."""

    @staticmethod
    def forward(ctx, images, segs, sigma_rgb, sigma_xy, rois, unlabel):
        n, k, h, w = segs.shape
        gate = rois.clone() - segs.max(dim=1)[0]
        gate[unlabel] = 1
        gate[gate < 0] = 0
        rois_k = rois.unsqueeze(1).repeat(1, k, 1, 1)
        s = segs * rois_k
        out = torch.zeros_like(s)
        ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
        for i in range(n):
            feat = torch.stack([xs.reshape(-1) / sigma_xy, ys.reshape(-1) / sigma_xy] +
                               [images[i, c].reshape(-1) / sigma_rgb for c in range(3)], 1)
            out[i] = exact_filter(feat, s[i].reshape(k, -1).t()).t().reshape(k, h, w)
        AS = out * gate.unsqueeze(1)
        ctx.save_for_backward(AS, rois_k)
        ctx.n = n
        return -(s.double() * AS.double()).sum().float() / n

    @staticmethod
    def backward(ctx, g):
        AS, rois_k = ctx.saved_tensors
        return None, -2 * g * AS / ctx.n * rois_k, None, None, None, None


def energy(img, logit, label, img_box, weight=1e-7, sigma_rgb=15.0, sigma_xy=100.0, scale=0.5,
           mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375)):
    prob = F.softmax(logit, dim=1)
    crop = torch.zeros_like(prob[:, 0])
    for i, (y0, y1, x0, x1) in enumerate(img_box.tolist()):
        crop[i, y0:y1, x0:x1] = 1
    den = torch.zeros_like(img)
    for c in range(3):
        den[:, c] = img[:, c] * std[c] + mean[c]
    simg = F.interpolate(den, scale_factor=scale, recompute_scale_factor=True)
    sseg = F.interpolate(prob, scale_factor=scale, mode="bilinear", align_corners=False, recompute_scale_factor=True)
    sroi = F.interpolate(crop.unsqueeze(1), scale_factor=scale, recompute_scale_factor=True).squeeze(1)
    slab = F.interpolate(label.type(torch.uint8).unsqueeze(1).float(), scale_factor=scale, mode="nearest",
                         recompute_scale_factor=True)
    unlabel = (slab.long() == 255).squeeze(1)
    return weight * DenseEnergyFn.apply(simg, sseg, sigma_rgb, sigma_xy * scale, sroi, unlabel)


def pair_cos(a, b):
    return F.cosine_similarity(a.unsqueeze(-2), b, dim=-1, eps=1e-8)


def gia(cls, tf, tb, y):
    sf = pair_cos(cls, tf).clamp(1e-4, 0.9999)
    sb = pair_cos(cls, tb).clamp(1e-4, 0.9999)
    return (-(y * sf.log()).sum(1) - (1 - sb).log().squeeze(1)).mean()


def lea(p, obj, tf, tb, y, tau=1.0, lam=1e-3, masked_mean=False):
    m = obj.unsqueeze(2)
    vf, vb = p * m, p * (1 - m)
    yy = y.unsqueeze(1)
    spf = (pair_cos(vf, tf) * yy).sum(2)
    snf = pair_cos(vf, tb).squeeze(2)
    spb = pair_cos(vb, tb).squeeze(2)
    snb = (pair_cos(vb, tf) * yy).sum(2)
    lf = -torch.log(torch.exp(spf / tau) / (torch.exp(spf / tau) + torch.exp(snf / tau)))
    lb = -torch.log(torch.exp(spb / tau) / (torch.exp(spb / tau) + torch.exp(snb / tau)))
    if masked_mean:
        f = (lf * obj).sum(1) / obj.sum(1).clamp(min=1)
        b = (lb * (1 - obj)).sum(1) / (1 - obj).sum(1).clamp(min=1)
    else:
        f, b = lf.mean(1), lb.mean(1)
    return (f + lam * b).mean()


def record(t, name, fn, inputs):
    ins = {k: (v.clone().requires_grad_(True) if v.is_floating_point() and k in fn[1] else v) for k, v in inputs.items()}
    out = fn[0](**ins)
    out.backward()
    t["out." + name] = out.detach().reshape(())
    for k, v in ins.items():
        t[f"in.{name}.{k}"] = v.detach()
        if v.requires_grad:
            t[f"grad.{name}.{k}"] = v.grad.detach()


def main():
    torch.manual_seed(SEED)
    t = {}
    lab = torch.randint(0, 3, (2, 4, 4))
    lab[0, 0, :2] = 255
    from_label = lambda l: torch.where(
        (l.reshape(2, -1, 1) == 255) | (l.reshape(2, 1, -1) == 255) | torch.eye(16, dtype=torch.bool),
        torch.tensor(255), (l.reshape(2, -1, 1) == l.reshape(2, 1, -1)).long())
    record(t, "ptc", (ptc, {"fmap"}), {"fmap": torch.randn(2, 8, 4, 4), "aff": from_label(lab)})

    flags = torch.tensor([[1, 1, 0, 1, 0], [1, 1, 0, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.float32)
    record(t, "ctc", (lambda student, teacher, flags: ctc(student, teacher, flags, 5, 0.5), {"student", "teacher"}),
           {"student": 0.3 * torch.randn(15, 16), "teacher": 0.3 * torch.randn(6, 16), "flags": flags})

    labels = torch.randint(0, 5, (2, 6, 7))
    labels[0, 0] = 255
    record(t, "seg", (lambda logits, labels: seg(logits, labels), {"logits"}),
           {"logits": torch.randn(2, 5, 6, 7), "labels": labels})
    nobg = labels.clone()
    nobg[nobg == 0] = 3
    record(t, "seg_nobg", (lambda logits, labels: seg(logits, labels), {"logits"}),
           {"logits": torch.randn(2, 5, 6, 7), "labels": nobg})
    nofg = torch.where(labels == 255, labels, torch.zeros_like(labels))
    record(t, "seg_nofg", (lambda logits, labels: seg(logits, labels), {"logits"}),
           {"logits": torch.randn(2, 5, 6, 7), "labels": nofg})

    base = F.interpolate(torch.rand(2, 3, 3, 3), size=(12, 14), mode="bilinear", align_corners=False) * 255
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    elab = torch.randint(0, 4, (2, 12, 14))
    elab[:, :, :3] = 255
    elab[1, 5:9, 6:10] = 255
    record(t, "energy", (lambda images, logits, labels, box: energy(images, logits, labels, box, weight=1.0), {"logits"}),
           {"images": (base - mean) / std, "logits": 2 * torch.randn(2, 4, 12, 14), "labels": elab,
            "box": torch.tensor([[0, 12, 2, 14], [1, 11, 0, 13]])})

    tf, tb = torch.randn(4, 8), torch.randn(1, 8)
    cls = torch.randn(3, 8)
    cls[1] = -tf[0] + 0.1 * torch.randn(8)  # a negative cosine (clamped)
    record(t, "gia", (gia, {"cls", "tf", "tb"}),
           {"cls": cls, "tf": tf, "tb": tb, "y": torch.tensor([[1.0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 1, 1]])})

    obj = (torch.rand(2, 9) > 0.5).float()
    obj[1] = 1.0
    lea_in = {"p": torch.randn(2, 9, 8), "obj": obj, "tf": torch.randn(4, 8), "tb": torch.randn(1, 8),
              "y": torch.tensor([[1.0, 0, 1, 0], [0, 1, 0, 0]])}
    record(t, "lea", (lea, {"p", "tf", "tb"}), lea_in)
    record(t, "lea_masked", (lambda p, obj, tf, tb, y: lea(p, obj, tf, tb, y, masked_mean=True), {"p", "tf", "tb"}),
           lea_in)
    save_file({k: v.contiguous().clone() for k, v in t.items()}, os.path.join(HERE, "toco_losses.safetensors"),
              metadata={"seed": str(SEED), "source": "rulixiang/ToCo e13514d9 model/losses.py; DIAL §3.8"})
    print({k: float(v) for k, v in t.items() if k.startswith("out.")})


if __name__ == "__main__":
    main()
