// resnet.h — torchvision's ResNet with Bottleneck blocks (ResNet-50/101/152, "v1.5": the stride sits on the 3x3
// conv) and torchvision's parameter names, so torchvision checkpoints load strictly (../shared/docs/formats.md §3.5).
//
// Names: conv1.weight (w, 3, 7, 7), bn1.*, layerL.b.{conv1, bn1, conv2, bn2, conv3, bn3}.*, layerL.0.downsample.0
// (1x1 conv with the stage's stride), layerL.0.downsample.1 (BN), fc.{weight, bias}. Every BatchNorm carries
// weight, bias, running_mean, running_var and num_batches_tracked (i64); files written before PyTorch 0.4.1 lack
// the counters — weights::load_into treats those as "missing but optional" (the model keeps its own value, as
// PyTorch's BatchNorm _load_from_state_dict does), see weights/name_maps.h.
// Forward: conv1 (7x7, s2, p3) -> bn1 -> ReLU -> max-pool 3x3 s2 p1 -> layer1..4 -> adaptive avg-pool -> fc.
// BN eps 1e-5, momentum 0.1.
//
// Reductions for tests: `width` replaces torchvision's fixed 64 (stage planes width, 2w, 4w, 8w; outputs 4x),
// `layers` the blocks per stage, num_classes 0 drops fc.
//
// Output stride (methods.md §1.2, §4.1):
//   `strides` are the per-STAGE strides of layer1..layer4 (torchvision 1, 2, 2, 2: output stride 32). IRNet/CLIMS
//   write their ResNet-50 as strides=(2, 2, 2, 1), but there the first entry is conv1's stride and layer1 always
//   has stride 1 (jiwoon-ahn/irn net/resnet50.py), so theirs is {1, 2, 2, 1} here: output stride 16, no dilation
//   (resnet50_irnet_config()).
//   `replace_stride_with_dilation` is torchvision's (layer2, layer3, layer4): a dilated stage gets stride 1 and
//   multiplies the running dilation by the stride it replaced; its FIRST block keeps the previous dilation (and
//   its downsample has stride 1), the others use the new one — exactly torchvision's _make_layer. OS 16:
//   {false, false, true}; OS 8: {false, true, true} (resnet50_dilated_config()). The 3x3 conv's padding equals its
//   dilation, so dilated stages keep the resolution.
// BatchNorm (models/backbone_bn.h): `bn_mode` normal / frozen / fixed for every BN (stem, blocks, downsamples);
// `freeze_stem` sets requires_grad = false on conv1.weight, bn1.weight and bn1.bias (IRNet/CLIMS) without changing
// how bn1 normalizes — so CLIMS stage 1 (normal BN in train mode, bn1 included, updating running statistics, while
// conv1 + bn1 parameters stay frozen) is {bn_mode normal, freeze_stem true}, and IRNet / CLIMS stage 0 is
// {bn_mode frozen, freeze_stem true}.
#pragma once
#include <array>
#include <memory>
#include <vector>

#include "engine/nn/conv.h"
#include "engine/nn/linear.h"
#include "engine/nn/module.h"
#include "engine/nn/norm.h"
#include "engine/nn/sequential.h"
#include "models/backbone_bn.h"

namespace wsdol::models {

struct ResNetConfig {
    std::array<int64_t, 4> layers{3, 4, 6, 3};   // ResNet-50; ResNet-101 {3, 4, 23, 3}; ResNet-152 {3, 8, 36, 3}
    std::array<int64_t, 4> strides{1, 2, 2, 2};  // per stage, on the first block's 3x3 conv and downsample
    int64_t width = 64;                          // stem channels and layer1 planes (torchvision: 64)
    int64_t num_classes = 1000;                  // 0: no fc
    std::array<bool, 3> replace_stride_with_dilation{false, false, false};  // torchvision's, layer2..layer4
    BatchNormMode bn_mode = BatchNormMode::normal;
    bool freeze_stem = false;                    // conv1 + bn1 parameters requires_grad = false

    int64_t output_stride() const;  // 4 (stem) times the strides that are not replaced by dilation
};

ResNetConfig resnet50_config();
// IRNet / CLIMS stage 0 (net/resnet50.py strides=(2, 2, 2, 1)): per-stage strides {1, 2, 2, 1} (output stride 16),
// no fc, frozen BN (running statistics, affine trainable), conv1 + bn1 frozen.
ResNetConfig resnet50_irnet_config();
// torchvision ResNet-50 with replace_stride_with_dilation for output stride 8, 16 or 32.
ResNetConfig resnet50_dilated_config(int64_t output_stride);

// torchvision.models.resnet.Bottleneck (expansion 4, groups 1, base width 64); `dilation` on the 3x3 conv
// (padding = dilation, as torchvision's conv3x3).
class Bottleneck : public nn::Module {
public:
    Bottleneck(int64_t inplanes, int64_t planes, int64_t stride, bool with_downsample, Generator* gen = nullptr,
               int64_t dilation = 1, BatchNormMode bn_mode = BatchNormMode::normal);
    Tensor forward(const Tensor& x) override;  // x: (N, inplanes, H, W) -> (N, 4 planes, H / s, W / s)

    int64_t stride, dilation;
    std::shared_ptr<nn::Conv2d> conv1, conv2, conv3;
    std::shared_ptr<BackboneBatchNorm2d> bn1, bn2, bn3;
    std::shared_ptr<nn::Sequential> downsample;  // "0": 1x1 conv (stride s), "1": BN; or null
};

struct ResNetOutput {
    std::array<Tensor, 4> stages;  // layer1..layer4 outputs (B, 4w 2^i, H_i, W_i)
    Tensor pooled;                 // (B, 32 w) after global average pooling
    Tensor logits;                 // (B, num_classes) when there is an fc
};

class ResNet : public nn::Module {
public:
    // Init as torchvision: conv weights kaiming_normal_(fan_out, relu), BN weight 1 / bias 0, fc PyTorch's Linear
    // default. Values differ from torchvision's for a seed (different RNG).
    explicit ResNet(const ResNetConfig& cfg, Generator* gen = nullptr);
    ResNetOutput forward_all(const Tensor& images);  // images: (B, 3, H, W)
    Tensor forward(const Tensor& images) override;   // logits (pooled features when num_classes == 0)

    // Every BatchNorm of the network (stem, blocks, downsamples), in state_dict order.
    std::vector<std::shared_ptr<BackboneBatchNorm2d>> batch_norms() const;
    // Switches every BN to `mode` (keeping the stem frozen when cfg.freeze_stem) and records it in cfg.
    void set_bn_mode(BatchNormMode mode);
    // Freezes (true) or unfreezes conv1 + bn1 parameters; bn1 stays without gradients in BN mode fixed.
    void set_freeze_stem(bool freeze);

    ResNetConfig cfg;
    std::shared_ptr<nn::Conv2d> conv1;
    std::shared_ptr<BackboneBatchNorm2d> bn1;
    std::array<std::shared_ptr<nn::Sequential>, 4> stages;  // layer1 .. layer4
    std::shared_ptr<nn::Linear> fc;                         // null when num_classes == 0
};

}  // namespace wsdol::models
