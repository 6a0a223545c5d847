"""gen_clip_loss.py — PyTorch references for models/clip_training (the CLIP contrastive loss), in the shared
parity-fixture format (tests/reference/parity/parity_common.py).

  clip_loss.safetensors       the loss alone: inputs image_features (6, 8), text_features (6, 8) (unnormalised),
                              parameter logit_scale () = ln(1/0.07) + 0.3; outputs logits_per_image (6, 6) and
                              loss (), the loss weighted into the fixture loss; gradients wrt both inputs and
                              logit_scale.
  clip_model_loss.safetensors a tiny OpenAI CLIP (clip/model.py: embed 16, ViT 32x2 on 16 px, patch 4, text 32x2,
                              context 12, vocab 100, 1 head each) with perturbed LayerNorms, images (4, 3, 16, 16)
                              and token rows (sot 98, random ids, eot 99, zero padding): outputs logits_per_image and
                              the loss; gradients wrt the images and every parameter (the whole training step's
                              backward).
The loss is open_clip's ClipLoss (open_clip/loss.py, world_size 1) on clip/model.py's normalisation
x / x.norm(dim=1, keepdim=True) and logit_scale.exp().

Run:  python tests/reference/clip_training/gen_clip_loss.py   (torch, open_clip, safetensors; seed below)
"""
import importlib.util
import math
import os
import sys

import torch
import torch.nn as nn
from open_clip.loss import ClipLoss

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "parity"))
from parity_common import write_parity_fixture  # noqa: E402

SEED = 20261121
CLIP_MODEL_PY = "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/clip/model.py"


def load_clip_model_module():
    # `import clip` fails on a missing pkg_resources; model.py itself only needs torch and numpy.
    spec = importlib.util.spec_from_file_location("openai_clip_model", CLIP_MODEL_PY)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def normalized(x):
    return x / x.norm(dim=1, keepdim=True)  # clip/model.py (no epsilon)


class LossOnly(nn.Module):
    def __init__(self):
        super().__init__()
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07) + 0.3))


def loss_forward(model, image_features, text_features):
    img, txt = normalized(image_features), normalized(text_features)
    scale = model.logit_scale.exp()
    loss = ClipLoss()(img, txt, scale)
    return {"logits_per_image": scale * img @ txt.T, "loss": loss}


def model_forward(model, images, text):
    img = normalized(model.encode_image(images))
    txt = normalized(model.encode_text(text))
    scale = model.logit_scale.exp()
    return {"logits_per_image": scale * img @ txt.T, "loss": ClipLoss()(img, txt, scale)}


def main():
    gen = torch.Generator().manual_seed(SEED)
    # ---- the loss alone
    torch.manual_seed(SEED)
    inputs = {"image_features": torch.randn(6, 8, generator=gen), "text_features": torch.randn(6, 8, generator=gen)}
    write_parity_fixture(os.path.join(HERE, "clip_loss.safetensors"), LossOnly(), inputs, loss_forward, SEED,
                         loss_outputs=["loss"], metadata={"generator": "gen_clip_loss.py"})

    # ---- a tiny OpenAI CLIP through the loss
    clipm = load_clip_model_module()
    torch.manual_seed(SEED + 1)
    # CLIP(embed_dim, image_resolution, vision_layers, vision_width, vision_patch_size, context_length, vocab_size,
    #      transformer_width, transformer_heads, transformer_layers). CLIP gives its ViT width // 64 heads, so the
    # 32-wide tower (1 head, to keep the fixture small) is built with clip/model.py's own VisionTransformer.
    model = clipm.CLIP(16, 16, 2, 64, 4, 12, 100, 32, 1, 2).float()
    model.visual = clipm.VisionTransformer(input_resolution=16, patch_size=4, width=32, layers=2, heads=1,
                                           output_dim=16)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.copy_(1.0 + 0.2 * torch.randn(m.weight.shape, generator=gen))
                m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=gen))
        model.logit_scale.fill_(math.log(1 / 0.07) - 0.5)
    B, L = 4, 12
    text = torch.zeros(B, L, dtype=torch.int64)
    for i in range(B):
        n = 3 + 2 * i  # ids between sot and eot
        text[i, 0] = 98
        text[i, 1:1 + n] = torch.randint(1, 98, (n,), generator=gen)
        text[i, 1 + n] = 99
    inputs = {"images": torch.randn(B, 3, 16, 16, generator=gen), "text": text}
    write_parity_fixture(os.path.join(HERE, "clip_model_loss.safetensors"), model, inputs, model_forward, SEED + 2,
                         loss_outputs=["loss"], metadata={"generator": "gen_clip_loss.py"})
    for name in ("clip_loss.safetensors", "clip_model_loss.safetensors"):
        print(f"{name}: {os.path.getsize(os.path.join(HERE, name)):,d} bytes")


if __name__ == "__main__":
    main()
