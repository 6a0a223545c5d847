// wide_resnet38.cpp — ResNet-38d (PSA / MCTformer DeepLab-V1 trunk): blocks, construction and forward.
#include "models/wide_resnet38.h"

#include "engine/ops/ops.h"

namespace wsdol::models {

namespace {
// PSA's convs: no bias, PyTorch's default init (kaiming_uniform_(a = sqrt(5)), the nn::Conv2d default).
std::shared_ptr<nn::Conv2d> conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t dilation, Generator* gen) {
    const int64_t pad = k == 3 ? dilation : 0;  // 3x3 convs pad by their dilation (size kept), 1x1 convs by 0
    return std::make_shared<nn::Conv2d>(in, out, k, stride, pad, dilation, 1, false, gen);
}
}  // namespace

WideResBlock::WideResBlock(int64_t in, int64_t mid, int64_t out, int64_t stride, int64_t first_dilation,
                           int64_t dilation, BatchNormMode bn_mode, Generator* gen)
    : nn::Module("ResBlock"), same_shape(in == out && stride == 1) {
    // registration order = PSA's attribute order = state_dict order
    bn_branch2a = register_module("bn_branch2a", std::make_shared<BackboneBatchNorm2d>(in, bn_mode));
    conv_branch2a = register_module("conv_branch2a", conv(in, mid, 3, stride, first_dilation, gen));
    bn_branch2b1 = register_module("bn_branch2b1", std::make_shared<BackboneBatchNorm2d>(mid, bn_mode));
    conv_branch2b1 = register_module("conv_branch2b1", conv(mid, out, 3, 1, dilation, gen));
    if (!same_shape) conv_branch1 = register_module("conv_branch1", conv(in, out, 1, stride, 1, gen));
}

Tensor WideResBlock::forward(const Tensor& x, Tensor* bn_relu) {
    const Tensor a = relu(bn_branch2a->forward(x));
    if (bn_relu) *bn_relu = a;
    const Tensor branch1 = same_shape ? x : conv_branch1->forward(a);
    Tensor branch2 = conv_branch2a->forward(a);
    branch2 = conv_branch2b1->forward(relu(bn_branch2b1->forward(branch2)));
    return add(branch1, branch2);
}

WideBottleneckBlock::WideBottleneckBlock(int64_t in, int64_t out, int64_t stride, int64_t dilation, double p,
                                         BatchNormMode bn_mode, Generator* gen)
    : nn::Module("ResBlock_bot"), dropout(p) {
    WSDOL_CHECK(out % 4 == 0, "WideBottleneckBlock: out channels must be divisible by 4, got ", out);
    WSDOL_CHECK(p >= 0.0 && p <= 1.0, "WideBottleneckBlock: dropout must be in [0, 1], got ", p);
    bn_branch2a = register_module("bn_branch2a", std::make_shared<BackboneBatchNorm2d>(in, bn_mode));
    conv_branch2a = register_module("conv_branch2a", conv(in, out / 4, 1, stride, 1, gen));
    bn_branch2b1 = register_module("bn_branch2b1", std::make_shared<BackboneBatchNorm2d>(out / 4, bn_mode));
    conv_branch2b1 = register_module("conv_branch2b1", conv(out / 4, out / 2, 3, 1, dilation, gen));
    bn_branch2b2 = register_module("bn_branch2b2", std::make_shared<BackboneBatchNorm2d>(out / 2, bn_mode));
    conv_branch2b2 = register_module("conv_branch2b2", conv(out / 2, out, 1, 1, 1, gen));
    // PSA's ResBlock_bot always applies conv_branch1 (b6 and b7 change the channel count)
    conv_branch1 = register_module("conv_branch1", conv(in, out, 1, stride, 1, gen));
}

Tensor WideBottleneckBlock::forward(const Tensor& x, Tensor* bn_relu) {
    const Tensor a = relu(bn_branch2a->forward(x));
    if (bn_relu) *bn_relu = a;
    const Tensor branch1 = conv_branch1->forward(a);
    Tensor branch2 = conv_branch2a->forward(a);
    branch2 = dropout2d(relu(bn_branch2b1->forward(branch2)), dropout, is_training(), dropout_gen);
    branch2 = conv_branch2b1->forward(branch2);
    branch2 = dropout2d(relu(bn_branch2b2->forward(branch2)), dropout, is_training(), dropout_gen);
    branch2 = conv_branch2b2->forward(branch2);
    return add(branch1, branch2);
}

WideResNet38::WideResNet38(const WideResNet38Config& c, Generator* gen) : nn::Module("WideResNet38"), cfg(c) {
    WSDOL_CHECK(cfg.width > 0, "WideResNet38: width must be positive, got ", cfg.width);
    const int64_t w = cfg.width;
    const BatchNormMode m = cfg.bn_mode;
    conv1a = register_module("conv1a", std::make_shared<nn::Conv2d>(3, w, 3, 1, 1, 1, 1, false, gen));
    // name, blocks, in, mid, out, stride of the first block, first dilation of the first block, dilation
    struct Stage {
        const char* name;
        int blocks;
        int64_t in, mid, out, stride, first_dilation, dilation;
        std::vector<std::shared_ptr<WideResBlock>>* list;
    };
    const Stage stages[] = {
        {"b2", 3, w, 2 * w, 2 * w, 2, 1, 1, &b2},
        {"b3", 3, 2 * w, 4 * w, 4 * w, 2, 1, 1, &b3},
        {"b4", 6, 4 * w, 8 * w, 8 * w, 2, 1, 1, &b4},
        {"b5", 3, 8 * w, 8 * w, 16 * w, 1, 1, 2, &b5},  // PSA: b5 first_dilation=1, dilation=2; b5_1, b5_2 dilation 2
    };
    for (const Stage& s : stages) {
        for (int i = 0; i < s.blocks; ++i) {
            const std::string name = i == 0 ? std::string(s.name) : str(s.name, "_", i);
            // PSA's ResBlock: first_dilation defaults to dilation (only b5 passes first_dilation=1)
            auto block = i == 0 ? std::make_shared<WideResBlock>(s.in, s.mid, s.out, s.stride, s.first_dilation,
                                                                 s.dilation, m, gen)
                                : std::make_shared<WideResBlock>(s.out, s.mid, s.out, 1, s.dilation, s.dilation, m, gen);
            s.list->push_back(register_module(name, block));
        }
    }
    b6 = register_module("b6", std::make_shared<WideBottleneckBlock>(16 * w, 32 * w, 1, 4, cfg.dropout_b6, m, gen));
    b7 = register_module("b7", std::make_shared<WideBottleneckBlock>(32 * w, 64 * w, 1, 4, cfg.dropout_b7, m, gen));
    bn7 = register_module("bn7", std::make_shared<BackboneBatchNorm2d>(64 * w, m));
    set_freeze_conv1a(cfg.freeze_conv1a);
}

std::vector<std::shared_ptr<BackboneBatchNorm2d>> WideResNet38::batch_norms() const {
    std::vector<std::shared_ptr<BackboneBatchNorm2d>> out;
    for (const auto& [name, mod] : named_modules())
        if (auto* bn = dynamic_cast<BackboneBatchNorm2d*>(mod))
            out.push_back(std::static_pointer_cast<BackboneBatchNorm2d>(bn->shared_from_this()));
    return out;
}

void WideResNet38::set_bn_mode(BatchNormMode mode) {
    cfg.bn_mode = mode;
    for (const auto& bn : batch_norms()) bn->set_mode(mode);
    if (mode == BatchNormMode::normal) train(is_training());
}

void WideResNet38::set_freeze_conv1a(bool freeze) {
    cfg.freeze_conv1a = freeze;
    conv1a->weight.set_requires_grad(!freeze);
}

void WideResNet38::set_dropout_generator(Generator* gen) { b6->dropout_gen = b7->dropout_gen = gen; }

WideResNet38Output WideResNet38::forward_all(const Tensor& images) {
    WSDOL_CHECK(images.defined() && images.dim() == 4 && images.size(1) == 3,
                "WideResNet38: expected images (B, 3, H, W), got ",
                images.defined() ? shape_str(images.shape()) : "undefined");
    WideResNet38Output out;
    Tensor x = conv1a->forward(images);
    int k = 0;
    for (auto* stage : {&b2, &b3, &b4}) {
        for (const auto& block : *stage) x = block->forward(x, nullptr);
        out.blocks[k++] = x;
    }
    for (size_t i = 0; i < b5.size(); ++i) x = b5[i]->forward(x, i == 0 ? &out.conv4 : nullptr);
    out.blocks[3] = x;
    out.blocks[4] = x = b6->forward(x, &out.conv5);
    out.blocks[5] = x = b7->forward(x, nullptr);
    out.conv6 = relu(bn7->forward(x));
    return out;
}

Tensor WideResNet38::forward(const Tensor& images) { return forward_all(images).conv6; }

}  // namespace wsdol::models
