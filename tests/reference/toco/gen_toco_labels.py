"""gen_toco_labels.py — fixture for models/toco_labels.{h,cpp} and models/par.{h,cpp} (tests/test_toco_labels.cpp).

A PyTorch restatement of rulixiang/ToCo at commit e13514d9 (utils/camutils.py: cam_to_label, cam_to_roi_mask2,
crop_from_roi_neg, multi_scale_cam2 after the network, label_to_aff_mask, refine_cams_with_bkg_v2; utils/imutils.py
denormalize_img2; model/PAR.py), written from reading that code (methods.md §3.2-§3.4, §0.1).

toco_labels.safetensors (seed 0), B = 2 images, C = 4 classes, 32 x 32 maps:
  in.cams (B, C, H, W) normalized CAMs in [0, 1], in.cls (B, C), in.box (B, 4) {y0, y1, x0, x1}
  out.plain                  cam_to_label without img_box (bkg 0.5)
  out.box_mid / out.valid    cam_to_label with img_box, ignore_mid (0.25 / 0.7) and its valid_cam
  out.box_nomid              cam_to_label with img_box, no ignore_mid
  out.roi                    cam_to_roi_mask2 (0.7 / 0.25)
  in.ms.<s> (2B, C, h_s, w_s) per-scale CAMs of [x; flip x], out.ms the multi_scale_cam2 merge at 32 x 32
  in.view (B, 3, H, W), in.perm.<b>  permutations, out.crop.<i> (B, 3, 8, 8), out.flags (B, 5): crop_from_roi_neg
        with 3 crops of 8 (image 1's roi has fewer than 3 candidates, so all inner positions are used)
  in.aff_label (B, 6, 6), out.aff (B, 36, 36)    label_to_aff_mask
  in.par_img (1, 3, 20, 18) in [0, 1], in.par_mask (1, 3, 10, 9), out.par  PAR (dilations 1..24, 10 iterations)
  in.norm_img (B, 3, H, W) normalized image, out.denorm  denormalize_img2
  out.refined (B, H, W)      refine_cams_with_bkg_v2 on out.denorm and out.valid
Run: python tests/reference/toco/gen_toco_labels.py (torch, numpy, safetensors).
"""
import os

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

SEED = 0
HERE = os.path.dirname(os.path.abspath(__file__))


# ---- camutils restated ----
def max_and_label(cam, cls):
    valid = cls[:, :, None, None] * cam
    value, idx = valid.max(dim=1)
    return valid, value, idx + 1


def cam_to_label(cam, cls, img_box=None, bkg=0.5, high=0.7, low=0.25, ignore_mid=False, ignore=255):
    valid, value, lab = max_and_label(cam, cls)
    lab[value <= bkg] = 0
    if img_box is None:
        return lab
    if ignore_mid:
        lab[value <= high] = ignore
        lab[value <= low] = 0
    out = torch.full_like(lab, ignore)
    for i, (y0, y1, x0, x1) in enumerate(img_box.tolist()):
        out[i, y0:y1, x0:x1] = lab[i, y0:y1, x0:x1]
    return valid, out


def roi_mask(cam, cls, high=0.7, low=0.25):
    _, value, _ = max_and_label(cam, cls)
    roi = torch.ones_like(value, dtype=torch.int16)
    roi[value <= low] = 0
    roi[value >= high] = 2
    return roi


def crop_from_roi(images, roi, crop_num, crop_size, perms):
    b, c, h, w = images.shape
    m = crop_size // 2
    crops = torch.zeros(b, crop_num, c, crop_size, crop_size)
    flags = torch.ones(b, crop_num + 2)
    for i in range(b):
        inner = roi[i, m:h - m, m:w - m]
        cand = (inner <= 1).nonzero()
        if cand.shape[0] < crop_num:
            cand = (inner >= 0).nonzero()
        pick = cand[perms[i][:crop_num]]
        for k in range(crop_num):
            y0, x0 = int(pick[k, 0]), int(pick[k, 1])
            crops[i, k] = images[i, :, y0:y0 + crop_size, x0:x0 + crop_size]
            if roi[i, y0:y0 + crop_size, x0:x0 + crop_size].sum() / (crop_size * crop_size) <= 0.2:
                flags[i, k + 2] = 0
    return [crops[:, k] for k in range(crop_num)], flags


def merge_scales(per_scale, h, w):
    total = 0
    for cam in per_scale:
        b = cam.shape[0] // 2
        r = F.interpolate(cam, size=(h, w), mode="bilinear", align_corners=False)
        total = total + F.relu(torch.max(r[:b], r[b:].flip(-1)))
    total = total + F.adaptive_max_pool2d(-total, (1, 1))
    return total / (F.adaptive_max_pool2d(total, (1, 1)) + 1e-5)


def aff_mask(label, ignore=255):
    b, h, w = label.shape
    flat = label.reshape(b, -1)
    aff = (flat[:, :, None] == flat[:, None, :]).long()
    bad = flat == ignore
    aff[bad[:, :, None].expand_as(aff)] = ignore
    aff[bad[:, None, :].expand_as(aff)] = ignore
    n = h * w
    aff[:, range(n), range(n)] = ignore
    return aff


def denorm01(img, mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375)):
    out = torch.zeros_like(img)
    for ch in range(3):
        out[:, ch] = img[:, ch] * std[ch] + mean[ch]
    return out.type(torch.uint8) / 255.0


# ---- PAR restated ----
class Par(torch.nn.Module):
    def __init__(self, dilations=(1, 2, 4, 8, 12, 24), num_iter=10, w1=0.3, w2=0.01):
        super().__init__()
        self.dilations, self.num_iter, self.w1, self.w2 = list(dilations), num_iter, w1, w2
        k = torch.zeros(8, 1, 3, 3)
        taps = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1), (2, 2)]
        for n, (i, j) in enumerate(taps):
            k[n, 0, i, j] = 1
        self.kernel = k
        base = torch.ones(1, 1, 8, 1, 1)
        for n in (0, 2, 5, 7):
            base[0, 0, n] = np.sqrt(2)
        self.pos = torch.cat([base * d for d in self.dilations], dim=2)

    def neighbours(self, x):
        b, c, h, w = x.shape
        outs = []
        for d in self.dilations:
            p = F.pad(x, [d] * 4, mode="replicate").reshape(b * c, 1, h + 2 * d, w + 2 * d)
            outs.append(F.conv2d(p, self.kernel, dilation=d).view(b, c, -1, h, w))
        return torch.cat(outs, dim=2)

    def forward(self, imgs, masks):
        masks = F.interpolate(masks, size=imgs.shape[-2:], mode="bilinear", align_corners=True)
        b, c, h, w = imgs.shape
        nb = self.neighbours(imgs)
        centre = imgs.unsqueeze(2).repeat(1, 1, nb.shape[2], 1, 1)
        pos = self.pos.repeat(b, 1, 1, h, w)
        aff = -((nb - centre).abs() / (nb.std(dim=2, keepdim=True) + 1e-8) / self.w1) ** 2
        aff = aff.mean(dim=1, keepdim=True)
        pos_aff = -(pos / (pos.std(dim=2, keepdim=True) + 1e-8) / self.w1) ** 2
        aff = F.softmax(aff, dim=2) + self.w2 * F.softmax(pos_aff, dim=2)
        for _ in range(self.num_iter):
            masks = (self.neighbours(masks) * aff).sum(2)
        return masks


def refine_v2(par, images, cams, cls, img_box, high=0.7, low=0.25, ignore=255):
    b, _, h, w = images.shape
    small = F.interpolate(images, size=[h // 2, w // 2], mode="bilinear", align_corners=False)
    keys_all = torch.cat([torch.ones(b, 1), cls], dim=1)
    labels = []
    for bg in (high, low):
        stackc = torch.cat([torch.full((b, 1, h, w), bg), cams], dim=1)
        stackc = F.interpolate(stackc, size=[h // 2, w // 2], mode="bilinear", align_corners=False)
        lab = torch.full((b, h, w), float(ignore))
        for i, (y0, y1, x0, x1) in enumerate(img_box.tolist()):
            keys = torch.nonzero(keys_all[i])[:, 0]
            probs = stackc[i, keys].unsqueeze(0).softmax(dim=1)
            ref = F.interpolate(par(small[[i]], probs), size=(h, w), mode="bilinear", align_corners=False)
            full = keys[ref.argmax(dim=1)]
            lab[i, y0:y1, x0:x1] = full[0, y0:y1, x0:x1].float()
        labels.append(lab)
    lab_h, lab_l = labels
    out = lab_h.clone()
    out[lab_h == 0] = ignore
    out[(lab_h + lab_l) == 0] = 0
    return out.long()


def main():
    torch.manual_seed(SEED)
    B, C, H, W = 2, 4, 32, 32
    t = {}
    # smooth-ish CAMs so that every threshold band is populated
    cams = F.interpolate(torch.rand(B, C, 6, 6), size=(H, W), mode="bilinear", align_corners=False)
    cams = (cams - cams.amin((2, 3), keepdim=True)) / (cams.amax((2, 3), keepdim=True) - cams.amin((2, 3), keepdim=True))
    cls = torch.tensor([[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0]])
    box = torch.tensor([[0, 32, 3, 29], [5, 27, 0, 32]], dtype=torch.int64)
    t["in.cams"], t["in.cls"], t["in.box"] = cams, cls, box
    t["out.plain"] = cam_to_label(cams.clone(), cls)
    valid, t["out.box_mid"] = cam_to_label(cams.clone(), cls, img_box=box, ignore_mid=True)
    t["out.valid"] = valid
    t["out.box_nomid"] = cam_to_label(cams.clone(), cls, img_box=box, ignore_mid=False)[1]
    roi = roi_mask(cams, cls)
    t["out.roi"] = roi.long()

    ms = [torch.randn(2 * B, C, 8, 8), torch.randn(2 * B, C, 4, 4), torch.randn(2 * B, C, 12, 12)]
    for s, m in enumerate(ms):
        t[f"in.ms.{s}"] = m
    t["out.ms"] = merge_scales(ms, H, W)

    view = torch.randn(B, 3, H, W)
    roi_c = roi.clone()
    roi_c[0] = 0  # image 0: rows >= 16 certain (2): crops near the top negative, lower ones positive
    roi_c[0, 16:] = 2
    roi_c[1] = 2  # image 1: no position with roi <= 1 -> fallback to all inner positions (all crops positive)
    roi_c[1, 10:20, 10:20] = 0
    cand_counts = [int(((roi_c[i, 4:28, 4:28]) <= 1).sum()) for i in range(B)]
    cand_counts = [n if n >= 3 else 24 * 24 for n in cand_counts]
    perms = [torch.randperm(n) for n in cand_counts]
    crops, flags = crop_from_roi(view, roi_c, 3, 8, perms)
    t["in.view"], t["in.crop_roi"] = view, roi_c.long()
    for i, p in enumerate(perms):
        t[f"in.perm.{i}"] = p
    for k, c in enumerate(crops):
        t[f"out.crop.{k}"] = c.contiguous()
    t["out.flags"] = flags

    al = torch.randint(0, 3, (B, 6, 6))
    al[al == 2] = 255
    al[0, 0, 0] = 1
    t["in.aff_label"], t["out.aff"] = al, aff_mask(al)

    par = Par()
    pimg = torch.rand(1, 3, 20, 18)
    pmask = torch.rand(1, 3, 10, 9).softmax(1)
    t["in.par_img"], t["in.par_mask"], t["out.par"] = pimg, pmask, par(pimg, pmask)

    base = F.interpolate(torch.rand(B, 3, 4, 4), size=(H, W), mode="bilinear", align_corners=False)
    rgb = base * 255.0
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    nimg = (rgb - mean) / std
    t["in.norm_img"] = nimg
    den = denorm01(nimg)
    t["out.denorm"] = den
    t["out.refined"] = refine_v2(par, den, valid, cls, box)
    save_file({k: v.contiguous() for k, v in t.items()}, os.path.join(HERE, "toco_labels.safetensors"),
              metadata={"seed": str(SEED), "source": "rulixiang/ToCo e13514d9 utils/camutils.py, model/PAR.py"})
    print("refined classes", torch.unique(t["out.refined"]).tolist(), "flags", flags.tolist())


if __name__ == "__main__":
    main()
