// test_parity_full_size_resnet.cpp — issue-4 parity at the released sizes (heavy, opt-in: ctest -L heavy):
// torchvision ResNet-50 (224 x 224, batch 2) in eval and train mode, and ResNet-38d / WideResNet-38 (width 64, 4096
// channels, 112 x 112) in eval mode, against PyTorch with random weights. The random networks are built to be well
// posed for an element-wise f32 comparison (BN biases shifted by 4 gamma so rounding is not amplified through the
// ReLUs, loss on the head only, images chosen so PyTorch's own f32 result is within 0.5 of the bounds of its f64
// result: the generator's docstring says why); the tolerances are the shared ones. The fixtures (about 1.3 GB) are
// not committed; write them with
//     python tests/reference/parity/gen_parity_convnets.py --full --out build/full_parity
// and point $WSDOL_FULL_PARITY_DIR at the folder (default: build/full_parity under the source dir, the same
// variable and default as the ViT/CLIP full-size parity tests). A missing fixture FAILS, naming that command.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/resnet.h"
#include "models/wide_resnet38.h"
#include "tests/parity_util.h"
#include "weights/name_maps.h"

namespace wsdol {
namespace {

std::string full_parity_path(const std::string& name) {
    const char* dir = std::getenv("WSDOL_FULL_PARITY_DIR");
    const std::string base = dir && *dir ? std::string(dir) : std::string(WSDOL_SOURCE_DIR) + "/build/full_parity";
    return base + "/" + name;
}

// The fixture, or a failure that says how to write it.
bool fixture_present(const std::string& path) {
    if (std::filesystem::exists(path)) return true;
    ADD_FAILURE() << "full-size parity fixture missing: " << path << "\n  write it with: python "
                  << WSDOL_SOURCE_DIR << "/tests/reference/parity/gen_parity_convnets.py --full --out "
                  << std::filesystem::path(path).parent_path().string()
                  << "\n  (or set WSDOL_FULL_PARITY_DIR to the folder that holds it)";
    return false;
}

// The generator's side table (<fixture>.torch_f32_vs_f64.txt): PyTorch's own f32 result against f64, per key, as
// a fraction of the bound. Printed next to ours, so a failure shows whether f32 arithmetic can meet the bound at
// all for this case. The check itself stays the strict one (ours vs PyTorch's f32).
std::map<std::string, double> torch_self_errors(const std::string& fixture) {
    std::map<std::string, double> out;
    std::ifstream in(fixture + ".torch_f32_vs_f64.txt");
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream ls(line);
        std::string key;
        double v = 0;
        if (ls >> key >> v) out[key] = v;
    }
    return out;
}

// Strict checks of every output (in `outputs`) and gradient, plus a summary of the worst ones: ours vs PyTorch's
// own f32-vs-f64 error for the same key.
void check_all(const test::ParityFixture& f, const std::map<std::string, Tensor>& outputs, const nn::Module& model,
               const Tensor& images) {
    const std::map<std::string, double> torch_err = torch_self_errors(f.path());
    std::vector<std::pair<std::string, Tensor>> checks;
    for (const auto& [name, t] : outputs) checks.emplace_back("output." + name, t);
    for (const auto& [name, p] : model.named_parameters())
        if (p.requires_grad()) checks.emplace_back("grad.param." + name, p.grad());
    checks.emplace_back("grad.input.images", images.grad());
    double worst_fwd = 0, worst_grad = 0;
    std::string worst_fwd_key, worst_grad_key;
    for (const auto& [key, t] : checks) {
        const bool fwd = key.rfind("output.", 0) == 0;
        const double tol = fwd ? test::kParityForwardTol : test::kParityGradTol;
        f.expect(key, t, tol);
        if (!t.defined() || t.shape() != f.at(key).shape()) continue;
        const double frac = test::parity_error_fraction(t, f.at(key), tol);
        double& worst = fwd ? worst_fwd : worst_grad;
        if (frac > worst) {
            worst = frac;
            (fwd ? worst_fwd_key : worst_grad_key) = key;
        }
        auto it = torch_err.find(key);
        if (it != torch_err.end() && frac > 1.0)  // the context of each failure
            std::printf("[parity]   %-44s ours %.3g, PyTorch f32 vs f64 %.3g\n", key.c_str(), frac, it->second);
    }
    auto torch_of = [&](const std::string& k) {
        auto it = torch_err.find(k);
        return it == torch_err.end() ? std::string("n/a") : str(it->second);
    };
    std::printf("[parity] %s: worst forward %.3g (%s; PyTorch's own f32 error %s), worst gradient %.3g (%s; PyTorch's "
                "own %s)\n", f.path().c_str(), worst_fwd, worst_fwd_key.c_str(), torch_of(worst_fwd_key).c_str(),
                worst_grad, worst_grad_key.c_str(), torch_of(worst_grad_key).c_str());
}

void check_resnet50(const char* file, bool train) {
    const std::string path = full_parity_path(file);
    if (!fixture_present(path)) return;
    const auto start = std::chrono::steady_clock::now();
    const test::ParityFixture f(path);
    models::ResNet model(models::resnet50_config());
    weights::load_into(model, f.state_dict(), weights::Architecture::torchvision_resnet);
    model.train(train);
    const Tensor images = f.input("images");
    const models::ResNetOutput out = model.forward_all(images);
    std::map<std::string, Tensor> outputs{{"layer1", out.stages[0]}, {"layer2", out.stages[1]},
                                          {"layer3", out.stages[2]}, {"layer4", out.stages[3]},
                                          {"logits", out.logits}};
    for (const auto& [name, t] : model.state_dict())
        if (f.has("output.state." + name)) outputs["state." + name] = t;
    f.loss(outputs).backward();
    check_all(f, outputs, model, images);
    std::printf("[parity] %s: %.1f s (load, forward, backward, checks)\n", file,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

TEST(ParityFullSize, ResNet50Eval) { check_resnet50("resnet50_eval.safetensors", false); }

TEST(ParityFullSize, ResNet50Train) { check_resnet50("resnet50_train.safetensors", true); }

TEST(ParityFullSize, WideResNet38Eval) {
    const std::string path = full_parity_path("wrn38_full_eval.safetensors");
    if (!fixture_present(path)) return;
    const auto start = std::chrono::steady_clock::now();
    const test::ParityFixture f(path);
    models::WideResNet38Config cfg;  // released size: width 64
    cfg.bn_mode = models::BatchNormMode::normal;
    cfg.freeze_conv1a = false;
    models::WideResNet38 model(cfg);
    const weights::LoadResult r = weights::load_into(model, f.state_dict(), weights::Architecture::wide_resnet38);
    EXPECT_EQ(r.file.description, "WideResNet-38 (ResNet-38d, 4096 output channels, output stride 8)");
    EXPECT_EQ(r.file.parameter_count, 105070912);
    model.eval();
    const Tensor images = f.input("images");
    const models::WideResNet38Output out = model.forward_all(images);
    std::map<std::string, Tensor> outputs{{"b2", out.blocks[0]}, {"b3", out.blocks[1]}, {"b4", out.blocks[2]},
                                          {"b5", out.blocks[3]}, {"b6", out.blocks[4]}, {"b7", out.blocks[5]},
                                          {"conv4", out.conv4},  {"conv5", out.conv5},  {"conv6", out.conv6}};
    f.loss(outputs).backward();
    check_all(f, outputs, model, images);
    std::printf("[parity] wrn38_full_eval.safetensors: %.1f s (load, forward, backward, checks)\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

}  // namespace
}  // namespace wsdol
