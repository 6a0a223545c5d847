// test_parity_full_size_transformers.cpp — forward and gradient parity with PyTorch at the released sizes
// (issue 4, heavy, opt-in: ctest -L heavy): timm ViT-B/16 and DeiT-S/16 (batch 1, 224, every block's attention
// probabilities), OpenAI CLIP ViT-B/16 (both towers, 3 real prompts at context 77 / vocab 49408, zero-shot),
// OpenAI CLIP RN50 image tower; random seeded weights. The fixtures (about 2.5 GB) are not committed: they are
// written by
//     python tests/reference/parity/gen_parity_transformers.py --full --out DIR
// and read from $WSDOL_FULL_PARITY_DIR, default <source dir>/build/full_parity. A missing file is a failure
// naming that command. Same bounds as the reduced fixtures: fwd 1e-4 (1 + |b|), grads 1e-3 (1 + |b|).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "tests/parity_transformers_checks.h"

namespace wsdol {
namespace {

std::string full_parity_dir() {
    const char* env = std::getenv("WSDOL_FULL_PARITY_DIR");
    return env && *env ? std::string(env) : std::string(WSDOL_SOURCE_DIR) + "/build/full_parity";
}

// The fixture's path, or "" after a failure that says how to generate it.
std::string full_fixture(const std::string& name) {
    const std::string dir = full_parity_dir();
    const std::string path = dir + "/" + name;
    if (!std::filesystem::exists(path)) {
        ADD_FAILURE() << "missing full-size parity fixture " << path << "; generate the fixtures with\n"
                      << "    python tests/reference/parity/gen_parity_transformers.py --full --out " << dir
                      << "\n(or point WSDOL_FULL_PARITY_DIR at a directory holding them)";
        return "";
    }
    return path;
}

// Wall time of one check, printed next to the [parity] lines.
struct Timer {
    const char* what;
    std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
    ~Timer() {
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("[parity] %s: %.1f s (load, forward, backward, checks)\n", what, s);
    }
};

models::ViTConfig timm_vit(int64_t width, int64_t heads) {
    models::ViTConfig c;  // image 224, patch 16, depth 12, 1000 classes, LayerNorm eps 1e-6
    c.embed_dim = width;
    c.num_heads = heads;
    return c;
}

TEST(ParityFullSizeTransformers, TimmViTB16) {
    const std::string path = full_fixture("full_vit_b16.safetensors");
    if (path.empty()) return;
    Timer t{"full_vit_b16"};
    test::check_vit_parity(path, timm_vit(768, 12));
}

TEST(ParityFullSizeTransformers, TimmDeiTS16) {
    const std::string path = full_fixture("full_deit_s16.safetensors");
    if (path.empty()) return;
    Timer t{"full_deit_s16"};
    test::check_vit_parity(path, timm_vit(384, 6));
}

TEST(ParityFullSizeTransformers, OpenAIClipViTB16BothTowers) {
    const std::string path = full_fixture("full_clip_vit_b16.safetensors");
    if (path.empty()) return;
    Timer t{"full_clip_vit_b16"};
    test::check_clip_parity(path, models::clip_vit_b16_config());
}

TEST(ParityFullSizeTransformers, OpenAIClipRN50ImageTower) {
    const std::string path = full_fixture("full_clip_rn50.safetensors");
    if (path.empty()) return;
    Timer t{"full_clip_rn50"};
    const models::ClipConfig c = models::clip_rn50_config();
    models::ModifiedResNet model(c.vision_resnet_layers, c.embed_dim, c.vision_heads, c.image_size, c.vision_width);
    test::check_clip_resnet_parity(path, model);
}

}  // namespace
}  // namespace wsdol
