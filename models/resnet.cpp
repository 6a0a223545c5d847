// resnet.cpp — torchvision ResNet (Bottleneck) construction, init and forward.
#include "models/resnet.h"

#include "engine/nn/init.h"
#include "engine/ops/ops.h"

namespace wsdol::models {

ResNetConfig resnet50_config() { return ResNetConfig{}; }

namespace {
std::shared_ptr<nn::Conv2d> conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad, Generator* gen) {
    auto c = std::make_shared<nn::Conv2d>(in, out, k, stride, pad, 1, 1, false, gen);
    // torchvision ResNet.__init__: kaiming_normal_(mode="fan_out", nonlinearity="relu") for every conv
    nn::kaiming_normal_(c->weight, 0.0, nn::FanMode::fan_out, "relu", gen);
    return c;
}
}  // namespace

Bottleneck::Bottleneck(int64_t inplanes, int64_t planes, int64_t stride_, bool with_downsample, Generator* gen)
    : nn::Module("Bottleneck"), stride(stride_) {
    // torchvision order: conv1, bn1, conv2, bn2, conv3, bn3, relu, downsample
    conv1 = register_module("conv1", conv(inplanes, planes, 1, 1, 0, gen));
    bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(planes));
    conv2 = register_module("conv2", conv(planes, planes, 3, stride, 1, gen));  // v1.5: the stride is here
    bn2 = register_module("bn2", std::make_shared<nn::BatchNorm2d>(planes));
    conv3 = register_module("conv3", conv(planes, 4 * planes, 1, 1, 0, gen));
    bn3 = register_module("bn3", std::make_shared<nn::BatchNorm2d>(4 * planes));
    if (with_downsample) {
        downsample = register_module("downsample", std::make_shared<nn::Sequential>());
        downsample->push_back(conv(inplanes, 4 * planes, 1, stride, 0, gen));
        downsample->push_back(std::make_shared<nn::BatchNorm2d>(4 * planes));
    }
}

Tensor Bottleneck::forward(const Tensor& x) {
    Tensor out = relu(bn1->forward(conv1->forward(x)));
    out = relu(bn2->forward(conv2->forward(out)));
    out = bn3->forward(conv3->forward(out));
    return relu(add(out, downsample ? downsample->forward(x) : x));
}

ResNet::ResNet(const ResNetConfig& c, Generator* gen) : nn::Module("ResNet"), cfg(c) {
    WSDOL_CHECK(cfg.width > 0, "ResNet: width must be positive, got ", cfg.width);
    conv1 = register_module("conv1", conv(3, cfg.width, 7, 2, 3, gen));
    bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(cfg.width));
    int64_t inplanes = cfg.width;
    for (int s = 0; s < 4; ++s) {
        WSDOL_CHECK(cfg.layers[s] >= 1, "ResNet: layer", s + 1, " needs at least one block, got ", cfg.layers[s]);
        WSDOL_CHECK(cfg.strides[s] >= 1, "ResNet: layer", s + 1, " stride must be >= 1, got ", cfg.strides[s]);
        const int64_t planes = cfg.width << s;
        stages[s] = register_module(str("layer", s + 1), std::make_shared<nn::Sequential>());
        // torchvision _make_layer: a downsample when the stride or the channel count changes
        const bool ds = cfg.strides[s] != 1 || inplanes != 4 * planes;
        stages[s]->push_back(std::make_shared<Bottleneck>(inplanes, planes, cfg.strides[s], ds, gen));
        inplanes = 4 * planes;
        for (int64_t b = 1; b < cfg.layers[s]; ++b)
            stages[s]->push_back(std::make_shared<Bottleneck>(inplanes, planes, 1, false, gen));
    }
    if (cfg.num_classes > 0) fc = register_module("fc", std::make_shared<nn::Linear>(inplanes, cfg.num_classes, true, gen));
}

ResNetOutput ResNet::forward_all(const Tensor& images) {
    WSDOL_CHECK(images.defined() && images.dim() == 4 && images.size(1) == 3, "ResNet: expected images (B, 3, H, W), got ",
                images.defined() ? shape_str(images.shape()) : "undefined");
    Tensor x = relu(bn1->forward(conv1->forward(images)));
    x = max_pool2d(x, {3, 3}, {2, 2}, {1, 1});
    ResNetOutput out;
    for (int s = 0; s < 4; ++s) out.stages[s] = x = stages[s]->forward(x);
    out.pooled = mean(x, {2, 3});  // AdaptiveAvgPool2d((1, 1)) + flatten
    if (fc) out.logits = fc->forward(out.pooled);
    return out;
}

Tensor ResNet::forward(const Tensor& images) {
    ResNetOutput out = forward_all(images);
    return fc ? out.logits : out.pooled;
}

}  // namespace wsdol::models
