#!/usr/bin/env python3
"""gen_model_checkpoints.py — reduced-size checkpoints with the REAL parameter names of each backbone family,
written in the real file formats, plus forward-output companions, for tests/test_models_*.cpp.

Nothing is downloaded: every model is built from a config with random init (seeded), never from pretrained
weights. Sizes are reduced (widths 32, depth 2, patch 8, image 32 ...) so each file stays well under 1 MB; the
names, the shapes' structure and the dtypes are those of the real releases (formats.md §2, §3).

Outputs (next to this script):
  full_size_keys.txt              names, dtypes and shapes of the FULL-SIZE state_dicts (built on the meta device,
                                  no memory): CLIP ViT-B/16, ViT-B/32, RN50 (openai clip/model.py), HF CLIPModel
                                  ViT-B/16, timm vit_base_patch16_clip_224, DeiT-S/B (+ distilled), torchvision
                                  ResNet-50. The oracle for detect_architecture and the §3.9 counts.
  clip_vit.safetensors            OpenAI CLIP ViT (clip/model.py CLIP), f32
  clip_vit.pth                    the same state_dict, torch.save zip
  clip_vit_fp16.safetensors       the same model after clip's convert_weights (fp16 Linear/Conv/MHA/proj, the rest
                                  f32: the mixed precision of the OpenAI release)
  clip_vit_fp16.pt                TorchScript archive of that model (torch.jit.trace, as OpenAI's release), with the
                                  input_resolution / context_length / vocab_size scalar buffers the release carries
  clip_vit_forward.safetensors    images, text ids, and the f32 model's image/text features and logits
  clip_rn.safetensors / _fp16.safetensors / _fp16.pt / _forward.safetensors   the same for OpenAI CLIP
                                  ModifiedResNet (no .pth: size)
  hf_clip.safetensors             HF transformers CLIPModel (tiny CLIPConfig), plus the two int64 position_ids
                                  buffers older saved files carry
  hf_clip.pth                     the same, torch.save zip
  hf_clip_forward.safetensors     images, ids, HF's normalized image_embeds / text_embeds and logits_per_image
  timm_clip.safetensors           timm VisionTransformer in the CLIP-tower configuration (pre_norm, no patch bias,
                                  LayerNorm eps 1e-5, QuickGELU, head = projection with zero bias)
  timm_clip_forward.safetensors   images and the timm model's output (= OpenAI visual(x))
  deit.safetensors                timm VisionTransformer (DeiT layout), state_dict
  deit.pth                        DeiT release style: torch.save({'model': state_dict}) zip
  deit_forward.safetensors        images and logits
  deit_distilled.safetensors / .pth ({'model': ...}) / _forward.safetensors   timm VisionTransformerDistilled
  resnet.safetensors / .pth       torchvision ResNet (Bottleneck v1.5, torchvision's own Bottleneck and forward;
                                  base width 4 instead of 64 so the file is small), with num_batches_tracked
  resnet_legacy.pth               legacy pickle stream (_use_new_zipfile_serialization=False) WITHOUT the
                                  num_batches_tracked counters, like the 2017 torchvision files
  resnet_forward.safetensors      images and eval-mode logits

Re-running reproduces every tensor value (seeded) and every file byte for byte except resnet_legacy.pth, whose
legacy storage keys are object ids chosen by torch at save time (the tensors are the same).

Run:  python tests/reference/models/gen_model_checkpoints.py   (torch, timm, transformers, torchvision, safetensors)
"""
import copy
import importlib.util
import math
import os
from collections import OrderedDict
from functools import partial

import torch
import torch.nn as nn
from safetensors.torch import save_file

SEED = 20261123
HERE = os.path.dirname(os.path.abspath(__file__))
CLIP_MODEL_PY = "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/clip/model.py"


def load_clip_model_module():
    # `import clip` fails on a missing pkg_resources; model.py itself only needs torch and numpy.
    spec = importlib.util.spec_from_file_location("openai_clip_model", CLIP_MODEL_PY)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


clipm = load_clip_model_module()


def out(name):
    return os.path.join(HERE, name)


def contiguous_sd(sd):
    return OrderedDict((k, v.detach().clone().contiguous()) for k, v in sd.items())


def perturb_norms(model, gen):
    """Random affine and running statistics for every LayerNorm/BatchNorm, so loading them wrong shows."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.LayerNorm, nn.BatchNorm2d)):
                if m.weight is not None:
                    m.weight.copy_(1.0 + 0.2 * torch.randn(m.weight.shape, generator=gen))
                    m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=gen))
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(0.2 * torch.randn(m.running_mean.shape, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=gen))
                m.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,), generator=gen)))


def size_report(paths):
    for p in paths:
        print(f"  {os.path.basename(p):32s} {os.path.getsize(p):9,d} bytes")


# ---------------------------------------------------------------------------------------------- full-size lists

def full_size_keys():
    from transformers import CLIPConfig, CLIPModel
    import timm
    import torchvision

    lists = OrderedDict()
    with torch.device("meta"):
        # clip.model.CLIP(embed_dim, image_resolution, vision_layers, vision_width, vision_patch_size,
        #                 context_length, vocab_size, transformer_width, transformer_heads, transformer_layers)
        lists["openai_clip_vit_b16"] = clipm.CLIP(512, 224, 12, 768, 16, 77, 49408, 512, 8, 12).state_dict()
        lists["openai_clip_vit_b32"] = clipm.CLIP(512, 224, 12, 768, 32, 77, 49408, 512, 8, 12).state_dict()
        lists["openai_clip_rn50"] = clipm.CLIP(1024, 224, (3, 4, 6, 3), 64, None, 77, 49408, 512, 8, 12).state_dict()
        hf = CLIPModel(CLIPConfig(
            text_config=dict(hidden_size=512, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=8,
                             max_position_embeddings=77, vocab_size=49408, hidden_act="quick_gelu"),
            vision_config=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                               image_size=224, patch_size=16, hidden_act="quick_gelu"),
            projection_dim=512))
        lists["hf_clip_vit_b16"] = hf.state_dict()
        lists["timm_vit_base_patch16_clip_224"] = timm.create_model(
            "vit_base_patch16_clip_224", pretrained=False, num_classes=512).state_dict()
        lists["timm_deit_small"] = timm.create_model("deit_small_patch16_224", pretrained=False).state_dict()
        lists["timm_deit_small_distilled"] = timm.create_model(
            "deit_small_distilled_patch16_224", pretrained=False).state_dict()
        lists["timm_deit_base"] = timm.create_model("deit_base_patch16_224", pretrained=False).state_dict()
        lists["timm_deit_base_distilled"] = timm.create_model(
            "deit_base_distilled_patch16_224", pretrained=False).state_dict()
        lists["torchvision_resnet50"] = torchvision.models.resnet50().state_dict()
    dtype_names = {torch.float32: "F32", torch.int64: "I64", torch.float16: "F16"}
    with open(out("full_size_keys.txt"), "w") as f:
        f.write("# Full-size state_dict names, dtypes and shapes, written by gen_model_checkpoints.py from the\n"
                "# reference implementations built on the meta device (no weights). One section per model:\n"
                "# '## <label> <key count>' then '<name> <dtype> <d0,d1,...>' ('-' for a 0-dim scalar).\n")
        for label, sd in lists.items():
            f.write(f"## {label} {len(sd)}\n")
            for k, v in sd.items():
                dims = ",".join(str(d) for d in v.shape) if v.dim() else "-"
                f.write(f"{k} {dtype_names[v.dtype]} {dims}\n")
    for label, sd in lists.items():
        n = sum(v.numel() for k, v in sd.items()
                if v.dtype.is_floating_point and not k.endswith(("running_mean", "running_var")))
        print(f"  {label:34s} {len(sd):4d} keys, {n:,d} parameters")


# ---------------------------------------------------------------------------------------------- OpenAI CLIP

# Reduced OpenAI CLIP sizes. Heads use a head width of 16 (OpenAI's build_model assumes 64).
CLIP_TEXT = dict(context_length=8, vocab_size=64, transformer_width=32, transformer_heads=2, transformer_layers=2)
CLIP_EOT = 63  # the largest id, so argmax(ids) finds it, as with the real 49407


def clip_text_ids(gen):
    # three rows: sot-like token, content, eot, zero padding; one row fills the context completely
    rows = []
    for length in (3, 5, 8):
        content = torch.randint(1, CLIP_EOT, (length - 1,), generator=gen).tolist()
        rows.append(content + [CLIP_EOT] + [0] * (8 - length))
    return torch.tensor(rows, dtype=torch.int64)


def clip_vit_model(gen):
    torch.manual_seed(SEED)
    # clip.model.CLIP fixes vision heads = width // 64 (0 for width 32): build it with width 64, then replace the
    # tower by the reduced one with 2 heads of width 16
    model = clipm.CLIP(embed_dim=24, image_resolution=32, vision_layers=2, vision_width=64, vision_patch_size=8,
                       **CLIP_TEXT)
    model.visual = clipm.VisionTransformer(input_resolution=32, patch_size=8, width=32, layers=2, heads=2,
                                           output_dim=24)
    model.initialize_parameters()
    perturb_norms(model, gen)
    with torch.no_grad():
        model.logit_scale.fill_(math.log(100.0))
    return model.eval()


def clip_rn_model(gen):
    torch.manual_seed(SEED + 1)
    model = clipm.CLIP(embed_dim=24, image_resolution=64, vision_layers=(1, 2, 1, 1), vision_width=4,
                       vision_patch_size=None, **CLIP_TEXT)
    # attnpool over 4 * 32 = 128 channels with head width 16 -> 8 heads (clip.model.CLIP would give 2 of 64)
    model.visual = clipm.ModifiedResNet(layers=(1, 2, 1, 1), output_dim=24, heads=8, input_resolution=64, width=4)
    model.initialize_parameters()
    perturb_norms(model, gen)
    return model.eval()


def write_clip(tag, model, image_size, gen, write_pth):
    sd = contiguous_sd(model.state_dict())
    paths = [out(f"{tag}.safetensors")]
    save_file(sd, paths[0])
    if write_pth:
        paths.append(out(f"{tag}.pth"))
        torch.save(sd, paths[-1])

    images = torch.randn(2, 3, image_size, image_size, generator=gen)
    ids = clip_text_ids(gen)
    with torch.no_grad():
        img = model.encode_image(images)
        txt = model.encode_text(ids)
        logits_per_image, _ = model(images, ids)
    fwd = {"images": images, "text": ids, "image_features": img, "text_features": txt,
           "logits_per_image": logits_per_image}
    paths.append(out(f"{tag}_forward.safetensors"))
    save_file({k: v.contiguous() for k, v in fwd.items()}, paths[-1])

    # The release's mixed precision: clip.model.convert_weights on the same values.
    half = copy.deepcopy(model)
    clipm.convert_weights(half)
    hsd = contiguous_sd(half.state_dict())
    paths.append(out(f"{tag}_fp16.safetensors"))
    save_file(hsd, paths[-1])

    # TorchScript archive, as the OpenAI release: trace in f32, then store the convert_weights dtypes in the
    # traced module (the file's storages then say HalfStorage for exactly those tensors), plus the three scalar
    # buffers the release carries.
    model_for_trace = copy.deepcopy(model)
    del model_for_trace.context_length, model_for_trace.vocab_size  # plain ints in clip/model.py
    model_for_trace.register_buffer("input_resolution", torch.tensor(image_size))
    model_for_trace.register_buffer("context_length", torch.tensor(CLIP_TEXT["context_length"]))
    model_for_trace.register_buffer("vocab_size", torch.tensor(CLIP_TEXT["vocab_size"]))
    traced = torch.jit.trace(model_for_trace, (images, ids), check_trace=False)
    half_names = {k for k, v in hsd.items() if v.dtype == torch.float16}
    with torch.no_grad():
        for name, p in traced.named_parameters():
            if name in half_names:
                p.data = p.data.half()
    paths.append(out(f"{tag}_fp16.pt"))
    traced.save(paths[-1])
    check = torch.jit.load(paths[-1]).state_dict()
    for k, v in hsd.items():
        assert k in check and check[k].dtype == v.dtype and torch.equal(check[k], v), k
    assert set(check) - set(hsd) == {"input_resolution", "context_length", "vocab_size"}, set(check) - set(hsd)
    return paths


# ---------------------------------------------------------------------------------------------- HF CLIPModel

def write_hf_clip(gen):
    from transformers import CLIPConfig, CLIPModel
    torch.manual_seed(SEED + 2)
    cfg = CLIPConfig(
        text_config=dict(hidden_size=32, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
                         max_position_embeddings=8, vocab_size=64, hidden_act="quick_gelu", layer_norm_eps=1e-5,
                         bos_token_id=62, eos_token_id=CLIP_EOT, pad_token_id=0),
        vision_config=dict(hidden_size=32, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
                           image_size=32, patch_size=8, hidden_act="quick_gelu", layer_norm_eps=1e-5),
        projection_dim=24)
    model = CLIPModel(cfg).eval()
    perturb_norms(model, gen)
    with torch.no_grad():  # HF zero-initializes class/position embeddings differently; make every tensor random
        model.vision_model.embeddings.class_embedding.normal_(0, 0.2, generator=gen)
        model.logit_scale.fill_(math.log(100.0))
    sd = contiguous_sd(model.state_dict())
    # Older saved files carry the two position_ids buffers (int64 [1, n]); newer transformers leave them out.
    sd["text_model.embeddings.position_ids"] = torch.arange(8, dtype=torch.int64)[None]
    sd["vision_model.embeddings.position_ids"] = torch.arange(17, dtype=torch.int64)[None]
    paths = [out("hf_clip.safetensors"), out("hf_clip.pth")]
    save_file(sd, paths[0])
    torch.save(sd, paths[1])
    images = torch.randn(2, 3, 32, 32, generator=gen)
    ids = clip_text_ids(gen)
    with torch.no_grad():
        o = model(input_ids=ids, pixel_values=images)
    fwd = {"images": images, "text": ids, "image_embeds": o.image_embeds, "text_embeds": o.text_embeds,
           "logits_per_image": o.logits_per_image}
    paths.append(out("hf_clip_forward.safetensors"))
    save_file({k: v.contiguous() for k, v in fwd.items()}, paths[-1])
    return paths


# ---------------------------------------------------------------------------------------------- timm ViTs

def write_timm_clip(gen):
    from timm.models.vision_transformer import VisionTransformer
    from timm.layers import QuickGELU
    torch.manual_seed(SEED + 3)
    # vit_base_patch16_clip_224's arguments (pre_norm, LayerNorm eps 1e-5; pre_norm implies no patch bias) at
    # reduced size; QuickGELU as the OpenAI weights need; head = the CLIP projection (out 24) with zero bias.
    model = VisionTransformer(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2, pre_norm=True,
                              norm_layer=partial(nn.LayerNorm, eps=1e-5), act_layer=QuickGELU,
                              num_classes=24).eval()
    perturb_norms(model, gen)
    with torch.no_grad():
        model.head.bias.zero_()
        model.pos_embed.normal_(0, 0.2, generator=gen)
        model.cls_token.normal_(0, 0.2, generator=gen)
    sd = contiguous_sd(model.state_dict())
    paths = [out("timm_clip.safetensors")]
    save_file(sd, paths[0])
    images = torch.randn(2, 3, 32, 32, generator=gen)
    with torch.no_grad():
        y = model(images)
    paths.append(out("timm_clip_forward.safetensors"))
    save_file({"images": images, "features": y.contiguous()}, paths[-1])
    return paths


def write_deit(gen, distilled):
    from timm.models.vision_transformer import VisionTransformer
    from timm.models.deit import VisionTransformerDistilled
    torch.manual_seed(SEED + (5 if distilled else 4))
    cls = VisionTransformerDistilled if distilled else VisionTransformer
    # DeiT's arguments (timm deit.py: qkv_bias, LayerNorm eps 1e-6, GELU) at reduced size, 10 classes
    model = cls(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2, num_classes=10).eval()
    perturb_norms(model, gen)
    with torch.no_grad():
        for p in (model.pos_embed, model.cls_token) + ((model.dist_token,) if distilled else ()):
            p.normal_(0, 0.2, generator=gen)
    sd = contiguous_sd(model.state_dict())
    tag = "deit_distilled" if distilled else "deit"
    paths = [out(f"{tag}.safetensors"), out(f"{tag}.pth")]
    save_file(sd, paths[0])
    torch.save({"model": sd}, paths[1])  # the DeiT release layout
    images = torch.randn(2, 3, 32, 32, generator=gen)
    with torch.no_grad():
        y = model(images)
    paths.append(out(f"{tag}_forward.safetensors"))
    save_file({"images": images, "logits": y.contiguous()}, paths[-1])
    return paths


# ---------------------------------------------------------------------------------------------- torchvision ResNet

def reduced_torchvision_resnet(layers, num_classes, width):
    """torchvision.models.resnet.ResNet with stem/base width `width` instead of 64 (torchvision hard-codes 64).
    Uses torchvision's own Bottleneck, _make_layer and forward, so names and semantics are torchvision's."""
    from torchvision.models.resnet import Bottleneck, ResNet

    class ReducedResNet(ResNet):
        def __init__(self):
            nn.Module.__init__(self)
            self._norm_layer = nn.BatchNorm2d
            self.inplanes = width
            self.dilation = 1
            self.groups = 1
            self.base_width = 64  # Bottleneck inner width = planes
            self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            self.layer1 = self._make_layer(Bottleneck, width, layers[0])
            self.layer2 = self._make_layer(Bottleneck, width * 2, layers[1], stride=2)
            self.layer3 = self._make_layer(Bottleneck, width * 4, layers[2], stride=2)
            self.layer4 = self._make_layer(Bottleneck, width * 8, layers[3], stride=2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(width * 8 * Bottleneck.expansion, num_classes)

    return ReducedResNet()


def write_resnet(gen):
    torch.manual_seed(SEED + 6)
    model = reduced_torchvision_resnet((2, 1, 1, 1), num_classes=10, width=4).eval()
    perturb_norms(model, gen)
    sd = contiguous_sd(model.state_dict())
    paths = [out("resnet.safetensors"), out("resnet.pth"), out("resnet_legacy.pth")]
    save_file(sd, paths[0])
    torch.save(sd, paths[1])
    # the 2017-era torchvision files have no num_batches_tracked
    old = OrderedDict((k, v) for k, v in sd.items() if not k.endswith("num_batches_tracked"))
    torch.save(old, paths[2], _use_new_zipfile_serialization=False)
    images = torch.randn(2, 3, 64, 64, generator=gen)
    with torch.no_grad():
        y = model(images)
    paths.append(out("resnet_forward.safetensors"))
    save_file({"images": images, "logits": y.contiguous()}, paths[-1])
    return paths


def main():
    gen = torch.Generator().manual_seed(SEED)
    print("full-size key lists:")
    full_size_keys()
    paths = [out("full_size_keys.txt")]
    paths += write_clip("clip_vit", clip_vit_model(gen), 32, gen, write_pth=True)
    paths += write_clip("clip_rn", clip_rn_model(gen), 64, gen, write_pth=False)
    paths += write_hf_clip(gen)
    paths += write_timm_clip(gen)
    paths += write_deit(gen, distilled=False)
    paths += write_deit(gen, distilled=True)
    paths += write_resnet(gen)
    print("files:")
    size_report(paths)
    print(f"  total {sum(os.path.getsize(p) for p in paths):,d} bytes")


if __name__ == "__main__":
    main()
