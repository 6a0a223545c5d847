"""gen_vit_classifier.py — the parity fixture of the "vit_classifier" method (models/vit_classifier_method.h; the
demo's pretraining stand-in), tested by tests/test_vit_classifier.cpp.

vit_classifier.safetensors: timm VisionTransformer (img 32, patch 8, D 32, depth 2, heads 2, num_classes C = 3, final
norm, class-token head) with seeded random weights, eval mode. Outputs: logits (B, C) and mlsm (PyTorch's
MultiLabelSoftMarginLoss of the logits against the labels); gradients of sum(logits * w) w.r.t. the images and every
parameter (parity_common.write_parity_fixture). localize.*: one 8-bit image of 37 x 45, normalized (ImageNet
mean/std), bilinearly resized (align_corners False) to 32 x 32, with its mirror; for each, the mean over heads of
the last block's attention of the class token to the 16 patches (timm's unfused attention, captured at attn_drop),
reshaped 4 x 4, bilinear to 37 x 45; the mirror's map flipped back and added; min-max normalized
((m - min) / (max - min + 1e-8)) and given to the present classes (0 and 2), zero for class 1.
Seed: SEED below. Run: python tests/reference/localize/gen_vit_classifier.py (torch, timm, numpy, safetensors).
"""
import importlib.util
import os

import numpy as np
import timm
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("parity_common", os.path.join(HERE, "..", "parity", "parity_common.py"))
parity_common = importlib.util.module_from_spec(spec)
spec.loader.exec_module(parity_common)

SEED = 0
C = 3
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def make_model():
    torch.manual_seed(SEED)
    model = timm.models.vision_transformer.VisionTransformer(
        img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2, num_classes=C)
    with torch.no_grad():  # a head with visible weights (timm initializes it to zero)
        gen = torch.Generator().manual_seed(SEED + 7)
        model.head.weight.copy_(0.2 * torch.randn(model.head.weight.shape, generator=gen))
        model.head.bias.copy_(0.1 * torch.randn(model.head.bias.shape, generator=gen))
    for block in model.blocks:
        block.attn.fused_attn = False  # so attn_drop sees the probabilities
    return model.eval()


def forward(model, images, labels):
    logits = model(images)
    return {"logits": logits, "mlsm": F.multilabel_soft_margin_loss(logits, labels)}


def class_token_map(model, x):
    """x (N, 3, 32, 32) -> (N, 1, 4, 4): mean over heads of the last block's class-token attention to the patches."""
    captured = []
    hook = model.blocks[-1].attn.attn_drop.register_forward_hook(lambda m, i, o: captured.append(o))
    with torch.no_grad():
        model(x)
    hook.remove()
    row = captured[0].mean(1)[:, 0, 1:]  # (N, 16)
    return row.reshape(-1, 1, 4, 4)


def localize(model, img, present):
    H, W = img.shape[:2]
    x = torch.from_numpy(((img.astype(np.float32) / 255.0 - MEAN) / STD).transpose(2, 0, 1).copy())
    batch = F.interpolate(torch.stack([x, x.flip(-1)]), (32, 32), mode="bilinear", align_corners=False)
    up = F.interpolate(class_token_map(model, batch), (H, W), mode="bilinear", align_corners=False)[:, 0]
    total = up[0] + up[1].flip(-1)
    total = (total - total.min()) / (total.max() - total.min() + 1e-8)
    maps = torch.zeros(C, H, W)
    for c in present:
        maps[c] = total
    return x, maps


def main():
    model = make_model()
    gen = torch.Generator().manual_seed(SEED)
    images = torch.randn(2, 3, 32, 32, generator=gen)
    labels = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    path = os.path.join(HERE, "vit_classifier.safetensors")
    parity_common.write_parity_fixture(path, model, {"images": images},
                                       lambda m, images: forward(m, images, labels), SEED, loss_outputs=["logits"])
    img = np.random.default_rng(SEED).integers(0, 256, size=(37, 45, 3), dtype=np.uint8)
    image, maps = localize(model, img, [0, 2])
    tensors = load_file(path)
    tensors["labels"] = labels
    tensors["localize.image"] = image
    tensors["localize.labels"] = torch.tensor([0, 2])
    tensors["localize.maps"] = maps.contiguous()
    save_file(tensors, path, metadata={"seed": str(SEED)})
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
