// test_models_clip.cpp — OpenAI CLIP (models/clip.h): the reduced checkpoints of tests/reference/models load
// strictly with bit-exact tensors (OpenAI names directly; HF CLIPModel and timm's CLIP tower through the name maps;
// the release's fp16/fp32 mix), the configuration is read off the state_dict, and the forward matches the
// reference implementations' outputs (clip/model.py, transformers CLIPModel, timm VisionTransformer).
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"
#include "models/clip.h"
#include "tests/error_matchers.h"
#include "tests/test_models_util.h"
#include "weights/name_maps.h"

namespace wsdol {
namespace {

using models::Clip;
using models::ClipConfig;
using test::expect_close;
using test::expect_state_matches;
using test::load_model_fixture;
using test::tensor_named;
using weights::Architecture;

// The fixtures use a head width of 16 (OpenAI's is 64; shapes cannot show it).
constexpr int64_t kFixtureHeadWidth = 16;

// Forward tolerances: the same f32 math as PyTorch in a different summation order (GEMM blocking, attention,
// LayerNorm in double lanes), on values of order 1 through 2 blocks; the largest observed difference is 1.3e-6
// (text features). Logits are 100 x a cosine, so their absolute error is 100 x larger (observed 1.4e-5).
constexpr double kAtol = 1e-5, kRtol = 1e-5, kLogitAtol = 1e-4;

std::shared_ptr<Clip> clip_from(const NamedTensors& sd) {
    return std::make_shared<Clip>(models::clip_config_from_state_dict(sd, kFixtureHeadWidth));
}

TEST(ModelsClip, ConfigFromStateDictViT) {
    const ClipConfig c = models::clip_config_from_state_dict(load_model_fixture("clip_vit.safetensors"), 16);
    EXPECT_FALSE(c.vision_resnet);
    EXPECT_EQ(c.vision_width, 32);
    EXPECT_EQ(c.vision_layers, 2);
    EXPECT_EQ(c.vision_heads, 2);
    EXPECT_EQ(c.vision_patch_size, 8);
    EXPECT_EQ(c.image_size, 32);
    EXPECT_EQ(c.text_width, 32);
    EXPECT_EQ(c.text_layers, 2);
    EXPECT_EQ(c.text_heads, 2);
    EXPECT_EQ(c.context_length, 8);
    EXPECT_EQ(c.vocab_size, 64);
    EXPECT_EQ(c.embed_dim, 24);
}

TEST(ModelsClip, ConfigFromStateDictResNet) {
    const ClipConfig c = models::clip_config_from_state_dict(load_model_fixture("clip_rn.safetensors"), 16);
    EXPECT_TRUE(c.vision_resnet);
    EXPECT_EQ(c.vision_width, 4);
    EXPECT_EQ(c.vision_resnet_layers, (std::array<int64_t, 4>{1, 2, 1, 1}));
    EXPECT_EQ(c.vision_heads, 8);  // 32 * 4 / 16
    EXPECT_EQ(c.image_size, 64);
    EXPECT_EQ(c.embed_dim, 24);
    EXPECT_EQ(c.text_layers, 2);
}

TEST(ModelsClip, ConfigFromStateDictErrors) {
    NamedTensors sd = load_model_fixture("clip_vit.safetensors");
    test::expect_error([&] { models::clip_config_from_state_dict(test::without(sd, "ln_final.weight"), 16); },
                       {"clip_config_from_state_dict", "'ln_final.weight'"});
    // OpenAI's head width 64 does not divide the fixture's width 32
    test::expect_error([&] { models::clip_config_from_state_dict(sd); }, {"width 32", "head width 64"});
}

TEST(ModelsClip, ReleasedConfigsAreTheReleasedSizes) {
    // Built from the released configs, the state_dicts have the names and shapes of the real ones
    // (tests/reference/models/full_size_keys.txt; the full comparison runs in test_name_maps.cpp).
    EXPECT_EQ(models::clip_vit_b32_config().vision_patch_size, 32);
    EXPECT_EQ(models::clip_rn50_config().embed_dim, 1024);
    EXPECT_EQ(models::clip_rn50_config().vision_heads, 32);
    EXPECT_EQ(models::clip_vit_b16_config().str(),
              "vision ViT 768x12 (12 heads, patch 16, image 224), text 512x12 (8 heads, context 77, vocab 49408), "
              "embed 512");
}

TEST(ModelsClip, CausalMask) {
    const std::vector<double> m = models::clip_causal_mask(3).to_vector();
    const double inf = std::numeric_limits<double>::infinity();
    EXPECT_EQ(m, (std::vector<double>{0, -inf, -inf, 0, 0, -inf, 0, 0, 0}));
}

// ---------------------------------------------------------------- strict loading, bit-exact

TEST(ModelsClip, OpenAIViTLoadsStrictlyBitExact) {
    const NamedTensors sd = load_model_fixture("clip_vit.safetensors");
    auto model = clip_from(sd);
    ASSERT_EQ(model->state_dict().size(), sd.size());
    const weights::LoadResult r = weights::load_into(*model, sd, Architecture::openai_clip_vit);
    EXPECT_TRUE(r.ok()) << r.str();
    EXPECT_EQ(r.file.arch, Architecture::openai_clip_vit);
    EXPECT_TRUE(r.dropped.empty());
    expect_state_matches(*model, sd);
}

TEST(ModelsClip, OpenAIResNetLoadsStrictlyBitExact) {
    const NamedTensors sd = load_model_fixture("clip_rn.safetensors");
    auto model = clip_from(sd);
    ASSERT_TRUE(model->visual_resnet);
    const weights::LoadResult r = weights::load_into(*model, sd, Architecture::openai_clip_resnet);
    EXPECT_TRUE(r.ok()) << r.str();
    EXPECT_TRUE(r.optional_missing.empty());
    expect_state_matches(*model, sd);
}

// The release's precision (formats.md §2.4): fp16 for Conv/Linear weights and biases, MultiheadAttention
// in_proj/out_proj, visual.proj, text_projection (and RN attnpool projections); fp32 for embeddings, norms,
// logit_scale. Loading into an f32 model widens exactly, so the model equals the f32 model rounded through f16.
void check_fp16_release(const std::string& tag, Architecture arch) {
    const NamedTensors f32 = load_model_fixture(tag + ".safetensors");
    const NamedTensors mixed = load_model_fixture(tag + "_fp16.safetensors");
    for (const auto& [name, t] : mixed) {
        auto has = [&](const char* piece) { return name.find(piece) != std::string::npos; };
        // LayerNorm (ln_*), BatchNorm (bn*, downsample.1), the three embeddings, logit_scale
        const bool fp32 = has("ln_") || has(".bn") || has("downsample.1.") || has("embedding") || name == "logit_scale";
        if (!is_floating(t.dtype())) continue;  // num_batches_tracked
        EXPECT_EQ(t.dtype(), fp32 ? DType::f32 : DType::f16) << name;
    }
    auto model = clip_from(mixed);
    const weights::LoadResult r = weights::load_into(*model, mixed, arch);
    EXPECT_TRUE(r.ok()) << r.str();
    expect_state_matches(*model, mixed);
    for (const auto& [name, t] : model->state_dict()) {
        const Tensor half = tensor_named(mixed, name), full = tensor_named(f32, name);
        const Tensor expected = half.dtype() == DType::f16 ? full.to(DType::f16).to(DType::f32) : full;
        EXPECT_EQ(test::bytes_of(t), test::bytes_of(expected)) << name;
    }
}

TEST(ModelsClip, ReleasePrecisionViTLoadsIntoF32) { check_fp16_release("clip_vit", Architecture::openai_clip_vit); }
TEST(ModelsClip, ReleasePrecisionResNetLoadsIntoF32) { check_fp16_release("clip_rn", Architecture::openai_clip_resnet); }

// ---------------------------------------------------------------- forward parity with clip/model.py

void check_openai_forward(const std::string& tag, Architecture arch) {
    const NamedTensors sd = load_model_fixture(tag + ".safetensors");
    const NamedTensors ref = load_model_fixture(tag + "_forward.safetensors");
    auto model = clip_from(sd);
    weights::load_into(*model, sd, arch);
    model->eval();
    NoGradGuard no_grad;
    const models::ClipOutput out = model->forward(tensor_named(ref, "images"), tensor_named(ref, "text"));
    expect_close(out.image_features, tensor_named(ref, "image_features"), kAtol, kRtol, tag + " image_features");
    expect_close(out.text_features, tensor_named(ref, "text_features"), kAtol, kRtol, tag + " text_features");
    expect_close(out.logits_per_image, tensor_named(ref, "logits_per_image"), kLogitAtol, kRtol, tag + " logits");
    EXPECT_EQ(out.logits_per_text.shape(), (Shape{3, 2}));
    // encode_text accepts the int32 ids clip.tokenize returns (torch >= 1.8)
    expect_close(model->encode_text(tensor_named(ref, "text").to(DType::i32)), out.text_features, 0, 0, "int32 ids");
}

TEST(ModelsClip, ViTForwardMatchesOpenAI) { check_openai_forward("clip_vit", Architecture::openai_clip_vit); }
TEST(ModelsClip, ResNetForwardMatchesOpenAI) { check_openai_forward("clip_rn", Architecture::openai_clip_resnet); }

TEST(ModelsClip, VisionTowerAloneAndAttention) {
    const NamedTensors sd = load_model_fixture("clip_vit.safetensors");
    const NamedTensors ref = load_model_fixture("clip_vit_forward.safetensors");
    auto full = clip_from(sd);
    models::ClipVisionTransformer tower(32, 8, 32, 2, 2, 24);
    weights::LoadOptions opts;
    opts.prefix = "visual.";
    const weights::LoadResult r = weights::load_into(tower, sd, Architecture::openai_clip_vit, opts);
    EXPECT_TRUE(r.ok()) << r.str();
    EXPECT_FALSE(r.outside_prefix.empty());  // the text tower's keys
    NoGradGuard no_grad;
    const models::ClipVisionOutput out = tower.forward_all(tensor_named(ref, "images"), true);
    expect_close(out.features, tensor_named(ref, "image_features"), kAtol, kRtol, "tower features");
    EXPECT_EQ(out.tokens.shape(), (Shape{2, 17, 32}));
    ASSERT_EQ(out.attn_probs.size(), 2u);
    EXPECT_EQ(out.attn_probs[0].shape(), (Shape{2, 2, 17, 17}));
    // every row of attention probabilities sums to 1
    expect_close(sum(out.attn_probs[1], {-1}), Tensor::ones({2, 2, 17}), 1e-5, 0, "probability rows");
}

TEST(ModelsClip, WrongInputShapesAreErrors) {
    auto model = clip_from(load_model_fixture("clip_vit.safetensors"));
    test::expect_error([&] { model->encode_image(Tensor::zeros({1, 3, 64, 64})); },
                       {"ClipVisionTransformer", "(B, 3, 32, 32)", "[1, 3, 64, 64]"});
    test::expect_error([&] { model->encode_text(Tensor::zeros({1, 9}, DType::i64)); },
                       {"Clip.encode_text", "(B, 8)", "[1, 9]"});
    test::expect_error([&] { model->encode_text(Tensor::zeros({1, 8})); }, {"Clip.encode_text", "float32"});
}

// ---------------------------------------------------------------- HF CLIPModel through the name map

TEST(ModelsClip, HFCLIPLoadsStrictlyThroughTheMap) {
    const NamedTensors hf = load_model_fixture("hf_clip.safetensors");
    const weights::MappedTensors mapped = weights::hf_clip_to_openai(hf);
    auto model = clip_from(mapped.tensors);
    const weights::LoadResult r = weights::load_into(*model, hf, Architecture::openai_clip_vit);
    EXPECT_TRUE(r.ok()) << r.str();
    EXPECT_EQ(r.file.arch, Architecture::hf_clip);
    ASSERT_EQ(r.dropped.size(), 2u);  // the two position_ids buffers
    for (const std::string& d : r.dropped) EXPECT_NE(d.find("position_ids"), std::string::npos) << d;
    expect_state_matches(*model, mapped.tensors);
    // the packing and transposes, checked against the HF tensors themselves
    const Tensor q = tensor_named(hf, "vision_model.encoder.layers.1.self_attn.q_proj.weight");
    const Tensor v = tensor_named(hf, "vision_model.encoder.layers.1.self_attn.v_proj.bias");
    const Tensor in_w = model->find("visual.transformer.resblocks.1.attn.in_proj_weight");
    const Tensor in_b = model->find("visual.transformer.resblocks.1.attn.in_proj_bias");
    EXPECT_EQ(test::bytes_of(in_w.narrow(0, 0, 32)), test::bytes_of(q));
    EXPECT_EQ(test::bytes_of(in_b.narrow(0, 64, 32)), test::bytes_of(v));
    EXPECT_EQ(test::bytes_of(model->find("text_projection")),
              test::bytes_of(tensor_named(hf, "text_projection.weight").t()));
    EXPECT_EQ(test::bytes_of(model->find("visual.proj")),
              test::bytes_of(tensor_named(hf, "visual_projection.weight").t()));
}

TEST(ModelsClip, HFCLIPForwardMatchesTransformers) {
    const NamedTensors hf = load_model_fixture("hf_clip.safetensors");
    const NamedTensors ref = load_model_fixture("hf_clip_forward.safetensors");
    auto model = clip_from(weights::hf_clip_to_openai(hf).tensors);
    weights::load_into(*model, hf, Architecture::openai_clip_vit);
    model->eval();
    NoGradGuard no_grad;
    const models::ClipOutput out = model->forward(tensor_named(ref, "images"), tensor_named(ref, "text"));
    // HF returns the normalized embeddings
    expect_close(normalize(out.image_features, 2.0, 1), tensor_named(ref, "image_embeds"), kAtol, kRtol, "image_embeds");
    expect_close(normalize(out.text_features, 2.0, 1), tensor_named(ref, "text_embeds"), kAtol, kRtol, "text_embeds");
    expect_close(out.logits_per_image, tensor_named(ref, "logits_per_image"), kLogitAtol, kRtol, "logits_per_image");
}

// ---------------------------------------------------------------- timm's CLIP image tower through the name map

TEST(ModelsClip, TimmCLIPTowerLoadsIntoTheVisionTower) {
    const NamedTensors timm = load_model_fixture("timm_clip.safetensors");
    const NamedTensors ref = load_model_fixture("timm_clip_forward.safetensors");
    models::ClipVisionTransformer tower(32, 8, 32, 2, 2, 24);
    weights::LoadOptions opts;
    opts.prefix = "visual.";
    const weights::LoadResult r = weights::load_into(tower, timm, Architecture::openai_clip_vit, opts);
    EXPECT_TRUE(r.ok()) << r.str();
    EXPECT_EQ(r.file.arch, Architecture::timm_clip_vit);
    ASSERT_EQ(r.dropped.size(), 1u);
    EXPECT_NE(r.dropped[0].find("head.bias"), std::string::npos);
    EXPECT_TRUE(r.outside_prefix.empty());
    EXPECT_EQ(test::bytes_of(tower.proj), test::bytes_of(tensor_named(timm, "head.weight").t()));
    EXPECT_EQ(test::bytes_of(tower.class_embedding), test::bytes_of(tensor_named(timm, "cls_token")));
    tower.eval();
    NoGradGuard no_grad;
    expect_close(tower.forward(tensor_named(ref, "images")), tensor_named(ref, "features"), kAtol, kRtol,
                 "timm CLIP tower features");
}

}  // namespace
}  // namespace wsdol
