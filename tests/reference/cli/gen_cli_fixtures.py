#!/usr/bin/env python3
"""gen_cli_fixtures.py — fixtures for tests/test_cli_clip.cpp and tests/test_cli_classify.cpp: one small CLIP in
three file formats with PyTorch's embeddings of real inputs, and PyTorch's logits of the reduced classifiers of
tests/reference/models on preprocessed images.

Nothing is downloaded; every model is built from a config with random init (SEED), never pretrained weights.

CLIP (OpenAI clip/model.py CLIP, loaded by path: `import clip` fails on a missing pkg_resources), with the REAL
vocabulary size 49408 and context 77 so the real tokenizer's ids index it, and tiny widths so each file stays under
1 MB: text width 4 (1 head of width 4), 1 text block; vision ViT image 32, patch 8, width 8 (2 heads of width 4),
1 block; embed dim 8; logit_scale ln(100). The CLI infers heads with --head-width 4.
  clip_tiny.safetensors   state_dict, f32
  clip_tiny.pth           the same state_dict, torch.save zip
  clip_tiny.pt            TorchScript archive (torch.jit.trace of the model, as the OpenAI release, with its
                          input_resolution / context_length / vocab_size scalar buffers), same f32 values
  clip_expected.safetensors
      text_ids      (3, 77) i64  clip.tokenize of TEXTS (simple_tokenizer.py, loaded by path)
      image_embeds  (3, 8)  f32  encode_image(preprocess(Image.open(img))) / norm, IMAGES in order
      text_embeds   (3, 8)  f32  encode_text(ids) / norm
      logits        (3, 3)  f32  logit_scale.exp() * image_embeds @ text_embeds.T (logits_per_image)
      probs         (3, 3)  f32  logits.softmax(dim=-1)
  preprocess = open_clip.transform.image_transform(32, is_train=False, OpenAI mean/std), which gen_preprocess.py
  shows equal to clip.py's _transform.
  clip_tiny_rn.safetensors      OpenAI CLIP with a ModifiedResNet image tower (layers 1,1,1,1, base width 4, image
                                64, attnpool 32 heads of width 4), same text tower sizes, stored f16 (as the HF file)
  clip_rn_expected.safetensors  its PyTorch embeddings / logits / probs (keys as clip_expected.safetensors)
  clip_tiny_hf.safetensors      an HF transformers CLIPModel of the same sizes (its own random init, QuickGELU,
                                eos_token_id 49407), every float tensor stored as f16 (half the bytes; the
                                reference runs the f32 model holding the same f16-rounded values, and f16 -> f32
                                is exact)
  clip_hf_expected.safetensors  HF's image_embeds / text_embeds / logits_per_image / its softmax on the same
                                preprocessed images and ids (keys as clip_expected.safetensors)

Classifiers (tests/reference/models/{deit,deit_distilled,resnet}.safetensors, loaded into the same timm /
torchvision modules gen_model_checkpoints.py built them with):
  classify_expected.safetensors, "<case>.logits" (2, 10) f32 for CLASSIFY_IMAGES:
      deit            timm VisionTransformer (img 32, patch 8, width 32, 2 heads) on the DeiT-repo eval transform
                      at 32: Resize(int(32 / 0.875) = 36, bicubic), CenterCrop(32), ImageNet mean/std
      deit_vit        the same model on timm's create_transform(input_size 32, crop_pct 0.9, bicubic, mean/std 0.5)
      deit_distilled  VisionTransformerDistilled, DeiT-repo transform at 32 (the eval output (head + head_dist) / 2)
      resnet          reduced torchvision ResNet (width 4) on ResNet50_Weights.IMAGENET1K_V1.transforms() (224)
  labels10.txt        ten class names, one per line

Re-running reproduces every file byte for byte except clip_tiny.pt (TorchScript serialization is not byte-stable;
its tensors are the same).

Run:  python tests/reference/cli/gen_cli_fixtures.py   (torch, torchvision, timm, open_clip, safetensors, ftfy, regex)
"""
import copy
import importlib.util
import math
import os
from collections import OrderedDict

import torch
from PIL import Image
from safetensors.torch import load_file, save_file

SEED = 20261121
HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "..", "models")
SITE = "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/clip"
CLIP_MEAN, CLIP_STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

IMAGES = ["images/synth_wide.png", "images/real_cub.png", "images/synth_grey.png"]
TEXTS = ["a photo of a bird", "a diagram of stripes", "Café déjà vu! <b>grey</b> square 😀"]
CLASSIFY_IMAGES = ["images/real_voc.png", "images/synth_tall.png"]
LABELS = ["tench", "goldfish", "great white shark", "tiger shark", "hammerhead", "electric ray", "stingray", "cock",
          "hen", "ostrich"]


def load_by_path(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


clipm = load_by_path("openai_clip_model", os.path.join(SITE, "model.py"))
gen_models = load_by_path("gen_model_checkpoints", os.path.join(MODELS, "gen_model_checkpoints.py"))


def tokenize(texts, context_length=77):
    """clip.tokenize(texts, truncate=False), with the reference simple_tokenizer."""
    st = load_by_path("simple_tokenizer", os.path.join(SITE, "simple_tokenizer.py"))
    tok = st.SimpleTokenizer()
    sot, eot = tok.encoder["<|startoftext|>"], tok.encoder["<|endoftext|>"]
    out = torch.zeros(len(texts), context_length, dtype=torch.int64)
    for i, t in enumerate(texts):
        ids = [sot] + tok.encode(t) + [eot]
        assert len(ids) <= context_length
        out[i, :len(ids)] = torch.tensor(ids)
    return out


def write_clip(gen):
    import open_clip
    torch.manual_seed(SEED)
    # clip.model.CLIP fixes vision heads = width // 64 (0 for width 8): build it with width 64, then replace the
    # tower by the reduced one (2 heads of width 4).
    model = clipm.CLIP(embed_dim=8, image_resolution=32, vision_layers=1, vision_width=64, vision_patch_size=8,
                       context_length=77, vocab_size=49408, transformer_width=4, transformer_heads=1,
                       transformer_layers=1)
    model.visual = clipm.VisionTransformer(input_resolution=32, patch_size=8, width=8, layers=1, heads=2,
                                           output_dim=8)
    model.initialize_parameters()
    gen_models.perturb_norms(model, gen)
    with torch.no_grad():
        model.logit_scale.fill_(math.log(100.0))
        # OpenAI's init gives the tiny towers nearly identical outputs; spread the embeddings a little
        model.token_embedding.weight.normal_(0, 0.5, generator=gen)
        model.text_projection.normal_(0, 1.0, generator=gen)
    model.eval()
    sd = OrderedDict((k, v.detach().clone().contiguous()) for k, v in model.state_dict().items())
    save_file(sd, os.path.join(HERE, "clip_tiny.safetensors"))
    torch.save(sd, os.path.join(HERE, "clip_tiny.pth"))

    preprocess = open_clip.transform.image_transform(32, is_train=False, mean=CLIP_MEAN, std=CLIP_STD)
    images = torch.stack([preprocess(Image.open(os.path.join(HERE, p))) for p in IMAGES])
    ids = tokenize(TEXTS)
    with torch.no_grad():
        img = model.encode_image(images)
        txt = model.encode_text(ids)
        img = img / img.norm(dim=1, keepdim=True)
        txt = txt / txt.norm(dim=1, keepdim=True)
        logits = model.logit_scale.exp() * img @ txt.t()
        probs = logits.softmax(dim=-1)
    save_file({"text_ids": ids, "image_embeds": img.contiguous(), "text_embeds": txt.contiguous(),
               "logits": logits.contiguous(), "probs": probs.contiguous()},
              os.path.join(HERE, "clip_expected.safetensors"))

    # TorchScript, as the OpenAI release (f32 here so that all three files hold the same values)
    model_for_trace = copy.deepcopy(model)
    del model_for_trace.context_length, model_for_trace.vocab_size  # plain ints in clip/model.py
    model_for_trace.register_buffer("input_resolution", torch.tensor(32))
    model_for_trace.register_buffer("context_length", torch.tensor(77))
    model_for_trace.register_buffer("vocab_size", torch.tensor(49408))
    traced = torch.jit.trace(model_for_trace, (images, ids), check_trace=False)
    path = os.path.join(HERE, "clip_tiny.pt")
    traced.save(path)
    check = torch.jit.load(path).state_dict()
    for k, v in sd.items():
        assert torch.equal(check[k], v), k
    print("probs per image:\n", probs)


def write_clip_rn(gen):
    import open_clip
    torch.manual_seed(SEED + 2)
    model = clipm.CLIP(embed_dim=8, image_resolution=64, vision_layers=(1, 1, 1, 1), vision_width=4,
                       vision_patch_size=None, context_length=77, vocab_size=49408, transformer_width=4,
                       transformer_heads=1, transformer_layers=1)
    # attnpool over 32 * 4 = 128 channels with head width 4 -> 32 heads (clip.model.CLIP would give 2 of 64)
    model.visual = clipm.ModifiedResNet(layers=(1, 1, 1, 1), output_dim=8, heads=32, input_resolution=64, width=4)
    model.initialize_parameters()
    gen_models.perturb_norms(model, gen)
    preprocess = open_clip.transform.image_transform(64, is_train=False, mean=CLIP_MEAN, std=CLIP_STD)
    images = torch.stack([preprocess(Image.open(os.path.join(HERE, p))) for p in IMAGES])
    with torch.no_grad():
        model.logit_scale.fill_(math.log(100.0))
        model.token_embedding.weight.normal_(0, 0.5, generator=gen)
        model.text_projection.normal_(0, 1.0, generator=gen)
        # Random running statistics swamp the tiny towers' activations (every image gives the same embedding):
        # set them to the statistics of the images themselves (one train-mode pass with momentum 1).
        for m in model.visual.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.momentum = 1.0
        model.visual.train()
        model.visual(images)
        model.visual.eval()
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.copy_(t.half().float())  # the values the f16 file holds
    model.eval()
    sd = OrderedDict((k, v.detach().clone().contiguous().half() if v.is_floating_point() else v.contiguous())
                     for k, v in model.state_dict().items())
    save_file(sd, os.path.join(HERE, "clip_tiny_rn.safetensors"))
    ids = tokenize(TEXTS)
    with torch.no_grad():
        img = model.encode_image(images)
        txt = model.encode_text(ids)
        img = img / img.norm(dim=1, keepdim=True)
        txt = txt / txt.norm(dim=1, keepdim=True)
        logits = model.logit_scale.exp() * img @ txt.t()
    save_file({"text_ids": ids, "image_embeds": img.contiguous(), "text_embeds": txt.contiguous(),
               "logits": logits.contiguous(), "probs": logits.softmax(dim=-1).contiguous()},
              os.path.join(HERE, "clip_rn_expected.safetensors"))
    print("RN probs per image:\n", logits.softmax(dim=-1))


def write_hf_clip(gen):
    import open_clip
    from transformers import CLIPConfig, CLIPModel
    torch.manual_seed(SEED + 1)
    cfg = CLIPConfig(
        text_config=dict(hidden_size=4, intermediate_size=16, num_hidden_layers=1, num_attention_heads=1,
                         max_position_embeddings=77, vocab_size=49408, hidden_act="quick_gelu", layer_norm_eps=1e-5,
                         bos_token_id=49406, eos_token_id=49407, pad_token_id=0),
        vision_config=dict(hidden_size=8, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                           image_size=32, patch_size=8, hidden_act="quick_gelu", layer_norm_eps=1e-5),
        projection_dim=8)
    model = CLIPModel(cfg).eval()
    gen_models.perturb_norms(model, gen)
    with torch.no_grad():
        model.vision_model.embeddings.class_embedding.normal_(0, 0.2, generator=gen)
        model.text_model.embeddings.token_embedding.weight.normal_(0, 0.5, generator=gen)
        model.logit_scale.fill_(math.log(100.0))
        for p in model.parameters():
            p.copy_(p.half().float())  # the values the f16 file holds
    sd = OrderedDict((k, v.detach().clone().contiguous().half() if v.is_floating_point() else v.contiguous())
                     for k, v in model.state_dict().items())
    save_file(sd, os.path.join(HERE, "clip_tiny_hf.safetensors"))
    preprocess = open_clip.transform.image_transform(32, is_train=False, mean=CLIP_MEAN, std=CLIP_STD)
    images = torch.stack([preprocess(Image.open(os.path.join(HERE, p))) for p in IMAGES])
    ids = tokenize(TEXTS)
    with torch.no_grad():
        o = model(input_ids=ids, pixel_values=images)
    save_file({"text_ids": ids, "image_embeds": o.image_embeds.contiguous(), "text_embeds": o.text_embeds.contiguous(),
               "logits": o.logits_per_image.contiguous(), "probs": o.logits_per_image.softmax(-1).contiguous()},
              os.path.join(HERE, "clip_hf_expected.safetensors"))
    print("HF probs per image:\n", o.logits_per_image.softmax(-1))


def load_sd(name):
    return load_file(os.path.join(MODELS, name))


def write_classify():
    import timm
    import torchvision.transforms as T
    from timm.models.deit import VisionTransformerDistilled
    from timm.models.vision_transformer import VisionTransformer
    from torchvision.models import ResNet50_Weights

    def deit_repo(size):  # facebookresearch/deit datasets.py build_transform, eval branch
        return T.Compose([T.Resize(int(size / 0.875), interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(size),
                          T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])

    def batch(transform):
        return torch.stack([transform(Image.open(os.path.join(HERE, p)).convert("RGB")) for p in CLASSIFY_IMAGES])

    timm_vit = timm.data.create_transform(input_size=(3, 32, 32), crop_pct=0.9, interpolation="bicubic",
                                          mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    out = {}
    deit = VisionTransformer(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2, num_classes=10).eval()
    deit.load_state_dict(load_sd("deit.safetensors"))
    dist = VisionTransformerDistilled(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2,
                                      num_classes=10).eval()
    dist.load_state_dict(load_sd("deit_distilled.safetensors"))
    resnet = gen_models.reduced_torchvision_resnet((2, 1, 1, 1), num_classes=10, width=4).eval()
    resnet.load_state_dict(load_sd("resnet.safetensors"))
    with torch.no_grad():
        out["deit.logits"] = deit(batch(deit_repo(32)))
        out["deit_vit.logits"] = deit(batch(timm_vit))
        out["deit_distilled.logits"] = dist(batch(deit_repo(32)))
        out["resnet.logits"] = resnet(batch(ResNet50_Weights.IMAGENET1K_V1.transforms()))
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(HERE, "classify_expected.safetensors"))
    with open(os.path.join(HERE, "labels10.txt"), "w") as f:
        f.write("\n".join(LABELS) + "\n")
    for k, v in out.items():
        print(k, v.softmax(-1).max(-1))


def main():
    gen = torch.Generator().manual_seed(SEED)
    write_clip(gen)
    write_hf_clip(gen)
    write_clip_rn(gen)
    write_classify()
    for f in sorted(os.listdir(HERE)):
        if f.endswith((".safetensors", ".pt", ".pth", ".txt")):
            print(f"  {f:36s} {os.path.getsize(os.path.join(HERE, f)):9,d} bytes")


if __name__ == "__main__":
    main()
