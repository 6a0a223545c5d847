// test_toco_method.cpp — "toco" and "dial" behind the method seam (models/toco_method.h): registry entries and
// needs, options (unknown --set keys refused, the resolved ones listed), the recipe, one losses() call on a
// MethodBatch with the toco extras (the 2,000-iteration switch through StepContext), predict's segmentation
// probabilities / CAM maps / scores, DIAL's CLIP errors (none given, wrong width), the released layout.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "engine/io/safetensors.h"
#include "engine/ops/ops.h"
#include "models/clip.h"
#include "models/method_registry.h"
#include "models/toco_method.h"
#include "tests/error_matchers.h"
#include "tests/tiny_clip_util.h"

namespace wsdol {
namespace {

// A reduced network through the options (32 x 32 crops, patch 8, 4 blocks), 3 classes.
models::MethodConfig reduced_config(Generator* gen) {
    models::MethodConfig mc;
    mc.class_names = {"dog", "cat", "bus"};
    mc.options = {{"image_size", "32"}, {"patch_size", "8"}, {"embed_dim", "32"}, {"depth", "4"},
                  {"num_heads", "4"}, {"local_crop_size", "16"}, {"cam_input_size", "32"}};
    mc.generator = gen;
    return mc;
}

models::MethodBatch toco_batch() {
    models::MethodBatch b;
    b.images = Tensor::randn({2, 3, 32, 32});
    b.labels = Tensor::from_vector({1, 0, 1, 0, 1, 0}, {2, 3});
    b.extras["valid_box"] = Tensor::from_vector({0, 32, 0, 28, 2, 32, 0, 32}, {2, 4});
    b.extras["global_views"] = stack({b.images, Tensor::randn({2, 3, 32, 32})}, 1);
    b.extras["crop_source"] = Tensor::randn({2, 3, 32, 32});
    return b;
}

std::string tiny_clip(const std::filesystem::path& dir, int64_t width) {
    return test::write_tiny_clip((dir / ("clip" + std::to_string(width) + ".safetensors")).string(),
                                 test::tiny_clip_config(width));
}

TEST(TocoMethod, RegisteredWithNeedsAndRelease) {
    ASSERT_TRUE(models::has_method("toco"));
    ASSERT_TRUE(models::has_method("dial"));
    for (const auto& info : models::registered_methods()) {
        if (info.name == "toco") EXPECT_TRUE(static_cast<bool>(info.from_release));
        if (info.name == "dial") {
            bool clip_required = false;
            for (const auto& n : info.needs) clip_required |= n.name == "clip" && n.required;
            EXPECT_TRUE(clip_required);
        }
    }
}

TEST(TocoMethod, RecipeSpecsAndOneStepEachSideOfTheSwitch) {
    Generator gen(0);
    auto m = models::make_method("toco", reduced_config(&gen));
    const models::Recipe r = m->recipe();
    EXPECT_EQ(r.optimizer, "adamw");
    EXPECT_EQ(r.lr, 6e-5);
    EXPECT_EQ(r.weight_decay, 0.01);
    EXPECT_EQ(r.augmentation, "toco");
    const models::BatchSpec s = m->batch_spec();
    EXPECT_EQ(s.extras, (std::vector<std::string>{"valid_box", "global_views", "crop_source"}));
    EXPECT_FALSE(m->infer_spec().resize_to_input);
    const auto groups = m->param_groups();
    ASSERT_EQ(groups.size(), 4u);
    EXPECT_EQ(groups[2].lr_scale, 10.0);
    EXPECT_EQ(groups[3].lr_scale, 10.0);
    Generator data(1);
    manual_seed(1);
    const models::MethodBatch b = toco_batch();
    models::StepContext early, late;
    early.step = 2000;
    late.step = 2001;
    const models::LossTerms a = m->losses(b, early);
    EXPECT_EQ(a.terms.size(), 6u);
    double without = 0, with = 0;
    for (const auto& [n, t] : a.terms) {
        const double v = t.item();
        EXPECT_TRUE(std::isfinite(v)) << n;
        if (n == "cls" || n == "cls_aux") without += v;
        if (n == "ptc") without += 0.2 * v;
        if (n == "ctc") without += 0.5 * v;
    }
    EXPECT_NEAR(a.total.item(), without, 1e-5 * (1 + std::abs(without)));
    const models::LossTerms c = m->losses(b, late);
    for (const auto& [n, t] : c.terms) {
        if (n == "cls" || n == "cls_aux") with += t.item();
        if (n == "ptc") with += 0.2 * t.item();
        if (n == "ctc") with += 0.5 * t.item();
        if (n == "seg") with += 0.1 * t.item();
        if (n == "reg") with += 0.05 * t.item();
    }
    EXPECT_NEAR(c.total.item(), with, 1e-5 * (1 + std::abs(with)));
}

TEST(TocoMethod, PredictSegmentationMapsScores) {
    Generator gen(0);
    auto m = models::make_method("toco", reduced_config(&gen));
    const models::Prediction p = m->predict(Tensor::randn({3, 36, 44}), {0, 2});
    ASSERT_EQ(p.segmentation.shape(), (Shape{4, 36, 44}));
    EXPECT_NEAR(sum(p.segmentation.select(1, 5).select(1, 7)).item(), 1.0, 1e-5);  // probabilities over K
    ASSERT_EQ(p.maps.shape(), (Shape{3, 36, 44}));
    EXPECT_EQ(max(abs(p.maps.select(0, 1))).item(), 0.0);  // not asked for
    EXPECT_LE(max(p.maps).item(), 1.0);
    ASSERT_EQ(p.scores.shape(), (Shape{3}));
}

TEST(TocoMethod, UnknownOptionAndDialClipErrors) {
    Generator gen(0);
    auto mc = reduced_config(&gen);
    mc.options["w_ptcc"] = "0.1";
    test::expect_error([&] { (void)models::make_method("toco", mc); }, {"w_ptcc"});
    auto dc = reduced_config(&gen);
    test::expect_error([&] { (void)models::make_method("dial", dc); }, {"dial", "needs a CLIP checkpoint"});
    const auto dir = std::filesystem::temp_directory_path() / "wsdol_test_toco_method";
    std::filesystem::create_directories(dir);
    dc.clip_checkpoint = tiny_clip(dir, 16);
    dc.clip_vocab = WSDOL_SHARED_DIR "/data/clip/bpe_simple_vocab_16e6.txt.gz";
    dc.options["text_dim"] = "512";
    test::expect_error([&] { (void)models::make_method("dial", dc); }, {"embeds text in 16 dimensions", "512"});
    dc.options.erase("text_dim");
    auto m = models::make_method("dial", dc);
    const models::LossTerms t = m->losses(toco_batch(), models::StepContext{});
    EXPECT_EQ(t.terms.size(), 8u);  // + gia, lea
    EXPECT_TRUE(std::isfinite(t.total.item()));
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace wsdol
