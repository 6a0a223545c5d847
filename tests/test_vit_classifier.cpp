// test_vit_classifier.cpp — the "vit_classifier" method (the demo's pretraining stand-in) against timm
// (tests/reference/localize/gen_vit_classifier.py): logits, the MLSM loss, all gradients, and the localize() map
// (the class token's last-block attention, flip included); plus its input errors.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"
#include "models/method_registry.h"
#include "models/vit.h"
#include "tests/error_matchers.h"
#include "tests/parity_util.h"

namespace wsdol {
namespace {

models::MethodConfig tiny_config(Generator* gen, int classes = 3) {
    models::MethodConfig c;
    for (int k = 0; k < classes; ++k) c.class_names.push_back("class" + std::to_string(k));
    c.options = {{"image_size", "32"}, {"patch_size", "8"}, {"embed_dim", "32"}, {"depth", "2"}, {"num_heads", "2"}};
    c.generator = gen;
    return c;
}

// The fixture's network: timm VisionTransformer(img 32, patch 8, D 32, depth 2, heads 2, C 3), eval mode.
const test::ParityFixture& fixture() {
    static const test::ParityFixture f(std::string(WSDOL_SOURCE_DIR) +
                                       "/tests/reference/localize/vit_classifier.safetensors");
    return f;
}

std::unique_ptr<models::Method> fixture_method(Generator* gen) {
    models::MethodConfig c = tiny_config(gen);
    c.options["drop_path"] = "0";
    auto method = models::make_method("vit_classifier", c);
    method->network().load_state_dict(fixture().state_dict(), /*strict=*/true);
    return method;
}

TEST(VitClassifier, LogitsLossAndGradientsMatchTimm) {
    Generator gen(3);
    auto method = fixture_method(&gen);
    auto& vit = dynamic_cast<models::VisionTransformer&>(method->network());
    vit.eval();
    const test::ParityFixture& fx = fixture();
    Tensor images = fx.input("images");
    models::MethodBatch batch;
    batch.images = images;
    batch.labels = fx.at("labels");
    const models::LossTerms terms = method->losses(batch, {});
    ASSERT_EQ(terms.terms.size(), 1u);
    EXPECT_EQ(terms.terms[0].first, "mlsm");
    const Tensor logits = vit.forward_all(images).logits;
    fx.expect_outputs({{"logits", logits}, {"mlsm", terms.total}});
    fx.loss({{"logits", logits}}).backward();
    fx.expect_gradients(vit, {{"images", images}});
}

TEST(VitClassifier, MapIsTheClassTokensLastBlockAttention) {
    Generator gen(4);
    auto method = fixture_method(&gen);
    method->network().train();
    const test::ParityFixture& fx = fixture();
    std::vector<int> labels;
    for (double v : fx.at("localize.labels").to_vector()) labels.push_back(static_cast<int>(v));
    const Tensor maps = method->predict(fx.at("localize.image"), labels).maps;  // (3, 37, 45), resized to 32 inside
    fx.expect("localize.maps", maps, test::kParityForwardTol);
    EXPECT_TRUE(method->network().is_training()) << "localize must restore the training mode";
}

TEST(VitClassifier, BadInputsAreNamed) {
    Generator gen(5);
    models::MethodConfig none = tiny_config(&gen, 0);
    test::expect_error([&] { models::make_method("vit_classifier", none); }, {"vit_classifier", "no classes"});
    auto method = models::make_method("vit_classifier", tiny_config(&gen));
    models::MethodBatch batch;
    batch.images = Tensor::randn({2, 3, 32, 32}, DType::f32, &gen);
    batch.labels = Tensor::zeros({2, 4}, DType::f32);
    test::expect_error([&] { method->losses(batch, {}); }, "vit_classifier", {"labels must be (B, 3)", "[2, 4]"});
}

}  // namespace
}  // namespace wsdol
