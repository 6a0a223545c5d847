// test_cam.cpp — the CAM baselines (models/cam.h, models/cam_method.h) against PyTorch
// (tests/reference/localize/gen_cam.py): forward, MLSM, gradients, and the full localize() recipe.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "engine/io/safetensors.h"
#include "engine/ops/ops.h"
#include "models/cam_method.h"
#include "models/method_registry.h"
#include "tests/error_matchers.h"
#include "tests/parity_util.h"

namespace wsdol::models {
namespace {

using test::ParityFixture;

std::string fixture_path(const std::string& name) {
    return std::string(WSDOL_SOURCE_DIR) + "/tests/reference/localize/" + name;
}

// The reduced networks of gen_cam.py.
CamConfig tiny_resnet_config() {
    CamConfig c = cam_config(CamBackbone::resnet50, 3);
    c.resnet.layers = {1, 1, 1, 1};
    c.resnet.width = 2;
    return c;
}

CamConfig tiny_vit_config() {
    CamConfig c = cam_config(CamBackbone::vit, 3);
    c.vit.image_size = 32;
    c.vit.patch_size = 8;
    c.vit.embed_dim = 32;
    c.vit.depth = 2;
    c.vit.num_heads = 2;
    return c;
}

void check_parity(const std::string& name, const CamConfig& cfg) {
    const ParityFixture fx(fixture_path(name));
    CamMethod method(cfg);
    method.network().load_state_dict(fx.state_dict(), /*strict=*/true);
    method.network().train(true);  // fixed BN must still use running statistics
    Tensor images = fx.input("images");
    const Tensor labels = fx.at("labels");
    CamOutput out = method.net().forward_cam(images, true);
    MethodBatch batch{images, labels, Tensor()};
    const LossTerms terms = method.losses(batch, {});
    ASSERT_EQ(terms.terms.size(), 1u);
    EXPECT_EQ(terms.terms[0].first, "mlsm");
    fx.expect_outputs({{"logits", out.logits}, {"cams", out.cams}, {"mlsm", terms.total}});
    fx.loss({{"logits", out.logits}, {"cams", out.cams}}).backward();
    // Only trainable parameters have gradients in the file (conv1/bn1 are frozen in the ResNet).
    size_t compared = 0;
    for (const auto& [pname, p] : method.network().named_parameters()) {
        if (!p.requires_grad()) {
            EXPECT_FALSE(fx.has("grad.param." + pname)) << pname << " is trainable in PyTorch";
            continue;
        }
        fx.expect("grad.param." + pname, p.grad(), test::kParityGradTol);
        ++compared;
    }
    EXPECT_GT(compared, 10u);
    fx.expect("grad.input.images", images.grad(), test::kParityGradTol);
}

TEST(CamMethod, ResNetMatchesIrnet) { check_parity("cam_resnet.safetensors", tiny_resnet_config()); }
TEST(CamMethod, VitMatchesReference) { check_parity("cam_vit.safetensors", tiny_vit_config()); }

std::vector<int> labels_of(const Tensor& t) {
    std::vector<int> out;
    for (double v : t.to_vector()) out.push_back(static_cast<int>(v));
    return out;
}

void check_localize(const std::string& name, const CamConfig& cfg) {
    const ParityFixture fx(fixture_path(name));
    CamMethod method(cfg);
    method.network().load_state_dict(fx.state_dict(), true);
    const Tensor maps = method.localize(fx.at("localize.image"), labels_of(fx.at("localize.labels")));
    fx.expect("localize.maps", maps, test::kParityForwardTol);
    EXPECT_TRUE(method.network().is_training()) << "localize must restore the training mode";
}

TEST(CamMethod, ResNetLocalizeMatchesMakeCam) { check_localize("cam_resnet.safetensors", tiny_resnet_config()); }
TEST(CamMethod, VitLocalizeMatchesReference) { check_localize("cam_vit.safetensors", tiny_vit_config()); }

TEST(CamMethod, ResNetStructure) {
    CamMethod method(tiny_resnet_config());
    // IRNet: output stride 16 (a 64 x 64 input gives a 4 x 4 map), conv1/bn1 frozen, BN always in eval mode.
    const CamOutput out = method.net().forward_cam(Tensor::randn({1, 3, 64, 64}), true);
    EXPECT_EQ(out.cams.shape(), Shape({1, 3, 4, 4}));
    EXPECT_FALSE(method.net().resnet50->conv1->weight.requires_grad());
    EXPECT_FALSE(method.net().resnet50->bn1->weight.requires_grad());
    EXPECT_FALSE(method.net().resnet50->bn1->is_training());
    EXPECT_TRUE(method.net().classifier->is_training());
    const auto groups = method.param_groups();
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_EQ(groups[1].name, "classifier");
    EXPECT_EQ(groups[1].params, std::vector<std::string>({"classifier.weight"}));
    EXPECT_EQ(groups[1].lr_scale, 10.0);
    for (const auto& n : groups[0].params) EXPECT_EQ(n.find("resnet50.conv1."), std::string::npos) << n;
    const Recipe r = method.recipe();
    EXPECT_EQ(r.optimizer, "sgd");
    EXPECT_EQ(r.schedule, "poly");
    EXPECT_EQ(r.momentum, 1e-4);
    EXPECT_EQ(method.test_time.scales, std::vector<double>({1.0, 0.5, 1.5, 2.0}));
}

TEST(CamMethod, VitDefaultsAndGroups) {
    auto method = make_cam_method("vit", 20);
    EXPECT_EQ(method->name(), "cam");
    const Recipe r = method->recipe();
    EXPECT_EQ(r.input_size, 64);
    for (const auto& g : method->param_groups())
        for (const auto& n : g.params) {
            const bool no_decay = n.find("pos_embed") != std::string::npos || n.find("cls_token") != std::string::npos ||
                                  n.find("bias") != std::string::npos || n.find("norm") != std::string::npos;
            EXPECT_EQ(g.weight_decay_scale, no_decay ? 0.0 : 1.0) << n;
        }
    const Tensor maps = method->predict(Tensor::randn({3, 21, 30}), {4, 7}).maps;
    ASSERT_EQ(maps.shape(), Shape({20, 21, 30}));
    EXPECT_LE(max(maps).item(), 1.0);
    EXPECT_GE(min(maps).item(), 0.0);
    EXPECT_EQ(sum(maps.select(0, 0)).item(), 0.0);
}

TEST(CamMethod, RegisteredWithOptions) {
    ASSERT_TRUE(has_method("cam"));
    MethodConfig cfg;
    cfg.class_names = {"a", "b", "c"};
    cfg.options = {{"backbone", "vit"}, {"image_size", "32"}, {"embed_dim", "32"}, {"depth", "2"}, {"num_heads", "2"}};
    auto method = make_method("cam", cfg);
    EXPECT_EQ(method->name(), "cam");
    EXPECT_EQ(method->recipe().input_size, 32);
    const LossTerms t = method->losses({Tensor::randn({2, 3, 32, 32}), Tensor::ones({2, 3})}, {});
    EXPECT_EQ(t.terms[0].first, "mlsm");
    MethodConfig typo = cfg;
    typo.options["depht"] = "3";
    test::expect_error([&] { make_method("cam", typo); }, {"depht"});
}

// resnet_bn=normal: the pretraining stand-in (train-mode BN, stem trained); its checkpoint is a stage-0 backbone
// (every ResNet tensor, BN statistics included; its classifier dropped).
TEST(CamMethod, PretrainedCamCheckpointAsResNetBackbone) {
    MethodConfig cfg;
    cfg.class_names = {"a", "b", "c", "d"};
    cfg.options = {{"backbone", "resnet50"}, {"width", "4"}, {"resnet_bn", "normal"}};
    Generator g(5);
    cfg.generator = &g;
    auto pre = make_method("cam", cfg);
    auto* pm = dynamic_cast<CamMethod*>(pre.get());
    ASSERT_NE(pm, nullptr);
    EXPECT_TRUE(pm->net().resnet50->bn1->is_training());
    EXPECT_TRUE(pm->net().resnet50->conv1->weight.requires_grad());
    (void)pm->net().forward(Tensor::randn({2, 3, 32, 32}, DType::f32, &g));  // moves the BN statistics
    const auto dir = std::filesystem::temp_directory_path() / "wsdol_test_cam_pretrained";
    std::filesystem::create_directories(dir);
    const std::string file = (dir / "pre.safetensors").string();
    NamedTensors ckpt;
    for (const auto& [n, t] : pm->net().state_dict()) ckpt.emplace_back("model." + n, t);
    io::save_safetensors(file, ckpt);
    MethodConfig stage0;
    stage0.class_names = {"a", "b", "c"};  // another class count: the classifier is not loaded
    stage0.options = {{"backbone", "resnet50"}, {"width", "4"}};
    stage0.backbone_weights = file;
    auto m = make_method("cam", stage0);
    auto* cm = dynamic_cast<CamMethod*>(m.get());
    ASSERT_NE(cm, nullptr);
    EXPECT_FALSE(cm->net().resnet50->bn1->is_training());
    size_t compared = 0;
    for (const auto& [n, t] : cm->net().state_dict())
        for (const auto& [k, u] : ckpt)
            if (k == "model." + n && n.rfind("resnet50.", 0) == 0) {
                EXPECT_EQ(t.to_vector(), u.to_vector()) << n;
                ++compared;
            }
    EXPECT_GT(compared, 100u);
    MethodConfig bad = cfg;
    bad.options["resnet_bn"] = "fixed";
    test::expect_error([&] { make_method("cam", bad); }, {"cam", "resnet_bn", "fixed"});
    std::filesystem::remove_all(dir);
}

TEST(CamMethod, BadInputsName) {
    test::expect_error([] { make_cam_method("vgg", 20); }, "cam: unknown backbone 'vgg'", {});
    CamMethod method(tiny_vit_config());
    MethodBatch batch{Tensor::zeros({2, 3, 32, 32}), Tensor::zeros({2, 5}), Tensor()};
    test::expect_error([&] { method.losses(batch, {}); }, "cam: labels must be (B, 3)", {"[2, 5]"});
    test::expect_error([&] { method.net().forward_cam(Tensor::zeros({1, 3, 48, 48}), false); }, "cam: the vit",
                       {"32x32", "[1, 3, 48, 48]"});
}

}  // namespace
}  // namespace wsdol::models
