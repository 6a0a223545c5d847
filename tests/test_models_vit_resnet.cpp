// test_models_vit_resnet.cpp — timm ViT/DeiT (plain and distilled, models/vit.h) and torchvision ResNet
// (models/resnet.h): the reduced checkpoints of tests/reference/models load strictly with bit-exact tensors and the
// forward matches timm's / torchvision's outputs; num_batches_tracked counters absent from old files are optional.
#include <gtest/gtest.h>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"
#include "models/resnet.h"
#include "models/vit.h"
#include "tests/error_matchers.h"
#include "tests/test_models_util.h"
#include "weights/name_maps.h"

namespace wsdol {
namespace {

using test::expect_close;
using test::expect_state_matches;
using test::load_model_fixture;
using test::tensor_named;
using weights::Architecture;

// Forward tolerances: the same f32 math as PyTorch in another summation order; the largest observed difference
// is 6e-8 on logits of order 0.1-1.
constexpr double kAtol = 1e-6, kRtol = 1e-5;

models::ViTConfig deit_fixture_config(bool distilled) {
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

models::ResNetConfig resnet_fixture_config() {
    models::ResNetConfig c;
    c.layers = {2, 1, 1, 1};
    c.width = 4;
    c.num_classes = 10;
    return c;
}

// (safetensors files list tensors by dtype and name, not in state_dict order; the order is checked at full size
// against the reference state_dicts in test_name_maps.cpp)
void check_state_size(const nn::Module& model, const NamedTensors& sd) { EXPECT_EQ(model.state_dict().size(), sd.size()); }

// ---------------------------------------------------------------- DeiT

TEST(ModelsViT, DeiTLoadsStrictlyAndMatchesTimm) {
    const NamedTensors sd = load_model_fixture("deit.safetensors");
    const NamedTensors ref = load_model_fixture("deit_forward.safetensors");
    models::VisionTransformer model(deit_fixture_config(false));
    check_state_size(model, sd);
    const weights::LoadResult r = weights::load_into(model, sd, Architecture::timm_vit);
    EXPECT_TRUE(r.ok()) << r.str();
    EXPECT_EQ(r.file.arch, Architecture::timm_vit);
    expect_state_matches(model, sd);
    model.eval();
    NoGradGuard no_grad;
    expect_close(model.forward(tensor_named(ref, "images")), tensor_named(ref, "logits"), kAtol, kRtol, "DeiT logits");
}

TEST(ModelsViT, DistilledDeiTLoadsStrictlyAndMatchesTimm) {
    const NamedTensors sd = load_model_fixture("deit_distilled.safetensors");
    const NamedTensors ref = load_model_fixture("deit_distilled_forward.safetensors");
    models::VisionTransformer model(deit_fixture_config(true));
    check_state_size(model, sd);
    EXPECT_EQ(model.pos_embed.shape(), (Shape{1, 18, 32}));  // 2 prefix tokens + 16 patches
    const weights::LoadResult r = weights::load_into(model, sd, Architecture::timm_deit_distilled);
    EXPECT_TRUE(r.ok()) << r.str();
    expect_state_matches(model, sd);
    model.eval();
    NoGradGuard no_grad;
    const models::ViTOutput out = model.forward_all(tensor_named(ref, "images"));
    expect_close(out.logits, tensor_named(ref, "logits"), kAtol, kRtol, "distilled DeiT logits");
    // the output is the mean of the two heads, read from token 0 and token 1
    expect_close(out.logits, div(add(out.cls_logits, out.dist_logits), 2.0), 0, 0, "mean of heads");
    expect_close(out.dist_logits, model.head_dist->forward(out.tokens.select(1, 1)), 0, 0, "dist head on token 1");
}

TEST(ModelsViT, DistilledNeedsOneClassToken) {
    models::ViTConfig c = deit_fixture_config(true);
    c.num_prefix_tokens = 2;
    test::expect_error([&] { models::VisionTransformer m(c); }, {"VisionTransformer", "distilled"});
}

TEST(ModelsViT, PlainAndDistilledCheckpointsDoNotMix) {
    models::VisionTransformer plain(deit_fixture_config(false));
    test::expect_error([&] { weights::load_into(plain, load_model_fixture("deit_distilled.safetensors"), Architecture::timm_vit); },
                       {"load_into (strict)", "architecture mismatch", "timm_deit_distilled", "dist_token",
                        "pos_embed: checkpoint [1, 18, 32] vs model [1, 17, 32]"});
}

// ---------------------------------------------------------------- torchvision ResNet

TEST(ModelsResNet, LoadsStrictlyAndMatchesTorchvision) {
    const NamedTensors sd = load_model_fixture("resnet.safetensors");
    const NamedTensors ref = load_model_fixture("resnet_forward.safetensors");
    models::ResNet model(resnet_fixture_config());
    check_state_size(model, sd);
    const weights::LoadResult r = weights::load_into(model, sd, Architecture::torchvision_resnet);
    EXPECT_TRUE(r.ok()) << r.str();
    EXPECT_TRUE(r.optional_missing.empty());
    expect_state_matches(model, sd);  // including the i64 num_batches_tracked counters
    model.eval();
    NoGradGuard no_grad;
    expect_close(model.forward(tensor_named(ref, "images")), tensor_named(ref, "logits"), kAtol, kRtol, "ResNet logits");
    const models::ResNetOutput all = model.forward_all(tensor_named(ref, "images"));
    EXPECT_EQ(all.stages[3].shape(), (Shape{2, 128, 2, 2}));
    EXPECT_EQ(all.pooled.shape(), (Shape{2, 128}));
}

TEST(ModelsResNet, MissingBatchCountersAreOptional) {
    NamedTensors old;
    for (const auto& [name, t] : load_model_fixture("resnet.safetensors"))
        if (name.find("num_batches_tracked") == std::string::npos) old.emplace_back(name, t);
    models::ResNet model(resnet_fixture_config());
    const weights::LoadResult r = weights::load_into(model, old, Architecture::torchvision_resnet);  // strict
    EXPECT_TRUE(r.ok()) << r.str();
    // stem BN + 5 blocks x 3 BN + 4 downsample BN
    EXPECT_EQ(r.optional_missing.size(), 20u);
    EXPECT_EQ(r.optional_missing.front(), "bn1.num_batches_tracked");
    EXPECT_EQ(model.bn1->num_batches_tracked.item(), 0.0);  // the model keeps its own value
    EXPECT_NE(r.file.description.find("without BN counters"), std::string::npos) << r.file.description;
    EXPECT_NE(r.str().find("optional keys missing (the model keeps its values) (20)"), std::string::npos) << r.str();
    expect_state_matches(model, old, /*skip_absent=*/true);  // everything the file has
    // but a missing running statistic is not optional
    test::expect_error([&] { weights::load_into(model, test::without(old, "layer2.0.bn2.running_var"),
                                                Architecture::torchvision_resnet); },
                       {"missing keys (1)", "layer2.0.bn2.running_var"});
}

TEST(ModelsResNet, NoHeadAndOutputStride16) {
    models::ResNetConfig c = resnet_fixture_config();
    c.num_classes = 0;
    c.strides = {1, 2, 2, 1};  // CLIMS/IRNet: layer4 keeps the resolution
    models::ResNet model(c);
    EXPECT_FALSE(model.fc);
    model.eval();
    NoGradGuard no_grad;
    const models::ResNetOutput out = model.forward_all(Tensor::randn({1, 3, 64, 64}));
    EXPECT_EQ(out.stages[3].shape(), (Shape{1, 128, 4, 4}));
    EXPECT_FALSE(out.logits.defined());
    // the checkpoint's layer4 has a downsample already (channels change) and no fc; strict fails on fc only
    NamedTensors sd = load_model_fixture("resnet.safetensors");
    const weights::LoadResult r = weights::load_into(model, sd, Architecture::torchvision_resnet, false);
    EXPECT_EQ(r.report.unexpected, (std::vector<std::string>{"fc.bias", "fc.weight"}));
    EXPECT_TRUE(r.report.missing.empty());
}

}  // namespace
}  // namespace wsdol
