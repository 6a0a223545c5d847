// test_clims_method.cpp — the "clims" method through the registry (seam: models/method.h): needs, recipe, options,
// one loss step through a tiny CLIP with the real BPE vocabulary, predict(), from_release, and the errors for a
// missing stage-0 checkpoint, a stage-0 checkpoint of another network and a CLIP file of another architecture.
// (The parity of every piece is tests/test_clims.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "engine/autograd/autograd.h"
#include "engine/data/synth.h"
#include "engine/io/safetensors.h"
#include "engine/ops/ops.h"
#include "error_matchers.h"
#include "models/cam.h"
#include "models/clims_method.h"
#include "models/method_registry.h"
#include "weights/weights_file.h"
#include "tests/tiny_clip_util.h"

namespace wsdol {
namespace {

struct Files {
    std::filesystem::path dir;
    std::string stage0, clip, vit_cam;
};

Files write_files() {
    Files f;
    f.dir = std::filesystem::temp_directory_path() / "wsdol_test_clims_method";
    std::filesystem::create_directories(f.dir);
    // a stage-0 CAM network of the reduced width as a wsdol checkpoint ("model." names)
    models::CamConfig cc = models::cam_config(models::CamBackbone::resnet50, 3);
    cc.resnet.width = 4;
    Generator g0(3);
    models::CamNetwork cam(cc, &g0);
    NamedTensors ckpt;
    for (const auto& [n, t] : cam.state_dict()) ckpt.emplace_back("model." + n, t);
    f.stage0 = (f.dir / "stage0.safetensors").string();
    io::save_safetensors(f.stage0, ckpt);
    // a ViT CAM checkpoint: not a stage-0 ResNet
    models::CamNetwork vit(models::cam_config(models::CamBackbone::vit, 3), &g0);
    NamedTensors vckpt;
    for (const auto& [n, t] : vit.state_dict()) vckpt.emplace_back("model." + n, t);
    f.vit_cam = (f.dir / "vit_cam.safetensors").string();
    io::save_safetensors(f.vit_cam, vckpt);
    // a tiny CLIP (ViT tower, input 32, heads of width 64)
    f.clip = test::write_tiny_clip((f.dir / "clip.safetensors").string(), test::tiny_clip_config(16, 32, 16));
    return f;
}

models::MethodConfig config(const Files& f, Generator* gen) {
    models::MethodConfig mc;
    mc.class_names = data::synth_class_names(3);
    mc.options = {{"width", "4"}};
    mc.backbone_weights = f.stage0;
    mc.clip_checkpoint = f.clip;
    mc.clip_vocab = WSDOL_SHARED_DIR "/data/clip/bpe_simple_vocab_16e6.txt.gz";
    mc.generator = gen;
    return mc;
}

TEST(ClimsMethod, RegistryNeedsRecipeAndOneStep) {
    const Files f = write_files();
    ASSERT_TRUE(models::has_method("clims"));
    for (const auto& info : models::registered_methods()) {
        if (info.name != "clims") continue;
        ASSERT_EQ(info.needs.size(), 2u);
        EXPECT_EQ(info.needs[0].name, "backbone");
        EXPECT_TRUE(info.needs[0].required);
        EXPECT_EQ(info.needs[1].name, "clip");
        EXPECT_TRUE(info.needs[1].required);
        EXPECT_TRUE(static_cast<bool>(info.from_release));
    }
    Generator gen(1);
    models::MethodConfig mc = config(f, &gen);
    auto method = models::make_method("clims", mc);
    EXPECT_EQ(mc.options_used().at("backgrounds"), "auto");
    EXPECT_EQ(mc.options_used().at("hyper"), "10,24,1,0.2");
    const models::Recipe r = method->recipe();
    EXPECT_EQ(r.optimizer, "sgd");
    EXPECT_EQ(r.lr, 2.5e-4);
    EXPECT_EQ(r.momentum, 1e-4);
    EXPECT_EQ(r.weight_decay, 1e-4);
    EXPECT_EQ(r.epochs, 15);
    EXPECT_EQ(r.batch_size, 16);
    EXPECT_EQ(r.schedule, "poly");
    EXPECT_EQ(r.augmentation, "irn");
    EXPECT_FALSE(method->infer_spec().resize_to_input);
    const auto groups = method->param_groups();
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_EQ(groups[1].params, (std::vector<std::string>{"classifier.weight"}));
    EXPECT_EQ(groups[1].lr_scale, 10.0);
    for (const auto& p : groups[0].params) EXPECT_TRUE(p != "resnet50.conv1.weight" && p != "resnet50.bn1.weight");

    // the network holds the stage-0 weights
    auto* cm = dynamic_cast<models::ClimsMethod*>(method.get());
    ASSERT_NE(cm, nullptr);
    const NamedTensors stage0 = io::load_safetensors(f.stage0);
    for (const auto& [n, t] : cm->net().state_dict())
        for (const auto& [m, u] : stage0)
            if (m == "model." + n) EXPECT_EQ(t.to_vector(), u.to_vector()) << n;

    models::MethodBatch batch;
    Generator dg(7);
    batch.images = Tensor::randn({2, 3, 64, 64}, DType::f32, &dg);
    batch.labels = Tensor::from_vector({1, 0, 1, 0, 1, 0}, {2, 3});
    method->network().train(true);
    const models::LossTerms lt = method->losses(batch, models::StepContext{});
    ASSERT_EQ(lt.terms.size(), 4u);
    double expect = 0;
    const double w[4] = {10, 24, 1, 0.2};
    for (size_t i = 0; i < 4; ++i) {
        EXPECT_TRUE(std::isfinite(lt.terms[i].second.item())) << lt.terms[i].first;
        expect += w[i] * lt.terms[i].second.item();
    }
    EXPECT_NEAR(lt.total.item(), expect, 1e-5 * (1 + std::abs(expect)));
    lt.total.backward();
    EXPECT_TRUE(cm->net().classifier->weight.grad().defined());

    const Tensor image = Tensor::randn({3, 37, 45}, DType::f32, &dg);
    const models::Prediction p = method->predict(image, {0, 2});
    ASSERT_EQ(p.maps.shape(), (Shape{3, 37, 45}));
    EXPECT_EQ(max(p.maps.select(0, 1)).item(), 0.0);
    EXPECT_LE(max(p.maps).item(), 1.0);
}

TEST(ClimsMethod, ErrorsNameTheFile) {
    const Files f = write_files();
    Generator gen(1);
    models::MethodConfig mc = config(f, &gen);
    mc.backbone_weights = "";
    test::expect_error([&] { models::make_method("clims", mc); }, {"clims", "stage-0"});
    mc = config(f, &gen);
    mc.backbone_weights = f.vit_cam;
    test::expect_error([&] { models::make_method("clims", mc); }, {"clims", f.vit_cam});
    mc = config(f, &gen);
    mc.clip_checkpoint = f.stage0;  // a CAM network is not a CLIP
    test::expect_error([&] { models::make_method("clims", mc); }, {f.stage0});
    mc = config(f, &gen);
    mc.options["hyper"] = "10,24,1";
    test::expect_error([&] { models::make_method("clims", mc); }, {"clims", "hyper", "4"});
    mc = config(f, &gen);
    mc.options["backgrounds"] = "auto";
    mc.class_names = {"a", "b", "c"};
    test::expect_error([&] { models::make_method("clims", mc); }, {"clims", "backgrounds"});
}

// The project's option rules (tests/test_options.cpp) for clims: builds from its defaults without files when the
// runner restores a checkpoint, names an unknown option with the valid ones, and a malformed number by option.
TEST(ClimsMethod, OptionVocabulary) {
    auto cfg = [](std::map<std::string, std::string> o) {
        models::MethodConfig c;
        c.class_names = {"a", "b", "c"};
        c.options = std::move(o);
        c.weights_from_checkpoint = true;
        return c;
    };
    models::MethodConfig d = cfg({{"width", "4"}});
    EXPECT_NO_THROW(models::make_method("clims", d));
    test::expect_error([&] { models::make_method("clims", cfg({{"width", "4"}, {"no_such_option", "1"}})); },
                       {"method clims", "unknown option 'no_such_option'", "valid options:"});
    for (const std::string key : {"width", "cbs_threshold", "clip_head_width"}) {
        std::map<std::string, std::string> o = {{key, "abc"}};
        o.emplace("width", "4");  // kept as "abc" when key is width
        test::expect_error([&] { models::make_method("clims", cfg(o)); }, {"method option '" + key + "'", "expected"});
    }
    test::expect_error([&] { models::make_method("clims", cfg({{"width", "4"}, {"variant", "paper"}})); },
                       {"clims", "paper"});
    test::expect_error([&] { models::make_method("clims", cfg({{"width", "4"}, {"scales", "1,x"}})); },
                       {"clims", "scales"});
}

TEST(ClimsMethod, FromRelease) {
    const Files f = write_files();
    // an IRNet/CLIMS PyTorch state_dict: resnet50.* + classifier.weight, with IRNet's alias keys
    const NamedTensors stage0 = io::load_safetensors(f.stage0);
    NamedTensors sd;
    for (const auto& [n, t] : stage0) sd.emplace_back(n.substr(6), t);
    for (const auto& [n, t] : stage0)
        if (n.rfind("model.resnet50.layer4.", 0) == 0) sd.emplace_back("stage4.0." + n.substr(22), t);
    const std::string pth = (f.dir / "res50_clims.pth").string();
    weights::write_torch_zip(pth, sd);
    models::MethodConfig mc;
    mc.options = {{"width", "4"}};
    auto m = models::clims_from_release(pth, mc);
    ASSERT_EQ(mc.class_names.size(), 3u);
    auto* cm = dynamic_cast<models::ClimsMethod*>(m.get());
    ASSERT_NE(cm, nullptr);
    EXPECT_FALSE(cm->has_evaluator());
    for (const auto& [n, t] : stage0)
        if (n == "model.classifier.weight") EXPECT_EQ(cm->net().classifier->weight.to_vector(), t.to_vector());
    // the alias key is ignored, a key of another network is not
    sd.emplace_back("vit.pos_embed", Tensor::zeros({1, 4, 8}));
    weights::write_torch_zip(pth, sd);
    models::MethodConfig mc2;
    mc2.options = {{"width", "4"}};
    test::expect_error([&] { models::clims_from_release(pth, mc2); }, {"clims", pth, "vit.pos_embed"});
}

}  // namespace
}  // namespace wsdol
