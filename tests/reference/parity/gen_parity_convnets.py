"""gen_parity_convnets.py — model-parity fixtures for the CNN backbones (issue 4): torchvision's ResNet (Bottleneck,
with replace_stride_with_dilation, the IRNet/CLIMS strides and the BatchNorm modes) and PSA's ResNet-38d
("WideResNet-38"), in the shared format of parity_common.py. Checked by tests/test_parity_convnets.cpp (reduced
sizes, committed) and tests/heavy/test_parity_full_size_resnet.cpp (full sizes, written with --full).

    python tests/reference/parity/gen_parity_convnets.py                 # reduced fixtures, next to this file
    python tests/reference/parity/gen_parity_convnets.py --full --out build/full_parity

ResNet: torchvision.models.resnet's own Bottleneck and ResNet._make_layer build the stages (so the dilation rule,
downsample rule and names are torchvision's); only the stem width and stage planes are reduced (width w instead of
64, planes w, 2w, 4w, 8w), which torchvision's ResNet.__init__ hard-codes. The full-size fixtures use
torchvision.models.resnet50() itself.
ResNet-38d: written here from jiwoon-ahn/psa network/resnet38d.py (same attribute names and forward), with a width
multiplier (w = 64 is the released network).

BatchNorm modes (models/backbone_bn.h): normal (nn.BatchNorm2d), frozen (running statistics even in train mode,
affine trainable: IRNet's FixedBatchNorm), fixed (frozen + weight/bias requires_grad False: ResNet-38d in train).
Every model gets calibrated, then perturbed BN statistics and random affine parameters (so eval mode is not the
identity), seeded. In train mode the updated BN buffers are outputs "state.<name>" (not in the loss), and the
param.* entries hold the state BEFORE the forward (the buffers are restored after it), so the C++ test starts from
the same state and checks the update.
Loss = sum over the stage outputs and logits/pooled features of sum(output * weight) (parity_common).

Well-posed inputs (reduced fixtures): the images are the first seeded draw whose ReLU inputs all keep a margin
from the kink and for which PyTorch's own f32 result lies within 0.9 of the bounds of the f64 computation
(choose_images; the draw index and that fraction are in the file's metadata). Without it some draws fail the
f32-vs-f32 comparison by a flipped ReLU (an implementation-independent rounding accident) or by cancellation in a
batch-statistics BN backward over a few values.
Well-posed full-size fixtures (python ... --full --out DIR [--only NAME ...]). The reduced recipe does not carry
over: with ~2e7 ReLU inputs per batch the kink check cannot pass for any draw, and with the reduced recipe (BN
biases 0.2 N(0,1), loss over every stage output) PyTorch's own f32 result missed the bounds of its f64 result by
x7.5 (forward, layer4) and x1e5 (gradients, conv1.weight) for ResNet-50 — an ill-conditioned case, not a kernel
question. Two causes, measured on ResNet-50 eval at 224, batch 2 (PyTorch f32 vs f64, err/bound):
  1. A randomly initialized ReLU network whose BN keeps every layer normalized is chaotic: half of all ReLU
     inputs are negative and many lie near the kink, rounding differences flip gates and the flips compound with depth.
     f32 relative error grew from 2e-6 (layer1) to 8e-5 (layer4); forward err/bound 0.15 -> 6.7 through the
     stages. With uncalibrated BN instead (the CLIP-RN50 recipe) the features grow to |x| ~ 4e3 and the absolute
     part of the element-wise bound is lost (err/bound 29 at layer4 with 2e-6 relative error).
  2. The loss over all stage outputs with N(0,1) weights gives weight gradients of ~1e3-1e5 built from sums that
     cancel; the element-wise 1e-3 (1 + |b|) bound then asks for more than f32 summation delivers (x1e5 even on
     the logits-only loss while cause 1 was present, x3 with cause 1 removed).
So the full-size fixtures (a) shift every BN bias by FULL_BN_BIAS_SHIFT = 4 x its gamma before the running
statistics are calibrated (eval mode: each BN output is then ~ N(4 gamma, gamma^2) per channel; train mode: the
batch statistics give the same): the network stays normalized (features |x| <= ~40) and mostly in the linear
regime of its ReLUs, so rounding is not amplified with depth, while a few hundred ReLU inputs per batch are still
negative, so the gate is exercised (its kink is covered by the reduced fixtures); (b) put only the head into the
loss (ResNet-50: logits; ResNet-38d: conv6), while every stage output is still compared in the forward check and
every parameter still gets its gradient checked (the head depends on all of them); and (c) choose the images as
the reduced fixtures do (ReLU margin 3e-6 x max), with PyTorch's own f32-vs-f64 error at most 0.5 of the bounds
(a few draws: with 2e7 ReLU inputs and 4e5 max-pool windows, an occasional draw still has a near-tie that
rounding can flip); (d) ResNet-38d: its loss output conv6 is a 4096-channel map, whose N(0,1)-weighted loss sends
gradients large enough back that the bound's absolute part no longer covers f32 rounding in their small elements
(PyTorch f32 vs f64 x1.2 on the weight gradients of b5-b7, with (a)-(c)); bn7's weight and bias times 0.1
(FULL_WRN38_BN7_SCALE) scale every gradient down by 10 (x0.14). Measured on ResNet-50 eval with shift 3 and the
logits loss: forward err/bound <= 0.1, gradients <= 0.04 for one draw, 24 for another (in conv1, bn1 and layer1 only:
a flipped gate or max-pool near-tie): hence shift 4 and (c). The fixture's table
<fixture>.torch_f32_vs_f64.txt (PyTorch's own f32 error against f64 per key, as a fraction of the bound) is written
next to it and printed by the heavy test next to ours. Everything is seeded, so reruns write identical files.
"""
import argparse
import copy
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models import resnet as tv

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from parity_common import loss_weights, write_parity_fixture  # noqa: E402


# ---------------------------------------------------------------- BatchNorm modes

class EvalStatsBatchNorm2d(nn.BatchNorm2d):
    """Running statistics always (IRNet's FixedBatchNorm): F.batch_norm(training=False), nothing updated."""

    def forward(self, x):
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, training=False,
                            eps=self.eps)


def norm_layer_for(mode):
    return nn.BatchNorm2d if mode == "normal" else EvalStatsBatchNorm2d


def apply_fixed(model, mode):
    """mode fixed: no gradient to any BN weight/bias."""
    if mode != "fixed":
        return
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.requires_grad_(False)
            m.bias.requires_grad_(False)


# ---------------------------------------------------------------- reduced torchvision ResNet

class ReducedResNet(tv.ResNet):
    """torchvision ResNet with Bottleneck at stem width w (planes w, 2w, 4w, 8w) and per-stage strides; built with
    torchvision's own _make_layer (dilation and downsample rules) and Bottleneck."""

    def __init__(self, width, layers, strides, dilate, num_classes, norm_layer):
        nn.Module.__init__(self)
        self._norm_layer = norm_layer
        self.inplanes, self.dilation, self.groups, self.base_width = width, 1, 1, 64
        self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(tv.Bottleneck, width, layers[0], stride=strides[0])
        self.layer2 = self._make_layer(tv.Bottleneck, 2 * width, layers[1], stride=strides[1], dilate=dilate[0])
        self.layer3 = self._make_layer(tv.Bottleneck, 4 * width, layers[2], stride=strides[2], dilate=dilate[1])
        self.layer4 = self._make_layer(tv.Bottleneck, 8 * width, layers[3], stride=strides[3], dilate=dilate[2])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(32 * width, num_classes) if num_classes > 0 else None
        for m in self.modules():  # torchvision's init
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


def resnet_outputs(model, images):
    x = model.maxpool(model.relu(model.bn1(model.conv1(images))))
    out = {}
    for i in range(1, 5):
        x = getattr(model, f"layer{i}")(x)
        out[f"layer{i}"] = x
    pooled = torch.flatten(model.avgpool(x), 1)
    if model.fc is not None:
        out["logits"] = model.fc(pooled)
    else:
        out["pooled"] = pooled
    return out


# ---------------------------------------------------------------- ResNet-38d (PSA), width multiplier

RELU_INPUTS = None  # a list while choose_images() measures the distance of every ReLU input from the kink


def relu(x):
    if RELU_INPUTS is not None:
        RELU_INPUTS.append(x.detach())
    return F.relu(x)


class ResBlock(nn.Module):
    def __init__(self, cin, mid, cout, stride=1, first_dilation=None, dilation=1, norm_layer=nn.BatchNorm2d):
        super().__init__()
        self.same_shape = cin == cout and stride == 1
        d1 = dilation if first_dilation is None else first_dilation
        self.bn_branch2a = norm_layer(cin)
        self.conv_branch2a = nn.Conv2d(cin, mid, 3, stride, padding=d1, dilation=d1, bias=False)
        self.bn_branch2b1 = norm_layer(mid)
        self.conv_branch2b1 = nn.Conv2d(mid, cout, 3, padding=dilation, dilation=dilation, bias=False)
        if not self.same_shape:
            self.conv_branch1 = nn.Conv2d(cin, cout, 1, stride, bias=False)

    def forward(self, x):
        a = relu(self.bn_branch2a(x))
        branch1 = x if self.same_shape else self.conv_branch1(a)
        b = self.conv_branch2b1(relu(self.bn_branch2b1(self.conv_branch2a(a))))
        return branch1 + b, a


class ResBlockBot(nn.Module):
    def __init__(self, cin, cout, stride=1, dilation=1, dropout=0.0, norm_layer=nn.BatchNorm2d):
        super().__init__()
        self.bn_branch2a = norm_layer(cin)
        self.conv_branch2a = nn.Conv2d(cin, cout // 4, 1, stride, bias=False)
        self.bn_branch2b1 = norm_layer(cout // 4)
        self.dropout_2b1 = nn.Dropout2d(dropout)
        self.conv_branch2b1 = nn.Conv2d(cout // 4, cout // 2, 3, padding=dilation, dilation=dilation, bias=False)
        self.bn_branch2b2 = norm_layer(cout // 2)
        self.dropout_2b2 = nn.Dropout2d(dropout)
        self.conv_branch2b2 = nn.Conv2d(cout // 2, cout, 1, bias=False)
        self.conv_branch1 = nn.Conv2d(cin, cout, 1, stride, bias=False)

    def forward(self, x):
        a = relu(self.bn_branch2a(x))
        branch1 = self.conv_branch1(a)
        b = self.dropout_2b1(relu(self.bn_branch2b1(self.conv_branch2a(a))))
        b = self.dropout_2b2(relu(self.bn_branch2b2(self.conv_branch2b1(b))))
        return branch1 + self.conv_branch2b2(b), a


class ResNet38d(nn.Module):
    STAGES = [("b2", 3), ("b3", 3), ("b4", 6), ("b5", 3)]

    def __init__(self, w=64, dropout=(0.3, 0.5), norm_layer=nn.BatchNorm2d):
        super().__init__()
        self.conv1a = nn.Conv2d(3, w, 3, padding=1, bias=False)
        n = norm_layer
        self.b2 = ResBlock(w, 2 * w, 2 * w, stride=2, norm_layer=n)
        self.b2_1 = ResBlock(2 * w, 2 * w, 2 * w, norm_layer=n)
        self.b2_2 = ResBlock(2 * w, 2 * w, 2 * w, norm_layer=n)
        self.b3 = ResBlock(2 * w, 4 * w, 4 * w, stride=2, norm_layer=n)
        self.b3_1 = ResBlock(4 * w, 4 * w, 4 * w, norm_layer=n)
        self.b3_2 = ResBlock(4 * w, 4 * w, 4 * w, norm_layer=n)
        self.b4 = ResBlock(4 * w, 8 * w, 8 * w, stride=2, norm_layer=n)
        for i in range(1, 6):
            setattr(self, f"b4_{i}", ResBlock(8 * w, 8 * w, 8 * w, norm_layer=n))
        self.b5 = ResBlock(8 * w, 8 * w, 16 * w, stride=1, first_dilation=1, dilation=2, norm_layer=n)
        self.b5_1 = ResBlock(16 * w, 8 * w, 16 * w, dilation=2, norm_layer=n)
        self.b5_2 = ResBlock(16 * w, 8 * w, 16 * w, dilation=2, norm_layer=n)
        self.b6 = ResBlockBot(16 * w, 32 * w, stride=1, dilation=4, dropout=dropout[0], norm_layer=n)
        self.b7 = ResBlockBot(32 * w, 64 * w, dilation=4, dropout=dropout[1], norm_layer=n)
        self.bn7 = n(64 * w)


def wrn38_outputs(model, images):
    x = model.conv1a(images)
    out = {}
    for prefix, blocks in ResNet38d.STAGES:
        for i in range(blocks):
            x, a = getattr(model, prefix if i == 0 else f"{prefix}_{i}")(x)
            if prefix == "b5" and i == 0:
                out["conv4"] = a
        out[prefix] = x
    x, out["conv5"] = model.b6(x)
    out["b6"] = x
    x, _ = model.b7(x)
    out["b7"] = x
    out["conv6"] = relu(model.bn7(x))
    return out


# ---------------------------------------------------------------- state handling

# Full-size fixtures: every BN bias is 4 x its gamma above the seeded draw, so that after the calibrated
# normalization a ReLU input is N(4, 1)-like per channel (why: the module docstring).
FULL_BN_BIAS_SHIFT = 4.0
# ResNet-38d at full size: bn7's weight and bias (the affine in front of the loss output conv6) times 0.1.
FULL_WRN38_BN7_SCALE = 0.1

def randomize_batch_norms(model, images, gen, bias_shift=0.0):
    """Random BN affine parameters and counters first, then running statistics calibrated layer by layer on a
    batch (in eval mode each BN gets the mean and unbiased variance of its own input, so the eval-mode network stays
    normalized through its depth and its f32 rounding is not amplified), then mildly perturbed."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for m in bns:
            c = m.num_features
            m.weight.copy_(0.5 + torch.rand(c, generator=gen))
            m.bias.copy_(0.2 * torch.randn(c, generator=gen) + bias_shift * m.weight)
            m.num_batches_tracked.fill_(int(torch.randint(0, 100, (1,), generator=gen)))

    def calibrate(m, inputs):
        x = inputs[0]
        m.running_mean.copy_(x.mean((0, 2, 3)))
        m.running_var.copy_(x.var((0, 2, 3), unbiased=True))

    hooks = [m.register_forward_pre_hook(calibrate) for m in bns]
    with torch.no_grad():
        model.eval()
        (wrn38_outputs if isinstance(model, ResNet38d) else resnet_outputs)(model, images)
    for h in hooks:
        h.remove()
    with torch.no_grad():
        for m in bns:
            c = m.num_features
            m.running_mean.add_(0.05 * m.running_var.sqrt() * torch.randn(c, generator=gen))
            m.running_var.mul_(0.9 + 0.2 * torch.rand(c, generator=gen))


def choose_images(model, shape, outputs_fn, loss_outputs, seed, max_tries=40, check=True, max_frac=0.9):
    """Draws the input images: the first draw (generator seed * 100 + attempt) whose case is well posed for an f32
    comparison: every ReLU input at least 3e-6 x its tensor's max |value| away from 0 (a ReLU whose input sits at
    the kink flips under rounding and reroutes the gradient: brief rule 4), and PyTorch's own f32 result within
    max_frac of the parity bounds of the same computation in f64 (a case that f32 arithmetic can meet at all: a
    batch-statistics BN backward over few values cancels badly for some draws). The f64 pass runs first, so a draw
    that fails the margin costs no f32 pass. Returns (images, attempt, f32-vs-f64 fraction)."""
    global RELU_INPUTS
    for attempt in range(max_tries):
        images = torch.randn(shape, generator=torch.Generator().manual_seed(seed * 100 + attempt))
        if not check:
            return images, attempt, float("nan")
        results = {}
        margin = float("inf")
        for dtype in (torch.float64, torch.float32):
            m = copy.deepcopy(model).to(dtype)
            x = images.detach().to(dtype).clone().requires_grad_(True)
            RELU_INPUTS = []
            hooks = [mod.register_forward_pre_hook(lambda mod, inp: RELU_INPUTS.append(inp[0].detach().clone()))
                     for mod in m.modules() if isinstance(mod, nn.ReLU)]
            out = outputs_fn(m, x)
            for h in hooks:
                h.remove()
            if dtype == torch.float64:
                for r in RELU_INPUTS:
                    margin = min(margin, (r.abs().min() / r.abs().max().clamp_min(1e-30)).item())
            RELU_INPUTS = None
            if margin < 3e-6:
                break
            w = loss_weights({n: out[n].float() for n in loss_outputs}, seed + 1)
            sum((out[n] * w[n].to(dtype)).sum() for n in loss_outputs).backward()
            grads = {n: p.grad for n, p in m.named_parameters() if p.grad is not None}
            grads["input"] = x.grad
            results[dtype] = ({n: out[n].detach() for n in loss_outputs}, grads)
            del m, out
        if margin < 3e-6:
            frac = float("nan")
        else:
            (o32, g32), (o64, g64) = results[torch.float32], results[torch.float64]
            frac = max(max(((o32[n].double() - o64[n]).abs() / (1e-4 * (1 + o64[n].abs()))).max().item()
                           for n in o64),
                       max(((g32[n].double() - g64[n]).abs() / (1e-3 * (1 + g64[n].abs()))).max().item()
                           for n in g64))
        if os.environ.get("GEN_DEBUG") or shape[-1] >= 100:
            print(f"  attempt {attempt}: relu margin {margin:.3g}, f32 vs f64 {frac:.3g}", flush=True)
        if margin >= 3e-6 and frac <= max_frac:
            return images, attempt, frac
    raise RuntimeError(f"no well-posed input in {max_tries} draws (seed {seed})")


def torch_self_error(model, images, outputs_fn, loss_outputs, seed):
    """PyTorch's own f32 error against the same computation in f64, per fixture key (output.<name>,
    grad.param.<name>, grad.input.images), as a fraction of the parity bound: how far an exact f32 implementation
    can be expected to land from PyTorch's f32 result. Written next to the full-size fixtures."""
    res = []
    for dtype in (torch.float32, torch.float64):
        m = copy.deepcopy(model).to(dtype)
        x = images.detach().to(dtype).clone().requires_grad_(True)
        out = outputs_fn(m, x)
        w = loss_weights({n: out[n].float() for n in loss_outputs}, seed + 1)
        sum((out[n] * w[n].to(dtype)).sum() for n in loss_outputs).backward()
        grads = {"grad.param." + n: p.grad for n, p in m.named_parameters() if p.grad is not None}
        grads["grad.input.images"] = x.grad
        res.append(({"output." + n: t.detach() for n, t in out.items()}, grads))  # every output, in the loss or not
    (o32, g32), (o64, g64) = res
    frac = lambda a, b, tol: ((a.double() - b).abs() / (tol * (1 + b.abs()))).max().item()  # noqa: E731
    table = {k: frac(o32[k], o64[k], 1e-4) for k in o64}
    table.update({k: frac(g32[k], g64[k], 1e-3) for k in g64})
    return table


def write_self_error(path, table):
    with open(path + ".torch_f32_vs_f64.txt", "w") as f:
        f.write("# PyTorch f32 vs the same computation in f64, as a fraction of the parity bound (per key)\n")
        for k, v in table.items():
            f.write(f"{k} {v:.4g}\n")
    worst = max(table.items(), key=lambda kv: kv[1])
    print(f"  PyTorch's own f32 error: worst {worst[1]:.3g} x bound ({worst[0]})")


def forward_with_state(outputs_fn):
    """forward(model, images) for write_parity_fixture: the outputs, plus "state.<buffer>" for every BN buffer when
    the forward changed any (train mode), after which the buffers are restored to their values before the forward."""

    def forward(model, images):
        before = {k: v.detach().clone() for k, v in model.named_buffers()}
        out = outputs_fn(model, images)
        after = dict(model.named_buffers())
        changed = any(not torch.equal(before[k], after[k]) for k in before)
        if changed:
            for k, v in after.items():
                out["state." + k] = v.detach().clone()
            # through .data: the version counter stays, so autograd does not object; in train mode the BN backward
            # uses the batch statistics it saved, never the running buffers, so the gradients are unaffected
            for k, v in after.items():
                v.data.copy_(before[k])
        return out

    return forward


# ---------------------------------------------------------------- fixtures

def make_resnet(seed, width, layers, strides, dilate, num_classes, bn_mode, freeze_stem, images_shape, full=False,
                bias_shift=0.0):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1000)
    norm = norm_layer_for(bn_mode)
    if full:
        model = tv.resnet50(weights=None, replace_stride_with_dilation=list(dilate), norm_layer=norm)
    else:
        model = ReducedResNet(width, layers, strides, dilate, num_classes, norm)
    images = torch.randn(images_shape, generator=gen)
    randomize_batch_norms(model, torch.randn(images_shape, generator=gen), gen, bias_shift)
    apply_fixed(model, bn_mode)
    if freeze_stem:
        for p in list(model.conv1.parameters()) + list(model.bn1.parameters()):
            p.requires_grad_(False)
    return model, images


def write_resnet(path, seed, train, width=3, layers=(2, 1, 2, 2), strides=(1, 2, 2, 2), dilate=(False, False, False),
                 num_classes=5, bn_mode="normal", freeze_stem=False, images_shape=(2, 3, 48, 48), full=False):
    # full size: BN biases shifted by FULL_BN_BIAS_SHIFT x gamma, loss on the logits only (see the docstring)
    model, images = make_resnet(seed, width, layers, strides, dilate, num_classes, bn_mode, freeze_stem,
                                images_shape, full, FULL_BN_BIAS_SHIFT if full else 0.0)
    model.train(train)
    head = ["logits"] if (full or num_classes > 0) else ["pooled"]
    loss_outputs = head if full else [f"layer{i}" for i in range(1, 5)] + head
    images, attempt, frac = choose_images(model, images_shape, resnet_outputs, loss_outputs, seed,
                                          max_frac=0.5 if full else 0.9)
    fwd = forward_with_state(resnet_outputs)
    meta = {"model": "torchvision ResNet-50" if full else "reduced torchvision ResNet (Bottleneck)",
            "width": str(64 if full else width), "layers": ",".join(map(str, (3, 4, 6, 3) if full else layers)),
            "strides": ",".join(map(str, (1, 2, 2, 2) if full else strides)),
            "replace_stride_with_dilation": ",".join(str(int(d)) for d in dilate),
            "num_classes": str(1000 if full else num_classes), "bn_mode": bn_mode,
            "freeze_stem": str(int(freeze_stem)), "mode": "train" if train else "eval",
            "images_draw": str(attempt), "torch_f32_vs_f64_err_per_bound": f"{frac:.3g}"}
    if full:
        meta.update({"bn_bias_shift": str(FULL_BN_BIAS_SHIFT), "loss_outputs": ",".join(loss_outputs)})
        write_self_error(path, torch_self_error(model, images, resnet_outputs, loss_outputs, seed))
    t = write_parity_fixture(path, model, {"images": images}, fwd, seed, loss_outputs=loss_outputs, metadata=meta)
    report(path, t)


def write_wrn38(path, seed, train, width=1, bn_mode="normal", freeze_conv1a=False, dropout=(0.0, 0.0),
                images_shape=(2, 3, 32, 32)):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1000)
    model = ResNet38d(width, dropout, norm_layer_for(bn_mode))
    images = torch.randn(images_shape, generator=gen)
    full = width >= 64  # released size: BN biases shifted, loss on conv6 only (see the docstring)
    randomize_batch_norms(model, torch.randn(images_shape, generator=gen), gen, FULL_BN_BIAS_SHIFT if full else 0.0)
    if full:  # the head's scale (why: the module docstring)
        with torch.no_grad():
            model.bn7.weight.mul_(FULL_WRN38_BN7_SCALE)
            model.bn7.bias.mul_(FULL_WRN38_BN7_SCALE)
    apply_fixed(model, bn_mode)
    if freeze_conv1a:
        model.conv1a.weight.requires_grad_(False)
    model.train(train)
    loss_outputs = ["conv6"] if full else ["b2", "b3", "b4", "b5", "b6", "b7", "conv4", "conv5", "conv6"]
    images, attempt, frac = choose_images(model, images_shape, wrn38_outputs, loss_outputs, seed,
                                          max_frac=0.5 if full else 0.9)
    meta = {"images_draw": str(attempt), "torch_f32_vs_f64_err_per_bound": f"{frac:.3g}",
            "model": "ResNet-38d (PSA network/resnet38d.py)", "width": str(width), "bn_mode": bn_mode,
            "freeze_conv1a": str(int(freeze_conv1a)), "dropout": ",".join(map(str, dropout)),
            "mode": "train" if train else "eval"}
    if full:
        meta.update({"bn_bias_shift": str(FULL_BN_BIAS_SHIFT), "loss_outputs": ",".join(loss_outputs),
                     "bn7_scale": str(FULL_WRN38_BN7_SCALE)})
        write_self_error(path, torch_self_error(model, images, wrn38_outputs, loss_outputs, seed))
    t = write_parity_fixture(path, model, {"images": images}, forward_with_state(wrn38_outputs), seed,
                             loss_outputs=loss_outputs, metadata=meta)
    report(path, t)


def report(path, tensors):
    size = os.path.getsize(path)
    grads = sum(1 for k in tensors if k.startswith("grad.param."))
    print(f"{path}: {size / 1024:.0f} KiB, {len(tensors)} tensors, {grads} parameter gradients")


def reduced(out):
    p = lambda name: os.path.join(out, name)  # noqa: E731
    # torchvision strides, batch statistics (running statistics updated)
    write_resnet(p("resnet_train.safetensors"), 4101, train=True)
    # output stride 8 by dilation (layer3, layer4), eval mode
    write_resnet(p("resnet_eval_os8.safetensors"), 4102, train=False, dilate=(False, True, True))
    # output stride 16 by dilation (layer4), train mode
    write_resnet(p("resnet_train_os16_dilated.safetensors"), 4103, train=True, dilate=(False, False, True))
    # CLIMS stage 1: IRNet strides (2,2,2,1) = per-stage 1,2,2,1; normal BN in train mode (bn1 included) while
    # conv1 + bn1 parameters are frozen; no fc
    write_resnet(p("resnet_clims_stage1.safetensors"), 4104, train=True, strides=(1, 2, 2, 1), num_classes=0,
                 freeze_stem=True)
    # IRNet / CLIMS stage 0: frozen BN (running statistics in train mode, affine trainable), stem frozen
    write_resnet(p("resnet_irnet_frozen_bn.safetensors"), 4105, train=True, strides=(1, 2, 2, 1), num_classes=0,
                 bn_mode="frozen", freeze_stem=True)
    # fixed BN (no gradient to BN affine), dilated OS 16, train mode
    write_resnet(p("resnet_fixed_bn_os16.safetensors"), 4106, train=True, dilate=(False, False, True),
                 bn_mode="fixed")
    # ResNet-38d: eval mode (dropout off), everything trainable
    write_wrn38(p("wrn38_eval.safetensors"), 4107, train=False, dropout=(0.3, 0.5))
    # ResNet-38d train mode as PSA trains it: fixed BN, conv1a frozen (dropout 0 so the forward is deterministic)
    write_wrn38(p("wrn38_train_fixed_bn.safetensors"), 4108, train=True, bn_mode="fixed", freeze_conv1a=True)


FULL_FIXTURES = {
    "resnet50_eval": lambda p: write_resnet(p, 4201, train=False, full=True, images_shape=(2, 3, 224, 224)),
    "resnet50_train": lambda p: write_resnet(p, 4202, train=True, full=True, images_shape=(2, 3, 224, 224)),
    "wrn38_full_eval": lambda p: write_wrn38(p, 4203, train=False, width=64, dropout=(0.3, 0.5),
                                             images_shape=(1, 3, 112, 112)),
}


def full(out, only=None):
    os.makedirs(out, exist_ok=True)
    for name, write in FULL_FIXTURES.items():
        if not only or name in only:
            t0 = time.time()
            write(os.path.join(out, name + ".safetensors"))
            print(f"  {name}: {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full", action="store_true", help="write the full-size fixtures (about 1.3 GB) instead")
    ap.add_argument("--out", default=None, help="output folder (default: this folder; --full needs it)")
    ap.add_argument("--only", nargs="*", choices=sorted(FULL_FIXTURES), help="with --full: just these fixtures")
    args = ap.parse_args()
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    if args.full:
        if not args.out:
            ap.error("--full needs --out DIR (e.g. build/full_parity)")
        full(args.out, args.only)
    else:
        reduced(args.out or os.path.dirname(os.path.abspath(__file__)))
