// test_models_torch_formats.cpp — the reduced checkpoints in PyTorch's own formats (torch.save zip, DeiT's
// {'model': state_dict}, the legacy pickle stream, the TorchScript archive of the OpenAI release) read with
// weights::read_weights carry exactly the tensors of their safetensors twins (same dtypes: f16 stays f16) and load
// strictly into our models through load_into.
#include <gtest/gtest.h>

#include <set>

#include "engine/autograd/autograd.h"
#include "models/clip.h"
#include "models/resnet.h"
#include "models/vit.h"
#include "tests/test_models_util.h"
#include "weights/name_maps.h"
#include "weights/weights_file.h"

namespace wsdol {
namespace {

using test::load_model_fixture;
using test::model_fixture;
using weights::Architecture;
using weights::Format;

// The file's tensors equal the safetensors twin's, name for name and byte for byte, in the same dtype.
// `extras`: names only the torch file may carry (the TorchScript release's scalars).
void expect_same_tensors(const weights::WeightsFile& file, const NamedTensors& twin,
                         const std::set<std::string>& extras = {}) {
    std::map<std::string, Tensor> mine(file.tensors.begin(), file.tensors.end());
    for (const auto& [name, t] : twin) {
        auto it = mine.find(name);
        if (it == mine.end()) {
            ADD_FAILURE() << file.path << ": no '" << name << "'";
            continue;
        }
        EXPECT_EQ(it->second.dtype(), t.dtype()) << name;
        EXPECT_EQ(it->second.shape(), t.shape()) << name;
        EXPECT_TRUE(it->second.dtype() == t.dtype() && it->second.shape() == t.shape() &&
                    test::bytes_of(it->second) == test::bytes_of(t))
            << name << " differs";
        mine.erase(it);
    }
    for (const auto& [name, t] : mine) {
        const bool mask = name.size() >= 9 && name.compare(name.size() - 9, 9, "attn_mask") == 0;
        EXPECT_TRUE(extras.count(name) || mask) << file.path << ": unexpected extra tensor '" << name << "'";
    }
}

std::shared_ptr<models::Clip> clip_for(const NamedTensors& openai_named) {
    return std::make_shared<models::Clip>(models::clip_config_from_state_dict(openai_named, 16));
}

TEST(ModelsTorchFormats, OpenAICLIPTorchZip) {
    const weights::WeightsFile f = weights::read_weights(model_fixture("clip_vit.pth"));
    EXPECT_EQ(f.format, Format::torch_zip);
    EXPECT_EQ(f.state_dict_key, "");
    const NamedTensors twin = load_model_fixture("clip_vit.safetensors");
    expect_same_tensors(f, twin);
    auto model = clip_for(twin);
    const weights::LoadResult r = weights::load_into(*model, f.tensors, Architecture::openai_clip_vit);
    EXPECT_TRUE(r.ok()) << r.str();
    test::expect_state_matches(*model, twin);
}

// The OpenAI release: a TorchScript archive with fp16 and fp32 tensors and three int scalars.
void check_torchscript(const std::string& tag, Architecture arch) {
    const weights::WeightsFile f = weights::read_weights(model_fixture(tag + "_fp16.pt"));
    EXPECT_EQ(f.format, Format::torchscript);
    const NamedTensors twin = load_model_fixture(tag + "_fp16.safetensors");
    expect_same_tensors(f, twin, {"input_resolution", "context_length", "vocab_size"});
    auto model = clip_for(twin);
    const weights::LoadResult r = weights::load_into(*model, f.tensors, arch);
    EXPECT_TRUE(r.ok()) << r.str();
    test::expect_state_matches(*model, twin);
}

TEST(ModelsTorchFormats, OpenAICLIPViTTorchScriptRelease) {
    check_torchscript("clip_vit", Architecture::openai_clip_vit);
}

TEST(ModelsTorchFormats, OpenAICLIPResNetTorchScriptRelease) {
    check_torchscript("clip_rn", Architecture::openai_clip_resnet);
}

TEST(ModelsTorchFormats, HFCLIPTorchZip) {
    const weights::WeightsFile f = weights::read_weights(model_fixture("hf_clip.pth"));
    EXPECT_EQ(f.format, Format::torch_zip);
    const NamedTensors twin = load_model_fixture("hf_clip.safetensors");
    expect_same_tensors(f, twin);
    auto model = clip_for(weights::hf_clip_to_openai(twin).tensors);
    const weights::LoadResult r = weights::load_into(*model, f.tensors, Architecture::openai_clip_vit);
    EXPECT_TRUE(r.ok()) << r.str();
    test::expect_state_matches(*model, weights::hf_clip_to_openai(twin).tensors);
}

models::ViTConfig deit_config(bool distilled) {
    models::ViTConfig c;
    c.image_size = 32;
    c.patch_size = 8;
    c.embed_dim = 32;
    c.depth = 2;
    c.num_heads = 2;
    c.num_classes = 10;
    c.distilled = distilled;
    return c;
}

void check_deit_release(const std::string& tag, bool distilled) {
    const weights::WeightsFile f = weights::read_weights(model_fixture(tag + ".pth"));
    EXPECT_EQ(f.format, Format::torch_zip);
    EXPECT_EQ(f.state_dict_key, "model");  // the DeiT release layout {'model': state_dict}
    const NamedTensors twin = load_model_fixture(tag + ".safetensors");
    expect_same_tensors(f, twin);
    models::VisionTransformer model(deit_config(distilled));
    const weights::LoadResult r = weights::load_into(
        model, f.tensors, distilled ? Architecture::timm_deit_distilled : Architecture::timm_vit);
    EXPECT_TRUE(r.ok()) << r.str();
    test::expect_state_matches(model, twin);
}

TEST(ModelsTorchFormats, DeiTReleaseLayout) {
    check_deit_release("deit", false);
}

TEST(ModelsTorchFormats, DistilledDeiTReleaseLayout) {
    check_deit_release("deit_distilled", true);
}

models::ResNetConfig resnet_config() {
    models::ResNetConfig c;
    c.layers = {2, 1, 1, 1};
    c.width = 4;
    c.num_classes = 10;
    return c;
}

TEST(ModelsTorchFormats, TorchvisionResNetTorchZip) {
    const weights::WeightsFile f = weights::read_weights(model_fixture("resnet.pth"));
    EXPECT_EQ(f.format, Format::torch_zip);
    const NamedTensors twin = load_model_fixture("resnet.safetensors");
    expect_same_tensors(f, twin);
    models::ResNet model(resnet_config());
    const weights::LoadResult r = weights::load_into(model, f.tensors, Architecture::torchvision_resnet);
    EXPECT_TRUE(r.ok()) << r.str();
    EXPECT_TRUE(r.optional_missing.empty());
    test::expect_state_matches(model, twin);
}

TEST(ModelsTorchFormats, TorchvisionResNetLegacyPickleWithoutCounters) {
    const weights::WeightsFile f = weights::read_weights(model_fixture("resnet_legacy.pth"));
    EXPECT_EQ(f.format, Format::torch_legacy_pickle);
    NamedTensors twin;
    for (const auto& [name, t] : load_model_fixture("resnet.safetensors"))
        if (name.find("num_batches_tracked") == std::string::npos) twin.emplace_back(name, t);
    expect_same_tensors(f, twin);
    models::ResNet model(resnet_config());
    const weights::LoadResult r = weights::load_into(model, f.tensors, Architecture::torchvision_resnet);  // strict
    EXPECT_TRUE(r.ok()) << r.str();
    EXPECT_EQ(r.optional_missing.size(), 20u);
    test::expect_state_matches(model, twin, /*skip_absent=*/true);
}

}  // namespace
}  // namespace wsdol
