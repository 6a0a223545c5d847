// test_parity_convnets.cpp — issue-4 parity of the CNN backbones with PyTorch: torchvision's ResNet (Bottleneck;
// torchvision strides, IRNet/CLIMS strides, replace_stride_with_dilation for OS 8 / 16; BatchNorm normal / frozen /
// fixed; frozen stem) and PSA's ResNet-38d (models/wide_resnet38.h), at reduced sizes. Fixtures:
// tests/reference/parity/gen_parity_convnets.py (seeded, committed). Checked: every stage output, logits / pooled
// features, the BN buffers after a train-mode forward ("state.*"), and the gradients of the fixture's loss wrt the
// input and every trainable parameter; frozen parameters must get no gradient at all.
#include <gtest/gtest.h>

#include "models/resnet.h"
#include "models/wide_resnet38.h"
#include "tests/parity_util.h"
#include "weights/name_maps.h"

namespace wsdol {
namespace {

using models::BatchNormMode;
using test::ParityFixture;

// The reduced torchvision config of gen_parity_convnets.write_resnet (width 3, layers 2, 1, 2, 2, 5 classes).
models::ResNetConfig reduced_resnet(std::array<int64_t, 4> strides, std::array<bool, 3> dilate, int64_t classes,
                                    BatchNormMode bn, bool freeze_stem) {
    models::ResNetConfig c;
    c.width = 3;
    c.layers = {2, 1, 2, 2};
    c.strides = strides;
    c.replace_stride_with_dilation = dilate;
    c.num_classes = classes;
    c.bn_mode = bn;
    c.freeze_stem = freeze_stem;
    return c;
}

// The BN buffers after the forward, under the fixture's "state.<name>" keys (only when the fixture has them).
void add_state(const ParityFixture& f, const nn::Module& model, std::map<std::string, Tensor>& outputs) {
    for (const auto& [name, t] : model.state_dict())
        if (f.has("output.state." + name)) outputs["state." + name] = t;
}

// Gradients: grad.param.<name> for every parameter that requires grad (the fixture has exactly those), and no
// gradient at all for the frozen ones; grad.input.images.
void expect_gradients(const ParityFixture& f, const nn::Module& model, const Tensor& images) {
    size_t in_file = 0, trainable = 0;
    for (const auto& [name, p] : model.named_parameters()) {
        if (p.requires_grad()) {
            ++trainable;
            f.expect("grad.param." + name, p.grad(), test::kParityGradTol);
        } else {
            EXPECT_FALSE(p.grad().defined()) << f.path() << ": frozen parameter " << name << " got a gradient";
            EXPECT_FALSE(f.has("grad.param." + name)) << f.path() << ": " << name << " is trainable in PyTorch";
        }
    }
    for (const auto& [name, t] : f.state_dict()) in_file += f.has("grad.param." + name);
    EXPECT_EQ(trainable, in_file) << f.path() << ": trainable parameter count differs from PyTorch's";
    f.expect("grad.input.images", images.grad(), test::kParityGradTol);
}

struct ResNetCase {
    const char* file;
    bool train;
    std::array<int64_t, 4> strides;
    std::array<bool, 3> dilate;
    int64_t classes;
    BatchNormMode bn;
    bool freeze_stem;
};

void check_resnet(const ResNetCase& c) {
    SCOPED_TRACE(c.file);
    const ParityFixture f(test::parity_fixture(c.file));
    models::ResNet model(reduced_resnet(c.strides, c.dilate, c.classes, c.bn, c.freeze_stem));
    // strict, through the architecture detection a real checkpoint goes through
    weights::load_into(model, f.state_dict(), weights::Architecture::torchvision_resnet);
    model.train(c.train);

    const Tensor images = f.input("images");
    const models::ResNetOutput out = model.forward_all(images);
    std::map<std::string, Tensor> outputs;
    for (int s = 0; s < 4; ++s) outputs[str("layer", s + 1)] = out.stages[s];
    if (c.classes > 0) outputs["logits"] = out.logits;
    else outputs["pooled"] = out.pooled;
    add_state(f, model, outputs);
    f.expect_outputs(outputs);

    f.loss(outputs).backward();
    expect_gradients(f, model, images);
}

TEST(ParityConvnets, ResNetTrainBatchStatistics) {
    check_resnet({"resnet_train.safetensors", true, {1, 2, 2, 2}, {false, false, false}, 5, BatchNormMode::normal, false});
}

TEST(ParityConvnets, ResNetEvalOutputStride8Dilated) {
    check_resnet({"resnet_eval_os8.safetensors", false, {1, 2, 2, 2}, {false, true, true}, 5, BatchNormMode::normal, false});
}

TEST(ParityConvnets, ResNetTrainOutputStride16Dilated) {
    check_resnet({"resnet_train_os16_dilated.safetensors", true, {1, 2, 2, 2}, {false, false, true}, 5,
                  BatchNormMode::normal, false});
}

TEST(ParityConvnets, ResNetClimsStage1FrozenStemUpdatesStatistics) {
    check_resnet({"resnet_clims_stage1.safetensors", true, {1, 2, 2, 1}, {false, false, false}, 0,
                  BatchNormMode::normal, true});
}

TEST(ParityConvnets, ResNetIrnetFrozenBatchNorm) {
    check_resnet({"resnet_irnet_frozen_bn.safetensors", true, {1, 2, 2, 1}, {false, false, false}, 0,
                  BatchNormMode::frozen, true});
}

TEST(ParityConvnets, ResNetFixedBatchNormDilated) {
    check_resnet({"resnet_fixed_bn_os16.safetensors", true, {1, 2, 2, 2}, {false, false, true}, 5,
                  BatchNormMode::fixed, false});
}

void check_wrn38(const char* file, bool train, BatchNormMode bn, bool freeze_conv1a, double dropout_b6,
                 double dropout_b7) {
    SCOPED_TRACE(file);
    const ParityFixture f(test::parity_fixture(file));
    models::WideResNet38Config cfg;
    cfg.width = 1;
    cfg.bn_mode = bn;
    cfg.freeze_conv1a = freeze_conv1a;
    cfg.dropout_b6 = dropout_b6;
    cfg.dropout_b7 = dropout_b7;
    models::WideResNet38 model(cfg);
    const weights::LoadResult r = weights::load_into(model, f.state_dict(), weights::Architecture::wide_resnet38);
    EXPECT_EQ(r.file.arch, weights::Architecture::wide_resnet38);
    model.train(train);

    const Tensor images = f.input("images");
    const models::WideResNet38Output out = model.forward_all(images);
    std::map<std::string, Tensor> outputs{{"b2", out.blocks[0]}, {"b3", out.blocks[1]}, {"b4", out.blocks[2]},
                                          {"b5", out.blocks[3]}, {"b6", out.blocks[4]}, {"b7", out.blocks[5]},
                                          {"conv4", out.conv4},  {"conv5", out.conv5},  {"conv6", out.conv6}};
    add_state(f, model, outputs);
    f.expect_outputs(outputs);

    f.loss(outputs).backward();
    expect_gradients(f, model, images);
}

TEST(ParityConvnets, WideResNet38Eval) {
    // eval mode: dropout off (the fixture's model has PSA's 0.3 / 0.5), running statistics, everything trainable
    check_wrn38("wrn38_eval.safetensors", false, BatchNormMode::normal, false, 0.3, 0.5);
}

TEST(ParityConvnets, WideResNet38TrainFixedBatchNormFrozenConv1a) {
    // PSA's Net.train: BN in eval mode without affine gradients, conv1a frozen; dropout 0 for a deterministic forward
    check_wrn38("wrn38_train_fixed_bn.safetensors", true, BatchNormMode::fixed, true, 0.0, 0.0);
}

// ---------------------------------------------------------------- behaviour around the parity cases

TEST(ParityConvnets, ResNetOutputStrideAndDilationsFollowTorchvision) {
    EXPECT_EQ(models::resnet50_config().output_stride(), 32);
    EXPECT_EQ(models::resnet50_irnet_config().output_stride(), 16);
    EXPECT_EQ(models::resnet50_dilated_config(16).output_stride(), 16);
    EXPECT_EQ(models::resnet50_dilated_config(8).output_stride(), 8);
    EXPECT_THROW(models::resnet50_dilated_config(4), Error);

    // torchvision OS 8: layer3 first block dilation 1 (previous), then 2; layer4 first block 2, then 4
    models::ResNetConfig c = reduced_resnet({1, 2, 2, 2}, {false, true, true}, 0, BatchNormMode::normal, false);
    models::ResNet model(c);
    auto block = [&](int stage, size_t i) {
        return std::dynamic_pointer_cast<models::Bottleneck>(model.stages[stage]->child(std::to_string(i)));
    };
    EXPECT_EQ(block(2, 0)->dilation, 1);
    EXPECT_EQ(block(2, 0)->stride, 1);
    EXPECT_EQ(block(2, 1)->dilation, 2);
    EXPECT_EQ(block(3, 0)->dilation, 2);
    EXPECT_EQ(block(3, 1)->dilation, 4);
    EXPECT_EQ(block(3, 1)->conv2->padding, (Int2{4, 4}));
    const models::ResNetOutput out = model.forward_all(Tensor::randn({1, 3, 64, 64}));
    EXPECT_EQ(out.stages[3].shape(), (Shape{1, 96, 8, 8}));
}

TEST(ParityConvnets, BatchNormModesSurviveTrainAndSwitch) {
    models::ResNetConfig c = reduced_resnet({1, 2, 2, 1}, {false, false, false}, 0, BatchNormMode::frozen, true);
    models::ResNet model(c);
    model.train();
    for (const auto& bn : model.batch_norms()) EXPECT_FALSE(bn->is_training());
    EXPECT_FALSE(model.conv1->weight.requires_grad());
    EXPECT_FALSE(model.bn1->weight.requires_grad());
    EXPECT_TRUE(model.stages[0]->named_parameters()[1].second.requires_grad());  // layer1.0.bn1.weight
    // a frozen model's forward in train mode leaves the buffers alone
    const NamedTensors before = model.state_dict();
    std::vector<Tensor> copies;
    for (const auto& [n, t] : before) copies.push_back(t.clone());
    model.forward_all(Tensor::randn({2, 3, 32, 32}));
    for (size_t i = 0; i < before.size(); ++i)
        EXPECT_EQ(before[i].second.to_vector(), copies[i].to_vector()) << before[i].first;

    // CLIMS stage 1 from a stage-0 model: normal BN, still a frozen stem; bn1 counts the batch
    model.set_bn_mode(BatchNormMode::normal);
    EXPECT_TRUE(model.bn1->is_training());
    EXPECT_FALSE(model.bn1->weight.requires_grad());
    EXPECT_TRUE(model.batch_norms()[1]->weight.requires_grad());
    const int64_t count = static_cast<int64_t>(model.bn1->num_batches_tracked.item());
    model.forward_all(Tensor::randn({2, 3, 32, 32}));
    EXPECT_EQ(static_cast<int64_t>(model.bn1->num_batches_tracked.item()), count + 1);

    model.set_bn_mode(BatchNormMode::fixed);
    for (const auto& bn : model.batch_norms()) {
        EXPECT_FALSE(bn->is_training());
        EXPECT_FALSE(bn->weight.requires_grad());
    }
    model.set_freeze_stem(false);
    EXPECT_TRUE(model.conv1->weight.requires_grad());
    EXPECT_FALSE(model.bn1->weight.requires_grad());  // fixed BN keeps its affine frozen
}

TEST(ParityConvnets, WideResNet38DropoutOnlyInTrainMode) {
    models::WideResNet38Config cfg;
    cfg.width = 1;
    models::WideResNet38 model(cfg);
    Generator gen(7);
    model.set_dropout_generator(&gen);
    const Tensor x = Tensor::randn({2, 3, 24, 24});
    model.eval();
    const std::vector<double> a = model.forward(x).to_vector(), b = model.forward(x).to_vector();
    EXPECT_EQ(a, b);
    model.train();
    for (const auto& bn : model.batch_norms()) EXPECT_FALSE(bn->is_training());  // fixed BN (PSA)
    EXPECT_FALSE(model.conv1a->weight.requires_grad());
    const Tensor y = model.forward(x);
    EXPECT_EQ(y.shape(), (Shape{2, 64, 3, 3}));
    EXPECT_NE(y.to_vector(), a);  // channel dropout 0.3 / 0.5 changed something
}

TEST(ParityConvnets, WideResNet38NamesAndDetection) {
    // PSA's key list at width 1 (the full-size network is built by tests/heavy/test_parity_full_size_resnet.cpp)
    models::WideResNet38Config cfg;
    cfg.width = 1;
    const NamedTensors sd = models::WideResNet38(cfg).state_dict();
    std::vector<std::string> names;
    for (const auto& [n, t] : sd) names.push_back(n);
    EXPECT_EQ(names.front(), "conv1a.weight");
    EXPECT_EQ(names.back(), "bn7.num_batches_tracked");
    auto has = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) != names.end(); };
    EXPECT_TRUE(has("b2.conv_branch1.weight"));
    EXPECT_FALSE(has("b2_1.conv_branch1.weight"));  // same shape: identity shortcut
    EXPECT_TRUE(has("b4_5.bn_branch2b1.running_var"));
    EXPECT_TRUE(has("b5.conv_branch1.weight"));
    EXPECT_TRUE(has("b7.conv_branch2b2.weight"));
    EXPECT_TRUE(has("b7.bn_branch2b2.weight"));
    // conv1a; 15 ResBlocks of 2 BN (5 entries each) + 2 convs, 4 of them with conv_branch1; 2 bottlenecks of
    // 3 BN + 4 convs; bn7
    EXPECT_EQ(sd.size(), 1u + 15u * 12u + 4u + 2u * 19u + 5u);
    EXPECT_EQ(models::WideResNet38(cfg).named_parameters().size(), 117u);
    const weights::DetectedArchitecture d = weights::detect_architecture(sd);
    EXPECT_EQ(d.arch, weights::Architecture::wide_resnet38);
    EXPECT_NE(d.description.find("custom width 1"), std::string::npos) << d.description;
}

}  // namespace
}  // namespace wsdol
