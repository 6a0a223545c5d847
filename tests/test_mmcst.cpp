// test_mmcst.cpp — MMCST / MCTformer (models/mmcst.h, models/mmcst_losses.h, models/mmcst_method.h):
// PyTorch parity of the whole forward (attention, correlation maps, GWRP, every loss term) and of the gradients
// wrt the images and every parameter (fixtures of tests/reference/mmcst/gen_mmcst.py), GWRP against a plain loop,
// the token layout and attention mask, the ablation variants, the timm backbone loader, bad-input errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"
#include "models/mmcst.h"
#include "models/mmcst_losses.h"
#include "models/mmcst_method.h"
#include "models/vit.h"
#include "tests/error_matchers.h"
#include "tests/parity_util.h"
#include "tokenizer/clip_tokenizer.h"
#include "engine/io/safetensors.h"
#include "models/method_registry.h"
#include "tests/tiny_clip_util.h"

#include <filesystem>

namespace wsdol {
namespace {

using models::MmcstConfig;
using models::MmcstNet;
using models::MmcstOutput;
using models::LossTerms;

std::string mmcst_fixture(const std::string& name) {
    return std::string(WSDOL_SOURCE_DIR) + "/tests/reference/mmcst/" + name;
}

// The reduced configuration of gen_mmcst.py.
MmcstConfig reduced(MmcstConfig c) {
    c.image_size = 32;
    c.patch_size = 8;
    c.embed_dim = 32;
    c.depth = 2;
    c.num_heads = 4;
    c.num_classes = 3;
    c.text_dim = 16;
    c.image_embed_dim = 12;
    c.drop_path_rate = 0.0;
    return c;
}

// Outputs named as gen_mmcst.py names them.
std::map<std::string, Tensor> named_outputs(const MmcstNet& net, const MmcstOutput& out, const Tensor& labels,
                                            const Tensor& clip_embeddings) {
    std::map<std::string, Tensor> m;
    const auto& L = out.layout;
    m["layout"] = Tensor::from_vector({double(L.num_classes), double(L.num_text), double(L.grid_h), double(L.grid_w)},
                                      {4});
    const int64_t T = L.total();
    m["attn_blocked"] = out.attn_mask.defined() ? cast(eq(out.attn_mask, -INFINITY), DType::f32)
                                                : Tensor::zeros({T, T});
    for (size_t i = 0; i < out.attn_probs.size(); ++i) m["attn." + std::to_string(i)] = out.attn_probs[i];
    m["cls_logits"] = out.cls_logits;
    auto put = [&](const char* name, const Tensor& t) {
        if (t.defined()) m[name] = t;
    };
    put("patch_cam", out.patch_cam);
    put("patch_logits", out.patch_logits);
    put("c2p", out.c2p);
    put("t2p", out.t2p);
    put("c2p_logits", out.c2p_logits);
    put("t2p_logits", out.t2p_logits);
    put("text_embedding", out.text_embedding);
    const LossTerms terms = models::mmcst_loss_terms(net, out, labels, clip_embeddings);
    for (const auto& [name, t] : terms.terms) m["loss." + name] = t;
    m["loss.total"] = terms.total;
    return m;
}

void run_parity(const std::string& file, const MmcstConfig& cfg) {
    const test::ParityFixture fx(mmcst_fixture(file));
    MmcstNet net(cfg);
    net.eval();
    net.load_state_dict(fx.state_dict(), /*strict=*/true);
    Tensor images = fx.input("images");
    const Tensor labels = fx.at("input.labels");
    const Tensor clip = fx.has("input.clip_image_embeddings") ? fx.at("input.clip_image_embeddings") : Tensor();
    const MmcstOutput out = net.forward_all(images, /*return_attention=*/true);
    const auto outputs = named_outputs(net, out, labels, clip);
    fx.expect_outputs(outputs);
    fx.loss(outputs).backward();
    fx.expect_gradients(net, {{"images", images}});
}

TEST(Mmcst, ParityWithPyTorch) {
    MmcstConfig c = reduced(MmcstConfig::mmcst());
    c.gwrp_decay = 0.9;  // a decay that makes the ranking matter on 16 positions
    c.learnable_temperature = true;
    run_parity("mmcst_parity.safetensors", c);
}

TEST(Mmcst, MctformerV2ParityWithPyTorchOnAnotherGrid) {
    // Trained grid 4x4, run on 40x48 inputs (5x6): the patch positions are resized with MCTformer's rule.
    run_parity("mctformer_v2_parity.safetensors", reduced(MmcstConfig::mctformer_v2()));
}

// ---------------------------------------------------------------------------------------------------------------
// GWRP / GAP

TEST(Mmcst, GwrpMatchesPlainLoop) {
    Generator gen(7);
    const Tensor x = Tensor::randn({2, 3, 5, 4}, DType::f64, &gen);
    for (double d : {0.5, 0.9, 0.996, 1.0}) {
        const Tensor y = models::gwrp_pool(x, d);
        ASSERT_EQ(y.shape(), (Shape{2, 3}));
        const std::vector<double> xv = x.to_vector(), yv = y.to_vector();
        for (int bc = 0; bc < 6; ++bc) {
            std::vector<double> s(xv.begin() + bc * 20, xv.begin() + (bc + 1) * 20);
            std::sort(s.begin(), s.end(), std::greater<double>());
            double num = 0, z = 0;
            for (int j = 0; j < 20; ++j) {
                num += std::pow(d, j) * s[j];
                z += std::pow(d, j);
            }
            EXPECT_NEAR(yv[bc], num / z, 1e-12) << "decay " << d;
        }
    }
    // decay 1 is GAP
    const std::vector<double> a = models::gwrp_pool(x, 1.0).to_vector(), b = models::gap_pool(x).to_vector();
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-12);
}

TEST(Mmcst, GwrpGradientFollowsTheRanking) {
    // One map of 4 positions: the gradient of the pooled score is d^rank / Z at each position.
    Tensor x = Tensor::from_vector({0.3, -1.0, 2.0, 0.7}, {1, 1, 4}, DType::f64).set_requires_grad(true);
    sum(models::gwrp_pool(x, 0.5)).backward();
    const double z = 1 + 0.5 + 0.25 + 0.125;
    const std::vector<double> g = x.grad().to_vector();
    EXPECT_NEAR(g[2], 1.0 / z, 1e-12);    // rank 0
    EXPECT_NEAR(g[3], 0.5 / z, 1e-12);    // rank 1
    EXPECT_NEAR(g[0], 0.25 / z, 1e-12);   // rank 2
    EXPECT_NEAR(g[1], 0.125 / z, 1e-12);  // rank 3
}

TEST(Mmcst, BatchContrastiveLossMatchesPlainLoop) {
    Generator gen(3);
    const Tensor t = Tensor::randn({4, 6}, DType::f64, &gen), v = Tensor::randn({4, 6}, DType::f64, &gen);
    const double scale = 1 / 0.07;
    const double loss = models::batch_contrastive_loss(t, v, Tensor::scalar(scale, DType::f64)).item();
    const std::vector<double> tv = t.to_vector(), vv = v.to_vector();
    auto dot = [](const double* a, const double* b) {
        double s = 0;
        for (int k = 0; k < 6; ++k) s += a[k] * b[k];
        return s;
    };
    double expected = 0;
    for (int i = 0; i < 4; ++i) {
        std::vector<double> row(4);
        for (int j = 0; j < 4; ++j)
            row[j] = scale * dot(&tv[i * 6], &vv[j * 6]) /
                     std::sqrt(dot(&tv[i * 6], &tv[i * 6]) * dot(&vv[j * 6], &vv[j * 6]));
        const double m = *std::max_element(row.begin(), row.end());
        double lse = 0;
        for (double r : row) lse += std::exp(r - m);
        expected += (std::log(lse) + m - row[i]) / 4;
    }
    EXPECT_NEAR(loss, expected, 1e-10);
}

// ---------------------------------------------------------------------------------------------------------------
// Layout, mask, variants

TEST(Mmcst, TokenLayoutAndMask) {
    MmcstNet net(reduced(MmcstConfig::mmcst()));
    net.set_text_embeddings(Tensor::ones({3, 16}));
    const MmcstOutput out = net.forward_all(Tensor::zeros({1, 3, 32, 24}), true);
    EXPECT_EQ(out.layout.num_classes, 3);
    EXPECT_EQ(out.layout.num_text, 3);
    EXPECT_EQ(out.layout.grid_h, 4);
    EXPECT_EQ(out.layout.grid_w, 3);
    EXPECT_EQ(out.layout.patch_begin(), 6);
    EXPECT_EQ(out.layout.total(), 18);
    ASSERT_EQ(out.attn_probs.size(), 2u);
    EXPECT_EQ(out.attn_probs[0].shape(), (Shape{1, 4, 18, 18}));
    EXPECT_EQ(out.c2p.shape(), (Shape{1, 3, 4, 3}));
    EXPECT_EQ(out.localization_map().shape(), (Shape{1, 3, 4, 3}));
    // Class rows give zero probability to text keys and vice versa; patches see everything.
    const Tensor p = out.attn_probs[1].select(0, 0).select(0, 0);  // (T, T), head 0
    for (int q = 0; q < 18; ++q)
        for (int k = 0; k < 18; ++k) {
            const bool blocked = q < 6 && k < 6 && ((q < 3) != (k < 3));
            const double v = p.select(0, q).select(0, k).item();
            if (blocked) EXPECT_EQ(v, 0.0) << q << "," << k;
            else EXPECT_GT(v, 0.0) << q << "," << k;
        }
}

TEST(Mmcst, VariantsHaveTheirLossTerms) {
    const Tensor labels = Tensor::from_vector({1, 0, 1, 0, 1, 0}, {2, 3});
    const Tensor images = Tensor::randn({2, 3, 32, 32});
    auto names = [&](const MmcstConfig& c) {
        MmcstNet net(c);
        const MmcstOutput out = net.forward_all(images);
        const LossTerms t = models::mmcst_loss_terms(net, out, labels, Tensor::randn({2, 12}));
        std::vector<std::string> n;
        double sum = 0;
        for (const auto& [name, v] : t.terms) {
            n.push_back(name);
            sum += v.item();
        }
        EXPECT_NEAR(t.total.item(), sum, 1e-5);
        return n;
    };
    using V = std::vector<std::string>;
    EXPECT_EQ(names(reduced(MmcstConfig::mmcst())), (V{"mlsm_cls", "contrast", "mlsm_t2p", "mlsm_c2p"}));
    EXPECT_EQ(names(reduced(MmcstConfig::mctformer_v2())), (V{"mlsm_cls", "mlsm_patch"}));
    EXPECT_EQ(names(reduced(MmcstConfig::mctformer_v1())), (V{"mlsm_cls"}));
    MmcstConfig c2p_only = reduced(MmcstConfig::mmcst());  // Table 5 rows 2-3
    c2p_only.text_tokens = false;
    c2p_only.contrast = models::ContrastTarget::none;
    c2p_only.fusion = models::TokenFusion::global;
    c2p_only.pooling = models::CorrPooling::gap;
    EXPECT_EQ(names(c2p_only), (V{"mlsm_cls", "mlsm_c2p"}));
    MmcstConfig local = reduced(MmcstConfig::mmcst());  // Table 5 row 5
    local.fusion = models::TokenFusion::local;
    EXPECT_EQ(names(local), (V{"mlsm_cls", "contrast", "mlsm_t2p", "mlsm_c2p"}));
    // No λ parameters outside global+local fusion.
    EXPECT_FALSE(MmcstNet(local).has_parameter("lambda_txt"));
    EXPECT_TRUE(MmcstNet(reduced(MmcstConfig::mmcst())).has_parameter("lambda_txt"));
}

TEST(Mmcst, GlobalFusionUsesTheInputTokens) {
    // With global fusion the class-to-patch maps are F cls_token^T: changing the blocks' output cannot matter
    // to them except through F, so compare against the formula directly.
    MmcstConfig c = reduced(MmcstConfig::mmcst());
    c.fusion = models::TokenFusion::global;
    c.contrast = models::ContrastTarget::none;
    MmcstNet net(c);
    const MmcstOutput out = net.forward_all(Tensor::randn({2, 3, 32, 32}));
    const Tensor F = net.patch_proj->forward(out.patch_out);                    // (B, N, D)
    const Tensor expected = matmul(F, net.cls_token.transpose(1, 2));          // (B, N, C)
    const std::vector<double> a = out.c2p.flatten(2).transpose(1, 2).contiguous().to_vector();
    const std::vector<double> b = expected.to_vector();
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5);
}

TEST(Mmcst, LoadsATimmBackbone) {
    models::ViTConfig vc;
    vc.image_size = 16;  // a 2x2 grid: resized to the model's 4x4
    vc.patch_size = 8;
    vc.embed_dim = 32;
    vc.depth = 2;
    vc.num_heads = 4;
    vc.num_classes = 5;
    models::VisionTransformer vit(vc);
    MmcstNet net(reduced(MmcstConfig::mmcst()));
    models::load_vit_backbone(net, vit.state_dict());
    auto same = [](const Tensor& a, const Tensor& b) { return a.to_vector() == b.to_vector(); };
    EXPECT_TRUE(same(net.find("blocks.1.mlp.fc2.weight"), vit.find("blocks.1.mlp.fc2.weight")));
    EXPECT_TRUE(same(net.find("patch_embed.proj.weight"), vit.find("patch_embed.proj.weight")));
    const Tensor cls = vit.cls_token.select(1, 0);
    for (int c = 0; c < 3; ++c) EXPECT_TRUE(same(net.cls_token.select(1, c), cls));
    const Tensor cls_pos = vit.pos_embed.select(1, 0);
    for (int t = 0; t < 6; ++t) EXPECT_TRUE(same(net.pos_embed.select(1, t), cls_pos)) << t;  // class + text
    const Tensor patch = interpolate(vit.pos_embed.narrow(1, 1, 4).reshape({1, 2, 2, 32}).permute({0, 3, 1, 2}), 4,
                                     4, InterpMode::bicubic)
                             .permute({0, 2, 3, 1})
                             .reshape({1, 16, 32});
    EXPECT_TRUE(same(net.pos_embed.narrow(1, 6, 16).contiguous(), patch.contiguous()));
    test::expect_error([&] { models::load_vit_backbone(net, {}); }, {"load_vit_backbone", "'"});
}

TEST(Mmcst, BadInputErrors) {
    MmcstConfig bad = reduced(MmcstConfig::mmcst());
    bad.image_size = 30;
    test::expect_error([&] { MmcstNet n(bad); }, {"MmcstConfig", "image_size 30", "patch_size 8"});
    bad = reduced(MmcstConfig::mmcst());
    bad.gwrp_decay = 1.5;
    test::expect_error([&] { MmcstNet n(bad); }, {"gwrp_decay", "1.5"});
    bad = reduced(MmcstConfig::mctformer_v2());
    bad.contrast = models::ContrastTarget::clip_image;
    test::expect_error([&] { MmcstNet n(bad); }, {"contrast", "text_tokens"});
    MmcstNet net(reduced(MmcstConfig::mmcst()));
    test::expect_error([&] { net.forward_all(Tensor::zeros({1, 3, 30, 32})); }, {"MmcstNet", "30x32", "patch size 8"});
    test::expect_error([&] { net.forward_all(Tensor::zeros({1, 1, 32, 32})); }, {"MmcstNet", "[1, 1, 32, 32]"});
    test::expect_error([&] { net.set_text_embeddings(Tensor::zeros({3, 8})); }, {"set_text_embeddings", "[3, 8]"});
    const MmcstOutput out = net.forward_all(Tensor::zeros({2, 3, 32, 32}));
    test::expect_error([&] { models::mmcst_loss_terms(net, out, Tensor::zeros({2, 3})); },
                       {"mmcst_loss_terms", "CLIP image embeddings"});
    test::expect_error([&] { models::mmcst_loss_terms(net, out, Tensor::zeros({2, 3}), Tensor::zeros({2, 5})); },
                       {"mmcst_loss_terms", "[2, 5]", "[2, 12]"});
    test::expect_error([&] { models::gwrp_pool(Tensor::zeros({2, 3}), 0.9); }, {"gwrp_pool", "[2, 3]"});
    test::expect_error([&] { models::gwrp_pool(Tensor::zeros({1, 2, 3}), 0.0); }, {"gwrp_pool", "decay"});
    test::expect_error([&] { models::mlsm_loss(Tensor::zeros({2, 3}), Tensor::zeros({2, 4})); },
                       {"mlsm_loss", "[2, 3]", "[2, 4]"});
}


// ---------------------------------------------------------------------------------------------------------------
// The method seam

// A stand-in CLIP: random prompt embeddings, and image embeddings = a fixed linear map of the mean colour and
// of the image's mean/std (distinct per image, constant wrt the network).
models::MmcstClip fake_clip(int64_t C, int64_t E, int64_t E_img) {
    models::MmcstClip clip;
    Generator gen(11);
    clip.text_embeddings = Tensor::randn({C, E}, DType::f32, &gen);
    const Tensor proj = Tensor::randn({5, E_img}, DType::f32, &gen);
    clip.encode_image = [proj](const Tensor& images) {
        const Tensor stats = cat({mean(images, {2, 3}), mean(images, {1, 2, 3}).unsqueeze(1),
                                  std(images, {1, 2, 3}).unsqueeze(1)}, 1);  // (B, 5)
        return matmul(stats, proj);
    };
    return clip;
}

TEST(MmcstMethod, LossesThroughTheSeam) {
    models::MmcstMethod method("mmcst", reduced(MmcstConfig::mmcst()), fake_clip(3, 16, 12));
    EXPECT_EQ(method.name(), "mmcst");
    models::MethodBatch batch;
    Generator gen(5);
    batch.images = Tensor::randn({4, 3, 32, 32}, DType::f32, &gen);
    batch.labels = Tensor::from_vector({1, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 1}, {4, 3});
    batch.clip_images = Tensor::randn({4, 3, 24, 24}, DType::f32, &gen);
    method.network().train();
    const LossTerms terms = method.losses(batch, {});
    ASSERT_EQ(terms.terms.size(), 4u);
    EXPECT_EQ(terms.terms[1].first, "contrast");
    EXPECT_TRUE(std::isfinite(terms.total.item()));
    terms.total.backward();
    for (const auto& [name, p] : method.network().named_parameters())
        EXPECT_TRUE(p.grad().defined()) << name << " got no gradient";
    // The text embeddings were installed in the frozen buffer.
    EXPECT_EQ(method.net().text_embed.to_vector(), fake_clip(3, 16, 12).text_embeddings.to_vector());
    // Without clip_images the contrastive loss cannot run.
    batch.clip_images = Tensor();
    test::expect_error([&] { method.losses(batch, {}); }, {"MmcstMethod::losses", "clip_images"});
}

TEST(MmcstMethod, ParamGroupsFollowTimm) {
    models::MmcstMethod method("mmcst", reduced(MmcstConfig::mmcst()), {});
    const auto groups = method.param_groups();
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_EQ(groups[0].weight_decay_scale, 1.0);
    EXPECT_EQ(groups[1].weight_decay_scale, 0.0);
    auto has = [](const models::ParamGroupSpec& g, const std::string& n) {
        return std::find(g.params.begin(), g.params.end(), n) != g.params.end();
    };
    for (const char* n : {"pos_embed", "cls_token", "blocks.0.norm1.weight", "blocks.1.attn.qkv.bias", "lambda_txt",
                          "lambda_cls", "patch_proj.bias", "text_proj.bias"})
        EXPECT_TRUE(has(groups[1], n)) << n;
    for (const char* n : {"blocks.0.attn.qkv.weight", "patch_embed.proj.weight", "patch_proj.weight",
                          "text_proj.weight", "contrast_proj.weight"})
        EXPECT_TRUE(has(groups[0], n)) << n;
    EXPECT_EQ(groups[0].params.size() + groups[1].params.size(), method.network().named_parameters().size());
}

TEST(MmcstMethod, RecipesAreTheSpecs) {
    const models::Recipe r = models::MmcstMethod("mmcst", reduced(MmcstConfig::mmcst()), {}).recipe();
    EXPECT_EQ(r.optimizer, "adamw");
    EXPECT_EQ(r.batch_size, 32);
    EXPECT_DOUBLE_EQ(r.lr, 5e-4 * 32 / 512);
    EXPECT_EQ(r.epochs, 60);
    EXPECT_EQ(r.warmup_epochs, 5);
    EXPECT_DOUBLE_EQ(r.weight_decay, 0.05);
    EXPECT_EQ(r.input_size, 32);  // the network's training size
    const models::Recipe m = models::MmcstMethod("mctformer", reduced(MmcstConfig::mctformer_v2()), {}).recipe();
    EXPECT_EQ(m.batch_size, 64);
    EXPECT_DOUBLE_EQ(m.lr, 6.25e-5);
    test::expect_error([] { models::MmcstMethod("cam", reduced(MmcstConfig::mmcst()), {}); }, {"MmcstMethod", "'cam'"});
}

TEST(MmcstMethod, Options) {
    MmcstConfig c = models::mmcst_preset("mctformer_v1");
    EXPECT_EQ(c.patch_branch, models::PatchBranch::none);
    models::set_mmcst_option(c, "patch_branch", "correlation");
    models::set_mmcst_option(c, "pooling", "gap");
    models::set_mmcst_option(c, "gwrp_decay", "0.5");
    models::set_mmcst_option(c, "depth", "3");
    models::set_mmcst_option(c, "learnable_temperature", "true");
    EXPECT_EQ(c.pooling, models::CorrPooling::gap);
    EXPECT_EQ(c.depth, 3);
    EXPECT_TRUE(c.learnable_temperature);
    EXPECT_NE(models::mmcst_config_str(c).find("patch_branch=correlation pooling=gap gwrp_decay=0.5"),
              std::string::npos);
    test::expect_error([&] { models::set_mmcst_option(c, "pooling", "max"); }, {"pooling", "gap | gwrp", "'max'"});
    test::expect_error([&] { models::set_mmcst_option(c, "depth", "2.5"); }, {"depth", "integer"});
    test::expect_error([&] { models::set_mmcst_option(c, "colour", "1"); }, {"unknown option", "'colour'"});
    test::expect_error([] { models::mmcst_preset("dino"); }, {"mmcst_preset", "'dino'"});
}

TEST(MmcstMethod, LocalizeGivesNormalizedMapsForTheLabels) {
    for (const MmcstConfig& cfg : {reduced(MmcstConfig::mmcst()), reduced(MmcstConfig::mctformer_v2()),
                                   reduced(MmcstConfig::mctformer_v1())}) {
        models::MmcstMethod method(cfg.text_tokens ? "mmcst" : "mctformer", cfg, fake_clip(3, 16, 12));
        method.network().train();
        Generator gen(9);
        const Tensor image = Tensor::randn({3, 37, 45}, DType::f32, &gen);  // not a multiple of the patch
        const Tensor maps = method.localize(image, {0, 2});
        ASSERT_EQ(maps.shape(), (Shape{3, 37, 45}));
        EXPECT_TRUE(method.network().is_training());  // the mode is restored
        EXPECT_EQ(max(maps.select(0, 1)).item(), 0.0);
        for (int c : {0, 2}) {
            EXPECT_GT(max(maps.select(0, c)).item(), 0.99);  // (max - min) / (max - min + 1e-8)
            EXPECT_LE(max(maps.select(0, c)).item(), 1.0);
            EXPECT_NEAR(min(maps.select(0, c)).item(), 0.0, 1e-6);
        }
        test::expect_error([&] { method.localize(image, {3}); }, {"localize", "label 3"});
        test::expect_error([&] { method.localize(Tensor::zeros({3, 4, 4}), {0}); }, {"localize", "smaller than one patch"});
    }
}

TEST(MmcstMethod, PromptEmbeddingsFromAClip) {
    const std::string vocab = WSDOL_SHARED_DIR "/data/clip/bpe_simple_vocab_16e6.txt.gz";
    tok::ClipTokenizer tokenizer = tok::ClipTokenizer::from_file(vocab);
    models::ClipConfig cc;  // a tiny CLIP with the real vocabulary
    cc.embed_dim = 16;
    cc.image_size = 16;
    cc.vision_width = 16;
    cc.vision_layers = 1;
    cc.vision_heads = 2;
    cc.vision_patch_size = 8;
    cc.text_width = 16;
    cc.text_heads = 2;
    cc.text_layers = 1;
    Generator gen(2);
    models::Clip clip(cc, &gen);
    EXPECT_EQ(models::mmcst_prompts({"dog", "dining table"}),
              (std::vector<std::string>{"a photo of a dog.", "a photo of a dining table."}));
    const models::MmcstClip mc = models::make_mmcst_clip(clip, tokenizer, {"dog", "cat", "bus"});
    ASSERT_EQ(mc.text_embeddings.shape(), (Shape{3, 16}));
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(norm(mc.text_embeddings.select(0, c)).item(), 1.0, 1e-5);
    // The same as encoding the prompt by hand.
    const std::vector<int32_t> row = tokenizer.encode_row("a photo of a cat.", 77, true, true);
    const Tensor ids = Tensor::from_vector(std::vector<double>(row.begin(), row.end()), {1, 77}, DType::i64);
    const Tensor by_hand = normalize(clip.encode_text(ids), 2.0, 1);
    const std::vector<double> a = by_hand.to_vector(), b = mc.text_embeddings.select(0, 1).to_vector();
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-6);
    EXPECT_EQ(mc.encode_image(Tensor::zeros({2, 3, 16, 16})).shape(), (Shape{2, 16}));
    test::expect_error([] { models::mmcst_prompts({"dog"}, "a photo"); }, {"mmcst_prompts", "{}"});
}

TEST(MmcstMethod, BuiltThroughTheRegistry) {
    ASSERT_TRUE(models::has_method("mmcst"));
    ASSERT_TRUE(models::has_method("mctformer"));
    models::MethodConfig mc;
    mc.class_names = {"dog", "cat", "bus"};
    mc.options = {{"image_size", "32"}, {"patch_size", "8"}, {"embed_dim", "32"}, {"depth", "2"},
                  {"num_heads", "4"},   {"v1", "true"}};
    auto v1 = models::make_method("mctformer", mc);
    EXPECT_EQ(v1->name(), "mctformer");
    auto* net = dynamic_cast<MmcstNet*>(&v1->network());
    ASSERT_NE(net, nullptr);
    EXPECT_EQ(net->cfg.patch_branch, models::PatchBranch::none);
    EXPECT_EQ(net->cfg.num_classes, 3);
    EXPECT_EQ(mc.options_used().at("depth"), "2");
    EXPECT_EQ(mc.options_used().at("pooling"), "gap");
    // An unknown option is refused by the registry.
    models::MethodConfig typo = mc;
    typo.options["poolin"] = "gwrp";
    test::expect_error([&] { models::make_method("mctformer", typo); }, {"poolin"});
    // MMCST needs a CLIP to train.
    mc.options.erase("v1");
    test::expect_error([&] { models::make_method("mmcst", mc); }, {"mmcst", "CLIP"});

    // With a (tiny, random) CLIP checkpoint and the real vocabulary.
    const std::filesystem::path dir = std::filesystem::temp_directory_path() / "wsdol_test_mmcst_registry";
    std::filesystem::create_directories(dir);
    mc.clip_checkpoint = test::write_tiny_clip((dir / "clip.safetensors").string(), test::tiny_clip_config(16));
    mc.clip_vocab = WSDOL_SHARED_DIR "/data/clip/bpe_simple_vocab_16e6.txt.gz";
    Generator method_gen(1);
    mc.generator = &method_gen;
    auto method = models::make_method("mmcst", mc);
    auto* mm = dynamic_cast<models::MmcstMethod*>(method.get());
    ASSERT_NE(mm, nullptr);
    EXPECT_EQ(mm->net().cfg.text_dim, 16);
    EXPECT_EQ(mm->net().cfg.image_embed_dim, 16);
    EXPECT_EQ(method->batch_spec().clip_input_size, 16);
    // The prompt embeddings are the CLIP's, in the text_embed buffer.
    tok::ClipTokenizer tokenizer = tok::ClipTokenizer::from_file(mc.clip_vocab);
    const Tensor expected = models::clip_prompt_embeddings(*mm->owned_clip, tokenizer, {"dog", "cat", "bus"});
    EXPECT_EQ(mm->net().text_embed.to_vector(), expected.to_vector());
    models::MethodBatch batch;
    batch.images = Tensor::randn({2, 3, 32, 32});
    batch.labels = Tensor::from_vector({1, 0, 0, 0, 1, 1}, {2, 3});
    batch.clip_images = Tensor::randn({2, 3, 16, 16});
    const LossTerms terms = method->losses(batch, {});
    EXPECT_EQ(terms.terms.size(), 4u);
    EXPECT_TRUE(std::isfinite(terms.total.item()));
    // An ablation row that turns the text tokens off with the CLIP given (Table 5's rows without text tokens; the
    // CLIP given but unused): the method builds and trains.
    mc.options["text_tokens"] = "false";
    mc.options["fusion"] = "global";
    mc.options["contrast"] = "none";  // the contrastive loss is on the text tokens
    Generator ablation_gen(1);
    mc.generator = &ablation_gen;
    auto ablation = models::make_method("mmcst", mc);
    EXPECT_FALSE(dynamic_cast<models::MmcstMethod*>(ablation.get())->net().cfg.text_tokens);
    EXPECT_TRUE(std::isfinite(ablation->losses(batch, {}).total.item()));
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace wsdol
