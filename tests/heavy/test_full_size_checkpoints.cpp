// test_full_size_checkpoints.cpp — a full-size OpenAI CLIP ViT-B/16 checkpoint (the 302 real names and shapes,
// random weights, the release's fp16/fp32 mix of clip/model.py convert_weights) is written on demand as
// safetensors and as a PyTorch zip, read back through weights::read_weights, recognised by detect_architecture,
// and loaded strictly into models::Clip with every tensor bit-exact. Heavy (ctest -L heavy): ~600 MB per file.
// The TorchScript and legacy formats are covered at reduced size by tests/test_models_torch_formats.cpp (the
// same records and pickles; the size changes nothing in their structure).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "engine/autograd/autograd.h"
#include "engine/io/safetensors.h"
#include "models/clip.h"
#include "weights/architecture.h"
#include "weights/name_maps.h"
#include "weights/weights_file.h"

namespace wsdol {
namespace {

// convert_weights(): Conv/Linear weights and biases, attention in/out projections and the two projection
// matrices are fp16; embeddings, LayerNorms and logit_scale stay fp32.
bool release_half(const std::string& name) {
    if (name.find("ln_") != std::string::npos || name.find("embedding") != std::string::npos) return false;
    return name == "visual.proj" || name == "text_projection" || name == "visual.conv1.weight" ||
           name.find(".attn.") != std::string::npos || name.find(".mlp.") != std::string::npos;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
    if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
    const Tensor ca = a.contiguous(), cb = b.contiguous();
    return std::memcmp(ca.data_ptr(), cb.data_ptr(), size_t(ca.numel()) * dtype_size(ca.dtype())) == 0;
}

TEST(FullSizeCheckpoints, ClipViTB16InEveryWritableFormat) {
    NoGradGuard no_grad;
    models::Clip source(models::clip_vit_b16_config());
    NamedTensors release;
    for (const auto& [name, t] : source.state_dict())
        release.emplace_back(name, release_half(name) ? t.to(DType::f16) : t);
    ASSERT_EQ(release.size(), 302u);

    const std::string dir = testing::TempDir();
    const std::string st = dir + "/wsdol_full_clip_b16.safetensors", pt = dir + "/wsdol_full_clip_b16.pt";
    io::save_safetensors(st, release);
    weights::write_torch_zip(pt, release);
    for (const auto& [path, format] : {std::pair{st, weights::Format::safetensors},
                                       std::pair{pt, weights::Format::torch_zip}}) {
        SCOPED_TRACE(path);
        const weights::WeightsFile file = weights::read_weights(path);
        EXPECT_EQ(file.format, format);
        ASSERT_EQ(file.tensors.size(), release.size());
        for (size_t i = 0; i < release.size(); ++i) {
            const auto it = std::find_if(file.tensors.begin(), file.tensors.end(),
                                         [&](const auto& kv) { return kv.first == release[i].first; });
            ASSERT_NE(it, file.tensors.end()) << release[i].first;
            EXPECT_TRUE(same_bytes(it->second, release[i].second)) << release[i].first;
        }
        const weights::DetectedArchitecture arch = weights::detect_architecture(file.tensors);
        EXPECT_EQ(arch.arch, weights::Architecture::openai_clip_vit);
        EXPECT_EQ(arch.parameter_count, 149620737);
        EXPECT_NE(arch.description.find("ViT-B/16"), std::string::npos) << arch.description;

        models::Clip target(models::clip_vit_b16_config());
        const weights::LoadResult loaded =
            weights::load_into(target, file.tensors, weights::Architecture::openai_clip_vit, /*strict=*/true);
        EXPECT_TRUE(loaded.ok()) << loaded.str();
        // Loading converts each tensor from its own dtype to the model's f32: fp16 values widen exactly.
        for (const auto& [name, t] : target.state_dict()) {
            const auto it = std::find_if(release.begin(), release.end(), [&](const auto& kv) { return kv.first == name; });
            ASSERT_NE(it, release.end()) << name;
            EXPECT_TRUE(same_bytes(t, it->second.to(t.dtype()))) << name;
        }
    }
    std::filesystem::remove(st);
    std::filesystem::remove(pt);
}

}  // namespace
}  // namespace wsdol
