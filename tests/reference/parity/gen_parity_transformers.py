#!/usr/bin/env python3
"""gen_parity_transformers.py — model-parity fixtures (parity_common.py format) for the transformer backbones:
timm ViT / DeiT (models/vit.h) and OpenAI CLIP (models/clip.h), forward outputs INCLUDING every block's attention
probabilities, and gradients wrt the input images and every parameter of a weighted-sum loss over all outputs.

Nothing is downloaded: every model is built from a config with seeded random init (and randomized LayerNorm /
BatchNorm affines and statistics, so a wrongly loaded norm shows), eval mode, no dropout / drop-path.

Attention probabilities stay in the autograd graph: timm blocks run with attn.fused_attn = False and a forward
hook on attn.attn_drop (an identity at p = 0 in eval) takes the softmax output; OpenAI CLIP's
ResidualAttentionBlock.attention is replaced by the same nn.MultiheadAttention call with need_weights=True,
average_attn_weights=False (PyTorch's explicit softmax path), so output.attn.<i> is (B, H, T, T) per head.

Reduced fixtures (default; written next to this script, each well under 1 MB; tests/test_parity_transformers.cpp):
  vit.safetensors               timm VisionTransformer (image 32, patch 8, width 32, 3 blocks, 2 heads, 10 classes)
  deit_distilled.safetensors    timm VisionTransformerDistilled (inference output = mean of the two heads)
  mctformer.safetensors         MCTformer-style ViT written here from methods.md §2.1 with timm Blocks: C = 3 class
                                tokens, an additive attention mask (-inf on some token pairs, finite biases on
                                others) in every block, NO final norm; class logits = mean over D of the class tokens
  vit_resize_bicubic.safetensors    the vit config at input 44 x 60 (grid 5 x 7, remainders dropped), pos_embed
                                resized with timm resample_abs_pos_embed(bicubic, antialias=False)
  vit_resize_bilinear.safetensors   input 20 x 52 (grid 2 x 6: down in H, up in W), bilinear
  vit_resize_mctformer.safetensors  input 44 x 60, MCTformer's F.interpolate(scale_factor=((gh+.1)/g0,(gw+.1)/g0))
  vit_resize_mctformer_quirk.safetensors  input 32 x 36: grid 4 x 4 = the trained grid, but H != W, so MCTformer
                                still resamples (coordinates scaled by 4 / 4.1); the reference gradient is the true
                                adjoint (PyTorch's CPU bicubic backward copies the gradient when the sizes match; see
                                resize_mctformer)
  clip_text.safetensors         OpenAI CLIP (clip/model.py CLIP, reduced ViT image tower): text-tower attention
                                probabilities per block, text and image features, zero-shot logits and probs
  clip_visual_vit.safetensors   OpenAI CLIP VisionTransformer alone: features, tokens, attention probabilities
  clip_visual_rn.safetensors    OpenAI CLIP ModifiedResNet alone (BN in eval), attention-pool output

Full size (--full --out DIR; opt-in, about 2.5 GB of files, a few GB of RAM; tests/heavy/
test_parity_full_size_transformers.cpp reads DIR from $WSDOL_FULL_PARITY_DIR, default <source>/build/full_parity):
  full_vit_b16.safetensors      timm vit_base_patch16_224 (batch 1, 224)
  full_deit_s16.safetensors     timm deit_small_patch16_224 (batch 1, 224)
  full_clip_vit_b16.safetensors OpenAI CLIP ViT-B/16, both towers (3 tokenized prompts, vocab 49408, context 77;
                                batch 1 image)
  full_clip_rn50.safetensors    OpenAI CLIP RN50 image tower (ModifiedResNet (3,4,6,3), width 64, 224, batch 1)

Re-running reproduces every tensor exactly (checked); only the order of the metadata keys in the safetensors
header can change from run to run (the writer serializes them from a hash map).

Run:  python tests/reference/parity/gen_parity_transformers.py [--full --out DIR]
"""
import argparse
import importlib.util
import math
import os
import sys
import time
from functools import partial

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from parity_common import write_parity_fixture  # noqa: E402

SEED = 20261121
CLIP_DIR = "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/clip"


def load_by_path(name, path):
    # `import clip` fails on a missing pkg_resources; model.py and simple_tokenizer.py load on their own.
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


clipm = load_by_path("openai_clip_model", os.path.join(CLIP_DIR, "model.py"))


def perturb_norms(model, gen):
    """Random affine and running statistics for every LayerNorm/BatchNorm, so loading them wrong shows."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.LayerNorm, nn.BatchNorm2d)) and m.weight is not None:
                m.weight.copy_(1.0 + 0.2 * torch.randn(m.weight.shape, generator=gen))
                m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=gen))
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(0.2 * torch.randn(m.running_mean.shape, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=gen))
                m.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,), generator=gen)))


# ---------------------------------------------------------------------------------------------- timm ViTs

def capture_timm_probs(blocks):
    """Unfused attention in every timm block, and a list that each forward fills with the blocks' probabilities."""
    store = []
    for blk in blocks:
        blk.attn.fused_attn = False
        blk.attn.attn_drop.register_forward_hook(lambda m, i, o: store.append(o))
    return store


def randomize_tokens(model, gen, names):
    with torch.no_grad():
        for n in names:
            getattr(model, n).normal_(0, 0.2, generator=gen)


def timm_vit(gen, seed, depth=3, distilled=False, image=32, patch=8, width=32, heads=2, classes=10, **kw):
    from timm.models.vision_transformer import VisionTransformer
    from timm.models.deit import VisionTransformerDistilled
    torch.manual_seed(seed)
    cls = VisionTransformerDistilled if distilled else VisionTransformer
    model = cls(img_size=image, patch_size=patch, embed_dim=width, depth=depth, num_heads=heads,
                num_classes=classes, **kw).eval()
    perturb_norms(model, gen)
    randomize_tokens(model, gen, ("pos_embed", "cls_token") + (("dist_token",) if distilled else ()))
    return model


def vit_forward(model, images):
    store = capture_timm_probs(model.blocks)
    feats = model.forward_features(images)  # (B, T, D) after the final norm
    logits = model.forward_head(feats)      # distilled in eval: (head(x0) + head_dist(x1)) / 2
    out = {"logits": logits, "tokens": feats}
    out.update({f"attn.{i}": p for i, p in enumerate(store)})
    return out


def resize_exact(pos_embed, prefix, grid, mode):
    """timm resample_abs_pos_embed to an exact grid, align_corners False, antialias False."""
    from timm.layers import resample_abs_pos_embed
    g0 = int(math.isqrt(pos_embed.shape[1] - prefix))
    return resample_abs_pos_embed(pos_embed, new_size=list(grid), old_size=[g0, g0], num_prefix_tokens=prefix,
                                  interpolation=mode, antialias=False)


def resize_mctformer(pos_embed, prefix, grid, square_input):
    """MCTformer's interpolate_pos_encoding (methods.md §2.1, DINO's +0.1 trick), written from the spec: the patch
    part resized bicubically with scale_factor = ((gh + 0.1) / g0, (gw + 0.1) / g0); kept when the token count is
    unchanged and the input is square."""
    n0 = pos_embed.shape[1] - prefix
    gh, gw = grid
    if gh * gw == n0 and square_input:
        return pos_embed
    g0 = math.sqrt(n0)
    dim = pos_embed.shape[-1]
    patch = pos_embed[:, prefix:].reshape(1, int(g0), int(g0), dim).permute(0, 3, 1, 2)
    scale = ((gh + 0.1) / g0, (gw + 0.1) / g0)
    if (gh, gw) == (int(g0), int(g0)):
        # Same output size as input (a non-square input of the trained grid): PyTorch's CPU bicubic BACKWARD then
        # copies the gradient through unchanged, which is not the adjoint of its forward (that resamples with
        # coordinates scaled by g0 / (g + 0.1); torch.autograd.gradcheck fails). Apply the same forward as a linear
        # map instead: its matrix is F.interpolate of the one-hot basis, and autograd then gives the true adjoint.
        basis = torch.eye(n0, dtype=patch.dtype).reshape(n0, 1, int(g0), int(g0))
        matrix = F.interpolate(basis, scale_factor=scale, mode="bicubic").reshape(n0, gh * gw)  # (in, out)
        patch = (patch.reshape(1, dim, n0) @ matrix).reshape(1, dim, gh, gw)
    else:
        patch = F.interpolate(patch, scale_factor=scale, mode="bicubic")
    assert patch.shape[-2:] == (gh, gw), patch.shape
    patch = patch.permute(0, 2, 3, 1).reshape(1, -1, dim)
    return torch.cat([pos_embed[:, :prefix], patch], dim=1)


def vit_resized_forward(mode):
    """timm ViT semantics at another input size: patch conv (drops the remainder), [cls, patches] + resized pos_embed,
    blocks, norm, head on token 0."""
    def forward(model, images):
        store = capture_timm_probs(model.blocks)
        x = model.patch_embed.proj(images)  # (B, D, gh, gw)
        grid = x.shape[-2:]
        x = x.flatten(2).transpose(1, 2)
        x = torch.cat([model.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        if mode == "mctformer":
            pos = resize_mctformer(model.pos_embed, 1, grid, images.shape[2] == images.shape[3])
        else:
            pos = resize_exact(model.pos_embed, 1, grid, mode)
        x = x + pos
        for blk in model.blocks:
            x = blk(x)
        x = model.norm(x)
        out = {"logits": model.head(x[:, 0]), "tokens": x}
        out.update({f"attn.{i}": p for i, p in enumerate(store)})
        return out
    return forward


class MCTformerStyle(nn.Module):
    """MCTformer-V2's token path (methods.md §2.1) written from the spec with timm modules: C class tokens
    cls_token (1, C, D), pos_embed (1, C + N, D), timm Blocks given one additive mask, no final norm."""

    def __init__(self, num_classes, image, patch, width, depth, heads):
        super().__init__()
        from timm.layers import PatchEmbed
        from timm.models.vision_transformer import Block
        self.num_classes = num_classes
        self.patch_embed = PatchEmbed(img_size=image, patch_size=patch, in_chans=3, embed_dim=width)
        n = self.patch_embed.num_patches
        self.cls_token = nn.Parameter(0.2 * torch.randn(1, num_classes, width))
        self.pos_embed = nn.Parameter(0.2 * torch.randn(1, num_classes + n, width))
        self.blocks = nn.ModuleList([Block(width, heads, qkv_bias=True, norm_layer=partial(nn.LayerNorm, eps=1e-6))
                                     for _ in range(depth)])

    def forward(self, images, mask):
        store = capture_timm_probs(self.blocks)
        x = self.patch_embed(images)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        for blk in self.blocks:
            x = blk(x, attn_mask=mask)
        out = {"class_logits": x[:, :self.num_classes].mean(-1), "tokens": x}
        out.update({f"attn.{i}": p for i, p in enumerate(store)})
        return out


def mctformer_mask(num_classes, n, gen):
    """(T, T) additive mask: -inf between different class tokens (each class token sees itself and the patches),
    -inf on a random 20% of off-diagonal patch pairs, finite N(0, 1) biases on the rest of the patch pairs."""
    t = num_classes + n
    mask = torch.zeros(t, t)
    mask[:num_classes, :num_classes] = float("-inf")
    mask[range(num_classes), range(num_classes)] = 0.0
    patch = torch.randn(n, n, generator=gen)
    blocked = torch.rand(n, n, generator=gen) < 0.2
    blocked.fill_diagonal_(False)
    patch[blocked] = float("-inf")
    mask[num_classes:, num_classes:] = patch
    return mask


# ---------------------------------------------------------------------------------------------- OpenAI CLIP

def capture_clip_probs(transformer):
    """Per-head probabilities of every ResidualAttentionBlock, through nn.MultiheadAttention's explicit path."""
    store = []
    for blk in transformer.resblocks:
        def attention(x, blk=blk):
            mask = blk.attn_mask.to(dtype=x.dtype, device=x.device) if blk.attn_mask is not None else None
            y, w = blk.attn(x, x, x, need_weights=True, average_attn_weights=False, attn_mask=mask)
            store.append(w)  # (N, H, L, L)
            return y
        blk.attention = attention
    return store


def clip_text_ids(gen, context, vocab, lengths):
    eot = vocab - 1  # the largest id, so argmax finds it, as the real 49407
    rows = []
    for length in lengths:
        content = torch.randint(1, eot, (length - 1,), generator=gen).tolist()
        rows.append(content + [eot] + [0] * (context - length))
    return torch.tensor(rows, dtype=torch.int64)


def clip_forward(model, images, text):
    text_store = capture_clip_probs(model.transformer)
    image_store = capture_clip_probs(model.visual.transformer) if hasattr(model.visual, "transformer") else []
    img = model.encode_image(images)
    txt = model.encode_text(text)
    img_n = img / img.norm(dim=1, keepdim=True)
    txt_n = txt / txt.norm(dim=1, keepdim=True)
    logits = model.logit_scale.exp() * img_n @ txt_n.t()  # CLIP.forward's logits_per_image
    out = {"image_features": img, "text_features": txt, "logits": logits, "probs": logits.softmax(dim=-1)}
    out.update({f"text_attn.{i}": p for i, p in enumerate(text_store)})
    out.update({f"image_attn.{i}": p for i, p in enumerate(image_store)})
    return out


def clip_visual_vit_forward(model, images):
    store = capture_clip_probs(model.transformer)
    tokens = []
    handle = model.transformer.register_forward_hook(lambda m, i, o: tokens.append(o.permute(1, 0, 2)))
    feats = model(images)
    handle.remove()
    out = {"features": feats, "tokens": tokens[0]}
    out.update({f"attn.{i}": p for i, p in enumerate(store)})
    return out


def clip_visual_rn_forward(model, images):
    return {"features": model(images)}


# ---------------------------------------------------------------------------------------------- the fixtures

def reduced(out_dir):
    gen = torch.Generator().manual_seed(SEED)
    paths = []

    def write(name, model, inputs, forward, seed, **meta):
        path = os.path.join(out_dir, name)
        paths.append(path)
        return write_parity_fixture(path, model, inputs, forward, seed, metadata={k: str(v) for k, v in meta.items()})

    m = timm_vit(gen, SEED + 1, depth=3)
    write("vit.safetensors", m, {"images": torch.randn(2, 3, 32, 32, generator=gen)}, vit_forward, SEED + 1,
          arch="timm VisionTransformer image 32 patch 8 width 32 depth 3 heads 2 classes 10")

    m = timm_vit(gen, SEED + 2, depth=2, distilled=True)
    write("deit_distilled.safetensors", m, {"images": torch.randn(2, 3, 32, 32, generator=gen)}, vit_forward,
          SEED + 2, arch="timm VisionTransformerDistilled image 32 patch 8 width 32 depth 2 heads 2 classes 10")

    torch.manual_seed(SEED + 3)
    m = MCTformerStyle(num_classes=3, image=32, patch=8, width=32, depth=2, heads=2).eval()
    perturb_norms(m, gen)
    mask = mctformer_mask(3, 16, gen)
    write("mctformer.safetensors", m, {"images": torch.randn(2, 3, 32, 32, generator=gen), "mask": mask},
          lambda model, images, mask: model(images, mask), SEED + 3,
          arch="MCTformer-style: 3 class tokens, additive (T, T) mask, no final norm; image 32 patch 8 width 32 "
                "depth 2 heads 2")

    for name, mode, size, seed in (("vit_resize_bicubic", "bicubic", (44, 60), SEED + 4),
                                   ("vit_resize_bilinear", "bilinear", (20, 52), SEED + 5),
                                   ("vit_resize_mctformer", "mctformer", (44, 60), SEED + 6),
                                   ("vit_resize_mctformer_quirk", "mctformer", (32, 36), SEED + 7)):
        m = timm_vit(gen, seed, depth=2)
        write(f"{name}.safetensors", m, {"images": torch.randn(2, 3, *size, generator=gen)}, vit_resized_forward(mode),
              seed, arch=f"timm VisionTransformer trained at 32 (grid 4), input {size[0]} x {size[1]}, pos_embed {mode}")

    # OpenAI CLIP, reduced as tests/reference/models/gen_model_checkpoints.py: heads of width 16.
    torch.manual_seed(SEED + 8)
    text_cfg = dict(context_length=8, vocab_size=64, transformer_width=32, transformer_heads=2, transformer_layers=2)
    m = clipm.CLIP(embed_dim=24, image_resolution=32, vision_layers=2, vision_width=64, vision_patch_size=8, **text_cfg)
    m.visual = clipm.VisionTransformer(input_resolution=32, patch_size=8, width=32, layers=2, heads=2, output_dim=24)
    m.initialize_parameters()
    perturb_norms(m, gen)
    m = m.eval()
    with torch.no_grad():
        m.logit_scale.fill_(math.log(20.0))  # a moderate scale, so the zero-shot softmax is not saturated
    write("clip_text.safetensors", m, {"images": torch.randn(2, 3, 32, 32, generator=gen),
                                       "text": clip_text_ids(gen, 8, 64, (3, 5, 8))}, clip_forward, SEED + 8,
          arch="OpenAI CLIP, vision ViT 32x2 (2 heads, patch 8, image 32), text 32x2 (2 heads, context 8, vocab 64), "
                "embed 24")

    torch.manual_seed(SEED + 9)
    m = clipm.VisionTransformer(input_resolution=32, patch_size=8, width=32, layers=2, heads=2, output_dim=24).eval()
    perturb_norms(m, gen)
    write("clip_visual_vit.safetensors", m, {"images": torch.randn(2, 3, 32, 32, generator=gen)},
          clip_visual_vit_forward, SEED + 9, arch="OpenAI CLIP VisionTransformer 32x2 (2 heads, patch 8, image 32)")

    # Width 2 keeps the file small; with so few channels a ReLU branch can be dead for a draw, so this tower has its
    # own seed (chosen so that every parameter gets a gradient) and the check below holds the file to it.
    torch.manual_seed(SEED + 13)
    rn_gen = torch.Generator().manual_seed(SEED + 13)
    m = clipm.ModifiedResNet(layers=(1, 2, 1, 1), output_dim=24, heads=4, input_resolution=64, width=2).eval()
    perturb_norms(m, rn_gen)
    t = write("clip_visual_rn.safetensors", m, {"images": torch.randn(2, 3, 64, 64, generator=rn_gen)},
              clip_visual_rn_forward, SEED + 13,
              arch="OpenAI CLIP ModifiedResNet (1,2,1,1) width 2, attnpool 64 channels 4 heads, image 64")
    dead = [k for k, v in t.items() if k.startswith("grad.") and not v.abs().max() > 0]
    assert not dead, f"clip_visual_rn: parameters without gradient (dead ReLU branch): {dead}"
    return paths


def full(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    gen = torch.Generator().manual_seed(SEED)
    paths = []

    def write(name, model, inputs, forward, seed, **meta):
        t0 = time.time()
        path = os.path.join(out_dir, name)
        write_parity_fixture(path, model, inputs, forward, seed, metadata={k: str(v) for k, v in meta.items()})
        paths.append(path)
        print(f"  {name}: {time.time() - t0:.1f} s", flush=True)

    import timm
    torch.manual_seed(SEED + 101)
    m = timm.create_model("vit_base_patch16_224", pretrained=False).eval()
    perturb_norms(m, gen)
    randomize_tokens(m, gen, ("pos_embed", "cls_token"))
    write("full_vit_b16.safetensors", m, {"images": torch.randn(1, 3, 224, 224, generator=gen)}, vit_forward,
          SEED + 101, arch="timm vit_base_patch16_224")
    del m

    torch.manual_seed(SEED + 102)
    m = timm.create_model("deit_small_patch16_224", pretrained=False).eval()
    perturb_norms(m, gen)
    randomize_tokens(m, gen, ("pos_embed", "cls_token"))
    write("full_deit_s16.safetensors", m, {"images": torch.randn(1, 3, 224, 224, generator=gen)}, vit_forward,
          SEED + 102, arch="timm deit_small_patch16_224")
    del m

    tok = load_by_path("openai_clip_tokenizer", os.path.join(CLIP_DIR, "simple_tokenizer.py")).SimpleTokenizer()
    prompts = ["a photo of a cat.", "a photo of a dog on the grass.", "an aeroplane in the sky"]
    text = torch.zeros(len(prompts), 77, dtype=torch.int64)
    for i, p in enumerate(prompts):
        ids = [tok.encoder["<|startoftext|>"]] + tok.encode(p) + [tok.encoder["<|endoftext|>"]]
        text[i, :len(ids)] = torch.tensor(ids)
    torch.manual_seed(SEED + 103)
    m = clipm.CLIP(512, 224, 12, 768, 16, 77, 49408, 512, 8, 12).eval()
    perturb_norms(m, gen)
    write("full_clip_vit_b16.safetensors", m, {"images": torch.randn(1, 3, 224, 224, generator=gen), "text": text},
          clip_forward, SEED + 103, arch="OpenAI CLIP ViT-B/16", prompts=" | ".join(prompts))
    del m

    torch.manual_seed(SEED + 104)
    m = clipm.ModifiedResNet(layers=(3, 4, 6, 3), output_dim=1024, heads=32, input_resolution=224, width=64).eval()
    perturb_norms(m, gen)
    write("full_clip_rn50.safetensors", m, {"images": torch.randn(1, 3, 224, 224, generator=gen)},
          clip_visual_rn_forward, SEED + 104, arch="OpenAI CLIP RN50 image tower (ModifiedResNet)")
    return paths


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full", action="store_true", help="write the full-size fixtures (to --out)")
    ap.add_argument("--out", default=None, help="output directory (default: next to this script; required with --full)")
    args = ap.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    if args.full:
        if not args.out:
            ap.error("--full needs --out DIR")
        paths = full(args.out)
    else:
        paths = reduced(args.out or HERE)
    for p in paths:
        print(f"  {os.path.basename(p):40s} {os.path.getsize(p):13,d} bytes")


if __name__ == "__main__":
    main()
