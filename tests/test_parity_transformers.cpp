// test_parity_transformers.cpp — forward and gradient parity with PyTorch (issue 4) for the transformer backbones:
// timm ViT / distilled DeiT, an MCTformer-style ViT (C class tokens, additive mask, no final norm), ViTs at other
// input sizes with each pos_embed resize, OpenAI CLIP (text tower and zero-shot, ViT image tower, ModifiedResNet
// image tower). Fixtures: tests/reference/parity/*.safetensors from gen_parity_transformers.py. Every output,
// attention probabilities included, enters the loss; gradients wrt the images (and the mask) and every parameter.
// Each tensor's err/bound is printed ([parity] lines); bounds fwd 1e-4 (1 + |b|), grads 1e-3 (1 + |b|).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"
#include "models/clip.h"
#include "models/vit.h"
#include "tests/parity_transformers_checks.h"
#include "tests/error_matchers.h"
#include "tests/test_models_util.h"

namespace wsdol {
namespace {

using test::add_probs;
using test::check_clip_parity;
using test::check_clip_resnet_parity;
using test::load_strict;
using test::ParityFixture;
using test::parity_fixture;

void check_vit(const std::string& file, const models::ViTConfig& cfg, bool with_mask = false) {
    test::check_vit_parity(parity_fixture(file), cfg, with_mask);
}

// The reduced timm configuration of the fixtures (image 32, patch 8, width 32, 2 heads, 10 classes).
models::ViTConfig reduced_vit(int64_t depth) {
    models::ViTConfig c;
    c.image_size = 32;
    c.patch_size = 8;
    c.embed_dim = 32;
    c.depth = depth;
    c.num_heads = 2;
    c.num_classes = 10;
    return c;
}

TEST(ParityTransformers, TimmViT) { check_vit("vit.safetensors", reduced_vit(3)); }

TEST(ParityTransformers, TimmDistilledDeiT) {
    models::ViTConfig c = reduced_vit(2);
    c.distilled = true;
    check_vit("deit_distilled.safetensors", c);
}

TEST(ParityTransformers, MCTformerClassTokensMaskNoFinalNorm) {
    models::ViTConfig c = reduced_vit(2);
    c.num_prefix_tokens = 3;
    c.num_classes = 0;
    c.final_norm = false;
    check_vit("mctformer.safetensors", c, /*with_mask=*/true);
}

TEST(ParityTransformers, ViTNonSquareBicubicPosEmbed) {
    models::ViTConfig c = reduced_vit(2);
    c.pos_embed_resize = models::PosEmbedResize::bicubic;
    check_vit("vit_resize_bicubic.safetensors", c);
}

TEST(ParityTransformers, ViTNonSquareBilinearPosEmbed) {
    models::ViTConfig c = reduced_vit(2);
    c.pos_embed_resize = models::PosEmbedResize::bilinear;
    check_vit("vit_resize_bilinear.safetensors", c);
}

TEST(ParityTransformers, ViTNonSquareMCTformerPosEmbed) {
    models::ViTConfig c = reduced_vit(2);
    c.pos_embed_resize = models::PosEmbedResize::mctformer;
    check_vit("vit_resize_mctformer.safetensors", c);
}

TEST(ParityTransformers, ViTMCTformerPosEmbedResamplesSameGridNonSquareInput) {
    models::ViTConfig c = reduced_vit(2);
    c.pos_embed_resize = models::PosEmbedResize::mctformer;
    check_vit("vit_resize_mctformer_quirk.safetensors", c);
}

// The pos_embed early-outs: unchanged grid (timm), and MCTformer's square-input rule.
TEST(ParityTransformers, PosEmbedResizeEarlyOuts) {
    const Tensor pos = Tensor::randn({1, 1 + 16, 8});
    for (auto mode : {models::PosEmbedResize::bicubic, models::PosEmbedResize::bilinear})
        EXPECT_TRUE(models::resize_pos_embed(pos, 1, 4, 4, mode, false).data_ptr() == pos.data_ptr());
    EXPECT_TRUE(models::resize_pos_embed(pos, 1, 4, 4, models::PosEmbedResize::mctformer, true).data_ptr() == pos.data_ptr());
    const Tensor q = models::resize_pos_embed(pos, 1, 4, 4, models::PosEmbedResize::mctformer, false);
    EXPECT_FALSE(q.data_ptr() == pos.data_ptr());
    EXPECT_EQ(q.shape(), pos.shape());
    // the prefix row is kept as is
    EXPECT_EQ(q.narrow(1, 0, 1).to_vector(), pos.narrow(1, 0, 1).to_vector());
    EXPECT_EQ(models::resize_pos_embed(pos, 1, 3, 5, models::PosEmbedResize::bicubic).shape(), (Shape{1, 16, 8}));
}

// Shapes and switches around the parity cases: the grid of a non-square input drops the remainder, the final
// norm can be left out (then it holds no parameters), the mask reaches every block, and bad inputs are errors.
TEST(ParityTransformers, ViTGridFinalNormMaskAndErrors) {
    models::ViTConfig c = reduced_vit(2);
    c.num_prefix_tokens = 3;
    c.final_norm = false;
    models::VisionTransformer model(c);
    EXPECT_FALSE(model.norm);
    for (const auto& [name, p] : model.named_parameters()) EXPECT_NE(name.rfind("norm.", 0), 0u) << name;
    NoGradGuard no_grad;
    const models::ViTOutput o = model.forward_all(Tensor::randn({1, 3, 44, 60}), true);
    EXPECT_EQ(o.grid_h, 5);
    EXPECT_EQ(o.grid_w, 7);
    EXPECT_EQ(o.tokens.shape(), (Shape{1, 3 + 35, 32}));
    EXPECT_EQ(o.tokens.data_ptr(), o.block_tokens.data_ptr());
    ASSERT_EQ(o.attn_probs.size(), 2u);
    // a mask that lets every token see only itself and class token 0: each block's probabilities follow it
    const int64_t T = 3 + 16;
    Tensor mask = Tensor::full({T, T}, -INFINITY);
    for (int64_t i = 0; i < T; ++i) {
        mask.narrow(0, i, 1).narrow(1, i, 1).fill_(0.0);
        mask.narrow(0, i, 1).narrow(1, 0, 1).fill_(0.0);
    }
    const models::ViTOutput m = model.forward_all(Tensor::randn({2, 3, 32, 32}), true, mask);
    for (const Tensor& p : m.attn_probs) {
        const std::vector<double> v = p.to_vector();  // (2, 2, T, T)
        for (size_t k = 0; k < v.size(); ++k) {
            const int64_t i = (k / T) % T, j = k % T;
            if (j != i && j != 0) {
                EXPECT_EQ(v[k], 0.0) << "query " << i << " key " << j;
            }
        }
    }
    test::expect_error([&] { model.forward_all(Tensor::randn({1, 3, 7, 32})); },
                       {"VisionTransformer", "H, W >= 8", "[1, 3, 7, 32]"});
    test::expect_error([&] { model.forward_all(Tensor::randn({1, 1, 32, 32})); }, {"VisionTransformer", "(B, 3, H, W)"});
    test::expect_error([&] { models::resize_pos_embed(Tensor::randn({1, 1 + 15, 8}), 1, 4, 4, models::PosEmbedResize::bicubic); },
                       {"resize_pos_embed", "15 patch positions"});
}

TEST(ParityTransformers, ClipZeroShotErrors) {
    test::expect_error([&] { models::clip_zero_shot(Tensor::randn({2, 8}), Tensor::randn({3, 6}), Tensor::scalar(1.0)); },
                       {"clip_zero_shot", "[2, 8]", "[3, 6]"});
    test::expect_error([&] { models::clip_zero_shot(Tensor::randn({2, 8}), Tensor::randn({3, 8}), Tensor::randn({2})); },
                       {"clip_zero_shot", "logit_scale"});
}

// ---------------------------------------------------------------- OpenAI CLIP

TEST(ParityTransformers, ClipTextTowerAndZeroShot) {
    const std::string path = parity_fixture("clip_text.safetensors");
    check_clip_parity(path, models::clip_config_from_state_dict(ParityFixture(path).state_dict(), 16));
    // the one-call helper gives what clip_zero_shot gives on the two towers' features
    const ParityFixture f(path);
    models::Clip model(models::clip_config_from_state_dict(f.state_dict(), 16));
    load_strict(model, f);
    NoGradGuard no_grad;
    const Tensor images = f.at("input.images"), text = f.at("input.text");
    const models::ClipZeroShot z = model.zero_shot(images, text);
    const models::ClipZeroShot ref = models::clip_zero_shot(model.encode_image(images), model.encode_text(text), model.logit_scale);
    EXPECT_EQ(z.probs.to_vector(), ref.probs.to_vector());
    EXPECT_EQ(z.logits.to_vector(), model.forward(images, text).logits_per_image.to_vector());
    test::expect_close(sum(z.probs, {1}), Tensor::ones({2}), 1e-6, 0, "zero-shot probability rows");
}

TEST(ParityTransformers, ClipVisionTransformer) {
    const ParityFixture f(parity_fixture("clip_visual_vit.safetensors"));
    models::ClipVisionTransformer model(32, 8, 32, 2, 2, 24);
    load_strict(model, f);
    std::map<std::string, Tensor> inputs{{"images", f.input("images")}};
    const models::ClipVisionOutput o = model.forward_all(inputs["images"], true);
    std::map<std::string, Tensor> outputs{{"features", o.features}, {"tokens", o.tokens}};
    add_probs(outputs, "attn.", o.attn_probs);
    f.expect_outputs(outputs);
    f.loss(outputs).backward();
    f.expect_gradients(model, inputs);
}

TEST(ParityTransformers, ClipModifiedResNet) {
    models::ModifiedResNet model({1, 2, 1, 1}, 24, 4, 64, 2);
    check_clip_resnet_parity(parity_fixture("clip_visual_rn.safetensors"), model);
}

}  // namespace
}  // namespace wsdol
