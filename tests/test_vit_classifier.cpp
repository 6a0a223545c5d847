// test_vit_classifier.cpp — the "vit_classifier" method (the demo's pretraining stand-in): its loss is the MLSM of
// the head's logits, its map is the class token's last-block attention (recomputed here from the attention
// probabilities, flip included), and a timm ViT file with another head fine-tunes it.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"
#include "models/method_registry.h"
#include "models/vit.h"
#include "tests/error_matchers.h"

namespace wsdol {
namespace {

models::MethodConfig tiny_config(Generator* gen, int classes = 3) {
    models::MethodConfig c;
    for (int k = 0; k < classes; ++k) c.class_names.push_back("class" + std::to_string(k));
    c.options = {{"image_size", "32"}, {"patch_size", "8"}, {"embed_dim", "32"}, {"depth", "2"}, {"num_heads", "2"}};
    c.generator = gen;
    return c;
}

TEST(VitClassifier, LossIsTheMultiLabelSoftMarginOfTheHeadLogits) {
    Generator gen(3);
    auto method = models::make_method("vit_classifier", tiny_config(&gen));
    auto& vit = dynamic_cast<models::VisionTransformer&>(method->network());
    vit.eval();  // no drop-path: the same forward twice
    models::MethodBatch batch;
    batch.images = Tensor::randn({2, 3, 32, 32}, DType::f32, &gen);
    batch.labels = Tensor::from_vector({1, 0, 0, 0, 1, 1}, {2, 3}, DType::f32);
    const models::LossTerms terms = method->losses(batch);
    const Tensor logits_tensor = vit.forward_all(batch.images).logits;
    ASSERT_EQ(logits_tensor.shape(), (Shape{2, 3}));
    const std::vector<double> logits = logits_tensor.to_vector(), labels = batch.labels.to_vector();
    // MLSM by hand: -mean over classes of y log s(x) + (1 - y) log(1 - s(x)), averaged over the batch.
    double expected = 0;
    for (int64_t b = 0; b < 2; ++b)
        for (int64_t c = 0; c < 3; ++c) {
            const double x = logits[b * 3 + c], y = labels[b * 3 + c];
            expected -= (y * std::log(1 / (1 + std::exp(-x))) + (1 - y) * std::log(1 / (1 + std::exp(x)))) / 3;
        }
    expected /= 2;
    ASSERT_EQ(terms.terms.size(), 1u);
    EXPECT_EQ(terms.terms[0].first, "mlsm");
    EXPECT_NEAR(terms.total.item(), expected, 1e-5);
    terms.total.backward();
    EXPECT_TRUE(vit.head->weight.grad().defined());
}

TEST(VitClassifier, MapIsTheClassTokensLastBlockAttention) {
    Generator gen(4);
    auto method = models::make_method("vit_classifier", tiny_config(&gen));
    auto& vit = dynamic_cast<models::VisionTransformer&>(method->network());
    const Tensor image = Tensor::randn({3, 32, 40}, DType::f32, &gen);  // resized to the ViT's 32 x 32
    const Tensor maps = method->localize(image, {0, 2});
    ASSERT_EQ(maps.shape(), (Shape{3, 32, 40}));

    // Reference: the image and its mirror at 32 x 32, mean over heads of the last block's attention of the class
    // token to the 16 patches, bilinear to 32 x 40, the mirror's flipped back, summed, min-max normalized.
    NoGradGuard no_grad;
    vit.eval();
    Tensor x = interpolate(image.unsqueeze(0), 32, 32, InterpMode::bilinear, false);
    Tensor sum;
    for (bool mirror : {false, true}) {
        const Tensor in = mirror ? x.flip({3}) : x;
        const models::ViTOutput out = vit.forward_all(in, true);
        const Tensor row = mean(out.attn_probs.back(), {1}).select(1, 0).narrow(1, 1, 16);  // (1, 16)
        Tensor map = interpolate(row.reshape({1, 1, 4, 4}), 32, 40, InterpMode::bilinear, false);
        if (mirror) map = map.flip({3});
        sum = sum.defined() ? add(sum, map) : map;
    }
    const std::vector<double> ref = sum.to_vector(), got = maps.to_vector();  // (32 x 40), (3 x 32 x 40)
    const double lo = min(sum).item(), hi = max(sum).item();
    const size_t P = 32 * 40;
    double worst = 0;
    for (size_t c : {0, 2})
        for (size_t p = 0; p < P; ++p) worst = std::max(worst, std::fabs(got[c * P + p] - (ref[p] - lo) / (hi - lo + 1e-8)));
    EXPECT_LT(worst, 1e-5);
    for (size_t p = 0; p < P; ++p) ASSERT_EQ(got[P + p], 0.0) << "absent class at " << p;
}

TEST(VitClassifier, BadInputsAreNamed) {
    Generator gen(5);
    models::MethodConfig none = tiny_config(&gen, 0);
    test::expect_error([&] { models::make_method("vit_classifier", none); }, {"vit_classifier", "no classes"});
    auto method = models::make_method("vit_classifier", tiny_config(&gen));
    models::MethodBatch batch;
    batch.images = Tensor::randn({2, 3, 32, 32}, DType::f32, &gen);
    batch.labels = Tensor::zeros({2, 4}, DType::f32);
    test::expect_error([&] { method->losses(batch); }, "vit_classifier", {"labels must be (B, 3)", "[2, 4]"});
}

}  // namespace
}  // namespace wsdol
