"""gen_deform.py — fixture for deform_conv2d (engine/ops/deform_conv.cpp; tests/test_deform_conv.cpp).

Runs torchvision.ops.deform_conv2d (torchvision 0.29.2, f64, CPU) on random cases: shapes, stride, padding,
dilation, weight groups, offset groups, with/without bias and mask, offsets that are continuous (reaching beyond
the image), integers, or place samples exactly on the border (p = -1, p = H / W) and just outside it.
For each case i it stores, under "case<i>.":
  x (N, C_in, H, W), offset (N, 2 G kh kw, OH, OW), weight (C_out, C_in / groups, kh, kw), [bias (C_out)],
  [mask (N, G kh kw, OH, OW)], r (N, C_out, OH, OW) the loss weights, config (8,) f64 = sH sW pH pW dH dW
  has_bias has_mask, y = deform_conv2d(...), grad_<name> = d sum(r * y) / d <name>, and mmcv_corrected (i64).
"num_cases" (i64) says how many cases there are.

mmcv v1 (the library CDTR uses, methods.md §0.1) and torchvision differ in one place: a sample exactly at
p_y = -1 (or p_x = -1) reads 0 in both, but torchvision's offset gradient there is the right-hand derivative
while mmcv returns 0 for every sample outside the open square (-1, H) x (-1, W). wsdol follows mmcv, so this
script zeroes torchvision's offset gradient for those samples (both of the sample's dy and dx entries) and counts
the nonzero entries it changed in mmcv_corrected. Everything else is torchvision's output unchanged.

Run: python tests/reference/deform/gen_deform.py   (torch 2.15, torchvision 0.29.2, safetensors; seed 0)
"""
import os

import torch
from safetensors.torch import save_file
from torchvision.ops import deform_conv2d

SEED = 0
torch.set_default_dtype(torch.float64)

# (N, C_in, C_out, H, W, kh, kw, stride, padding, dilation, groups, offset_groups, bias, mask, offset kind)
CASES = [
    (2, 3, 4, 5, 6, 3, 3, (1, 1), (1, 1), (1, 1), 1, 1, False, False, "continuous"),  # CDTR's SKI shape
    (2, 4, 6, 6, 5, 3, 3, (1, 1), (1, 1), (1, 1), 2, 2, True, True, "continuous"),
    (1, 2, 3, 8, 7, 3, 2, (2, 1), (1, 2), (2, 1), 1, 1, True, False, "continuous"),
    (2, 6, 4, 7, 7, 3, 3, (2, 2), (0, 0), (1, 1), 2, 3, False, True, "continuous"),
    (1, 4, 4, 5, 5, 2, 2, (1, 1), (0, 0), (1, 2), 4, 4, True, False, "wide"),
    (2, 3, 2, 4, 5, 3, 3, (1, 1), (1, 1), (1, 1), 1, 1, True, True, "integer"),
    (1, 2, 3, 4, 4, 3, 3, (1, 1), (1, 1), (1, 1), 1, 1, False, False, "border"),
    (2, 4, 4, 5, 4, 3, 3, (1, 1), (1, 1), (1, 1), 1, 2, True, True, "border"),
    (1, 3, 5, 6, 6, 3, 3, (2, 2), (2, 2), (2, 2), 1, 3, False, True, "border"),
    (1, 2, 2, 3, 3, 1, 1, (1, 1), (0, 0), (1, 1), 1, 1, True, False, "integer"),
]


def out_size(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def base_positions(OH, OW, kh, kw, stride, padding, dilation):
    """(kh kw, OH, OW) integer base rows and columns of every tap's sample."""
    oh = torch.arange(OH).view(1, OH, 1)
    ow = torch.arange(OW).view(1, 1, OW)
    ki = torch.arange(kh).repeat_interleave(kw).view(-1, 1, 1)
    kj = torch.arange(kw).repeat(kh).view(-1, 1, 1)
    by = (oh * stride[0] - padding[0] + ki * dilation[0]).expand(kh * kw, OH, OW)
    bx = (ow * stride[1] - padding[1] + kj * dilation[1]).expand(kh * kw, OH, OW)
    return by.double(), bx.double()


def make_offsets(gen, kind, N, G, kh, kw, OH, OW, H, W, by, bx):
    shape = (N, G, kh * kw, 2, OH, OW)
    if kind == "continuous":
        off = (torch.rand(shape, generator=gen) - 0.5) * 5.0
    elif kind == "wide":
        off = (torch.rand(shape, generator=gen) - 0.5) * 12.0
    elif kind == "integer":
        off = torch.randint(-3, 4, shape, generator=gen).double()
    else:  # border: targets p in {-1, H (W), -1.001, H + 0.001, 0, H - 1, inside fractional}, per coordinate
        def targets(size, n):
            choices = torch.tensor([-1.0, float(size), -1.001, size + 0.001, 0.0, size - 1.0, 0.37, size - 1.5, 1.0])
            return choices[torch.randint(0, len(choices), (n,), generator=gen)]
        n = N * G * kh * kw * OH * OW
        ty = targets(H, n).view(N, G, kh * kw, OH, OW)
        tx = targets(W, n).view(N, G, kh * kw, OH, OW)
        off = torch.stack([ty - by, tx - bx], dim=3)
    return off.reshape(N, G * kh * kw * 2, OH, OW).contiguous()


def main():
    gen = torch.Generator().manual_seed(SEED)
    out = {}
    for i, (N, C, Co, H, W, kh, kw, s, p, d, groups, G, has_bias, has_mask, kind) in enumerate(CASES):
        OH, OW = out_size(H, kh, s[0], p[0], d[0]), out_size(W, kw, s[1], p[1], d[1])
        by, bx = base_positions(OH, OW, kh, kw, s, p, d)
        x = torch.randn(N, C, H, W, generator=gen).requires_grad_()
        offset = make_offsets(gen, kind, N, G, kh, kw, OH, OW, H, W, by, bx).requires_grad_()
        weight = (torch.randn(Co, C // groups, kh, kw, generator=gen) * 0.5).requires_grad_()
        bias = torch.randn(Co, generator=gen).requires_grad_() if has_bias else None
        mask = (torch.rand(N, G * kh * kw, OH, OW, generator=gen) + 0.2).requires_grad_() if has_mask else None
        y = deform_conv2d(x, offset, weight, bias, stride=s, padding=p, dilation=d, mask=mask)
        r = torch.randn(y.shape, generator=gen)
        (y * r).sum().backward()
        # mmcv's rule: no offset gradient for samples outside the open square (-1, H) x (-1, W)
        o = offset.detach().view(N, G, kh * kw, 2, OH, OW)
        py, px = by + o[:, :, :, 0], bx + o[:, :, :, 1]
        outside = (py <= -1) | (py >= H) | (px <= -1) | (px >= W)
        g = offset.grad.view(N, G, kh * kw, 2, OH, OW).clone()
        outside2 = outside.unsqueeze(3).expand_as(g)
        corrected = int(((g != 0) & outside2).sum())
        g[outside2] = 0
        key = f"case{i}."
        out[key + "x"] = x.detach()
        out[key + "offset"] = offset.detach()
        out[key + "weight"] = weight.detach()
        if has_bias:
            out[key + "bias"] = bias.detach()
            out[key + "grad_bias"] = bias.grad
        if has_mask:
            out[key + "mask"] = mask.detach()
            out[key + "grad_mask"] = mask.grad
        out[key + "r"] = r
        out[key + "config"] = torch.tensor([s[0], s[1], p[0], p[1], d[0], d[1], has_bias, has_mask], dtype=torch.float64)
        out[key + "y"] = y.detach()
        out[key + "grad_x"] = x.grad
        out[key + "grad_offset"] = g.view(offset.shape).contiguous()
        out[key + "grad_weight"] = weight.grad
        out[key + "mmcv_corrected"] = torch.tensor(corrected, dtype=torch.int64)
        print(f"case {i}: x {tuple(x.shape)} offset {tuple(offset.shape)} {kind}: "
              f"{int(outside.sum())} samples outside, {corrected} offset-gradient entries set to 0 (mmcv)")
    out["num_cases"] = torch.tensor(len(CASES), dtype=torch.int64)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "deform_conv2d.safetensors")
    save_file({k: v.contiguous() for k, v in out.items()}, path)
    print("wrote", path)


if __name__ == "__main__":
    main()
