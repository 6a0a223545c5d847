"""gen_cam.py — parity fixtures for the CAM baselines (models/cam.h, models/cam_method.h; tests/test_cam.cpp).

Reduced networks with seeded random weights, written with tests/reference/parity/parity_common.py:
  cam_resnet.safetensors  IRNet resnet50_cam.Net on a reduced torchvision ResNet (width 2, one block per stage),
                          IRNet strides (conv1 2, layer1 1, layer2 2, layer3 2, layer4 1 -> output stride 16), every
                          BatchNorm fixed (eval statistics, perturbed), conv1 + bn1 frozen, 1x1 classifier without
                          bias (C = 3) on gap2d(layer4). Outputs: logits (B, C), cams = conv(layer4, W) (B, C, h, w),
                          mlsm (the MultiLabelSoftMarginLoss, forward only); gradients of sum(logits*w1 + cams*w2).
                          localize.*: IRNet make_cam high-res maps of one 8-bit image (scales 1.0, 0.5, 1.5, 2.0 with
                          PIL bicubic np.round sizes, flip, strided-up 16 upsampling + crop, GT classes, / (max+1e-5)).
  cam_vit.safetensors     timm VisionTransformer (img 32, patch 8, D 32, depth 2, heads 2, no head) whose final-norm
                          patch tokens (B, D, 4, 4) go through the same 1x1 classifier; same outputs. localize.*: the
                          image bilinearly resized (align_corners False) to 32, ReLU CAM of it and of its flip, flipped
                          back, upsampled to H x W, summed, GT classes, / (max + 1e-5).
Seeds: SEED below. Run: python tests/reference/localize/gen_cam.py (torch, torchvision, timm, Pillow, safetensors).
"""
import importlib.util
import os

import numpy as np
import timm
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file, save_file
from torchvision.models.resnet import Bottleneck, ResNet

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("parity_common", os.path.join(HERE, "..", "parity", "parity_common.py"))
parity_common = importlib.util.module_from_spec(spec)
spec.loader.exec_module(parity_common)

SEED = 0
C = 3
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


class ReducedIrnResNet(ResNet):
    """torchvision ResNet (Bottleneck v1.5) with stem width `width` and IRNet's strides, no fc."""

    def __init__(self, width, layers):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes = width
        self.dilation = 1
        self.groups = 1
        self.base_width = 64
        self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(Bottleneck, width, layers[0], stride=1)
        self.layer2 = self._make_layer(Bottleneck, width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(Bottleneck, width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(Bottleneck, width * 8, layers[3], stride=1)

    def features(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class CamResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.resnet50 = ReducedIrnResNet(2, (1, 1, 1, 1))
        self.classifier = nn.Conv2d(64, C, 1, bias=False)
        for p in list(self.resnet50.conv1.parameters()) + list(self.resnet50.bn1.parameters()):
            p.requires_grad = False

    def features(self, x):
        return self.resnet50.features(x)


class CamViT(nn.Module):
    def __init__(self):
        super().__init__()
        self.vit = timm.models.vision_transformer.VisionTransformer(
            img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2, num_classes=0)
        self.classifier = nn.Conv2d(32, C, 1, bias=False)

    def features(self, x):
        t = self.vit.forward_features(x)[:, 1:]  # (B, 16, D) after the final norm
        B, N, D = t.shape
        g = int(round(N ** 0.5))
        return t.transpose(1, 2).reshape(B, D, g, g)


def forward(model, images, labels):
    f = model.features(images)
    logits = model.classifier(torchutils_gap2d(f)).view(-1, C)
    cams = F.conv2d(f, model.classifier.weight)
    mlsm = F.multilabel_soft_margin_loss(logits, labels)
    return {"logits": logits, "cams": cams, "mlsm": mlsm}


def torchutils_gap2d(x):
    return torch.mean(x.view(x.size(0), x.size(1), -1), -1).view(x.size(0), x.size(1), 1, 1)


def normalize(img_u8):
    return torch.from_numpy(((img_u8.astype(np.float32) / 255.0 - MEAN) / STD).transpose(2, 0, 1).copy())


def pil_rescale(img, scale):
    h, w = img.shape[:2]
    size = (int(np.round(h * scale)), int(np.round(w * scale)))
    return np.asarray(Image.fromarray(img).resize(size[::-1], Image.BICUBIC))


def irn_make_cam(model, img, valid):
    H, W = img.shape[:2]
    up = (16 * -(-H // 16), 16 * -(-W // 16))
    outs = []
    with torch.no_grad():
        for s in (1.0, 0.5, 1.5, 2.0):
            x = normalize(img if s == 1.0 else pil_rescale(img, s))
            x = torch.stack([x, x.flip(-1)])
            c = F.relu(F.conv2d(model.features(x), model.classifier.weight))
            outs.append(c[0] + c[1].flip(-1))
        hr = torch.sum(torch.stack([F.interpolate(o.unsqueeze(1), up, mode="bilinear", align_corners=False)
                                    for o in outs]), 0)[:, 0, :H, :W]
    out = torch.zeros_like(hr)
    v = hr[valid]
    out[valid] = v / (F.adaptive_max_pool2d(v, (1, 1)) + 1e-5)
    return out


def vit_cam(model, img, valid):
    H, W = img.shape[:2]
    with torch.no_grad():
        x = normalize(img)
        x = torch.stack([x, x.flip(-1)])
        x = F.interpolate(x, (32, 32), mode="bilinear", align_corners=False)
        c = F.relu(F.conv2d(model.features(x), model.classifier.weight))
        up = F.interpolate(c, (H, W), mode="bilinear", align_corners=False)
        total = up[0] + up[1].flip(-1)
    out = torch.zeros_like(total)
    v = total[valid]
    out[valid] = v / (F.adaptive_max_pool2d(v, (1, 1)) + 1e-5)
    return out


def perturb_bn(model, gen):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(0.1 * torch.randn(m.num_features, generator=gen))
            m.running_var.copy_(0.5 + torch.rand(m.num_features, generator=gen))
            m.weight.data.copy_(1 + 0.1 * torch.randn(m.num_features, generator=gen))
            m.bias.data.copy_(0.1 * torch.randn(m.num_features, generator=gen))


def write(name, model, size, gen, make_maps):
    model.eval()  # ResNet: FixedBatchNorm everywhere; ViT: no dropout
    images = torch.randn(2, 3, size, size, generator=gen)
    labels = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    path = os.path.join(HERE, name)
    parity_common.write_parity_fixture(path, model, {"images": images},
                                       lambda m, images: forward(m, images, labels), SEED,
                                       loss_outputs=["logits", "cams"])
    rng = np.random.default_rng(SEED)
    img = rng.integers(0, 256, size=(37, 45, 3), dtype=np.uint8)
    valid = torch.tensor([0, 2])
    maps = make_maps(model, img, valid)
    tensors = load_file(path)
    tensors["labels"] = labels
    tensors["localize.image_u8"] = torch.from_numpy(img.copy())
    tensors["localize.image"] = normalize(img)
    tensors["localize.labels"] = valid
    tensors["localize.maps"] = maps.contiguous()
    save_file(tensors, path, metadata={"seed": str(SEED)})
    print("wrote", path, os.path.getsize(path), "bytes")


def main():
    gen = torch.Generator().manual_seed(SEED)
    torch.manual_seed(SEED)
    resnet = CamResNet()
    with torch.no_grad():
        perturb_bn(resnet, gen)
    write("cam_resnet.safetensors", resnet, 64, gen, irn_make_cam)
    torch.manual_seed(SEED + 1)
    vit = CamViT()
    write("cam_vit.safetensors", vit, 32, gen, vit_cam)


if __name__ == "__main__":
    main()
