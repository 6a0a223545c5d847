// wide_resnet38.h — the Wider ResNet-38 trunk "ResNet-38d" of PSA / AffinityNet and MCTformer's DeepLab-V1
// (jiwoon-ahn/psa network/resnet38d.py, vendored as xulianuwa/MCTformer seg/network/resnet38d.py), with the
// PyTorch module's parameter names so converted checkpoints (MXNet ImageNet weights, PSA's res38_cls) load
// strictly. methods.md §1.2, §6.1, §6.2.
//
// Structure (w = width, 64 for the released network; pre-activation blocks, no BN/ReLU right after conv1a):
//   conv1a            3x3 conv 3 -> w, pad 1, no bias                                    (B, w, H, W)
//   b2, b2_1, b2_2    ResBlock(w -> 2w -> 2w, b2 stride 2)                               (B, 2w, H/2, W/2)
//   b3, b3_1, b3_2    ResBlock(2w -> 4w -> 4w, b3 stride 2)                              (B, 4w, H/4, W/4)
//   b4, b4_1..b4_5    ResBlock(4w -> 8w -> 8w, b4 stride 2)                              (B, 8w, H/8, W/8)
//   b5, b5_1, b5_2    ResBlock(8w -> 8w -> 16w), dilation 2 (b5's first conv dilation 1)  (B, 16w, H/8, W/8)
//   b6                BottleneckBlock(16w -> 32w), dilation 4, Dropout2d 0.3              (B, 32w, H/8, W/8)
//   b7                BottleneckBlock(32w -> 64w), dilation 4, Dropout2d 0.5              (B, 64w, H/8, W/8)
//   bn7, ReLU         conv6 = relu(bn7(b7))                                               4096 channels, OS 8
// ResBlock(in -> mid -> out, stride s, first dilation d1, dilation d):
//   a = relu(bn_branch2a(x)); branch1 = conv_branch1(a) (1x1, stride s, only when in != out or s != 1; else x);
//   branch2 = conv_branch2b1(relu(bn_branch2b1(conv_branch2a(a))))  (3x3 convs: conv_branch2a stride s, pad/dil d1;
//   conv_branch2b1 pad/dil d); out = branch1 + branch2.
// BottleneckBlock(in -> out, dilation d, dropout p) ("ResBlock_bot"): a = relu(bn_branch2a(x));
//   branch1 = conv_branch1(a) (1x1, always present: in != out for b6, b7);
//   branch2 = conv_branch2a (1x1, in -> out/4) -> bn_branch2b1 -> relu -> dropout2d(p) -> conv_branch2b1 (3x3,
//   out/4 -> out/2, pad/dil d) -> bn_branch2b2 -> relu -> dropout2d(p) -> conv_branch2b2 (1x1, out/2 -> out).
// Every conv has no bias; convs keep PyTorch's default init (the PSA code does not re-initialize them).
// forward_all() also returns PSA's forward_as_dict features: conv4 = relu(b5.bn_branch2a(b4_5 output)) (8w),
// conv5 = relu(b6.bn_branch2a(b5_2 output)) (16w), conv6 (64w).
//
// Training behaviour (PSA Net.train): every BatchNorm stays in eval mode with weight/bias requires_grad = false
// (bn_mode fixed, the default; see models/backbone_bn.h), conv1a.weight requires_grad = false (freeze_conv1a);
// Dropout2d is active in train mode (dropout2d op, mask rule in engine/ops/random_ops.h).
#pragma once
#include <array>
#include <memory>

#include "engine/nn/conv.h"
#include "engine/nn/module.h"
#include "models/backbone_bn.h"

namespace wsdol::models {

struct WideResNet38Config {
    int64_t width = 64;  // conv1a channels; 64 in the released network (4096 output channels)
    double dropout_b6 = 0.3, dropout_b7 = 0.5;
    BatchNormMode bn_mode = BatchNormMode::fixed;
    bool freeze_conv1a = true;
};

// PSA's ResBlock (pre-activation basic block with two 3x3 convs).
class WideResBlock : public nn::Module {
public:
    WideResBlock(int64_t in, int64_t mid, int64_t out, int64_t stride, int64_t first_dilation, int64_t dilation,
                 BatchNormMode bn_mode, Generator* gen = nullptr);
    // x: (N, in, H, W) -> (N, out, H / s, W / s); bn_relu (optional): relu(bn_branch2a(x)), (N, in, H, W).
    Tensor forward(const Tensor& x, Tensor* bn_relu);
    Tensor forward(const Tensor& x) override { return forward(x, nullptr); }

    bool same_shape;
    std::shared_ptr<BackboneBatchNorm2d> bn_branch2a, bn_branch2b1;
    std::shared_ptr<nn::Conv2d> conv_branch2a, conv_branch2b1, conv_branch1;  // conv_branch1 null when same_shape
};

// PSA's ResBlock_bot (pre-activation bottleneck with channel dropout).
class WideBottleneckBlock : public nn::Module {
public:
    WideBottleneckBlock(int64_t in, int64_t out, int64_t stride, int64_t dilation, double dropout,
                        BatchNormMode bn_mode, Generator* gen = nullptr);
    // x: (N, in, H, W) -> (N, out, H / s, W / s); bn_relu (optional): relu(bn_branch2a(x)).
    Tensor forward(const Tensor& x, Tensor* bn_relu);
    Tensor forward(const Tensor& x) override { return forward(x, nullptr); }

    double dropout;
    Generator* dropout_gen = nullptr;  // null: the default generator
    std::shared_ptr<BackboneBatchNorm2d> bn_branch2a, bn_branch2b1, bn_branch2b2;
    std::shared_ptr<nn::Conv2d> conv_branch2a, conv_branch2b1, conv_branch2b2, conv_branch1;
};

struct WideResNet38Output {
    std::array<Tensor, 6> blocks;  // outputs of b2_2 (2w, /2), b3_2 (4w, /4), b4_5 (8w, /8), b5_2 (16w, /8),
                                   // b6 (32w, /8), b7 (64w, /8), before bn7
    Tensor conv4;                  // (B, 8w, H/8, W/8)
    Tensor conv5;                  // (B, 16w, H/8, W/8)
    Tensor conv6;                  // (B, 64w, H/8, W/8): the trunk's output
};

class WideResNet38 : public nn::Module {
public:
    explicit WideResNet38(const WideResNet38Config& cfg = {}, Generator* gen = nullptr);
    WideResNet38Output forward_all(const Tensor& images);  // images: (B, 3, H, W)
    Tensor forward(const Tensor& images) override;         // conv6: (B, 64w, ceil(H/8), ceil(W/8))

    // Every BatchNorm (b2.bn_branch2a ... bn7), in state_dict order.
    std::vector<std::shared_ptr<BackboneBatchNorm2d>> batch_norms() const;
    void set_bn_mode(BatchNormMode mode);   // every BN; recorded in cfg
    void set_freeze_conv1a(bool freeze);    // conv1a.weight requires_grad = !freeze
    void set_dropout_generator(Generator* gen);  // b6 / b7 masks drawn from `gen` (null: the default generator)

    WideResNet38Config cfg;
    std::shared_ptr<nn::Conv2d> conv1a;
    std::vector<std::shared_ptr<WideResBlock>> b2, b3, b4, b5;  // b2, b2_1, b2_2; ...; b4 .. b4_5; b5 .. b5_2
    std::shared_ptr<WideBottleneckBlock> b6, b7;
    std::shared_ptr<BackboneBatchNorm2d> bn7;
};

}  // namespace wsdol::models
