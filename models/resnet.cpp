// resnet.cpp — torchvision ResNet (Bottleneck) construction, init and forward, with torchvision's
// replace_stride_with_dilation and the backbone BatchNorm modes (models/backbone_bn.h).
#include "models/resnet.h"

#include "engine/nn/init.h"
#include "engine/ops/ops.h"

namespace wsdol::models {

ResNetConfig resnet50_config() { return ResNetConfig{}; }

ResNetConfig resnet50_irnet_config() {
    ResNetConfig c;
    c.strides = {1, 2, 2, 1};  // IRNet's (2, 2, 2, 1) = conv1 stride 2 (fixed here), layer2..4 strides 2, 2, 1
    c.num_classes = 0;
    c.bn_mode = BatchNormMode::frozen;
    c.freeze_stem = true;
    return c;
}

ResNetConfig resnet50_dilated_config(int64_t output_stride) {
    ResNetConfig c;
    WSDOL_CHECK(output_stride == 8 || output_stride == 16 || output_stride == 32,
                "resnet50_dilated_config: output stride must be 8, 16 or 32, got ", output_stride);
    c.replace_stride_with_dilation = {false, output_stride == 8, output_stride <= 16};
    return c;
}

int64_t ResNetConfig::output_stride() const {
    int64_t os = 4;  // conv1 stride 2, max-pool stride 2
    for (int s = 0; s < 4; ++s)
        if (s == 0 || !replace_stride_with_dilation[s - 1]) os *= strides[s];
    return os;
}

namespace {
std::shared_ptr<nn::Conv2d> conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad, int64_t dilation,
                                 Generator* gen) {
    auto c = std::make_shared<nn::Conv2d>(in, out, k, stride, pad, dilation, 1, false, gen);
    // torchvision ResNet.__init__: kaiming_normal_(mode="fan_out", nonlinearity="relu") for every conv
    nn::kaiming_normal_(c->weight, 0.0, nn::FanMode::fan_out, "relu", gen);
    return c;
}
}  // namespace

Bottleneck::Bottleneck(int64_t inplanes, int64_t planes, int64_t stride_, bool with_downsample, Generator* gen,
                       int64_t dilation_, BatchNormMode bn_mode)
    : nn::Module("Bottleneck"), stride(stride_), dilation(dilation_) {
    WSDOL_CHECK(dilation >= 1, "Bottleneck: dilation must be >= 1, got ", dilation);
    // torchvision order: conv1, bn1, conv2, bn2, conv3, bn3, relu, downsample
    conv1 = register_module("conv1", conv(inplanes, planes, 1, 1, 0, 1, gen));
    bn1 = register_module("bn1", std::make_shared<BackboneBatchNorm2d>(planes, bn_mode));
    // v1.5: the stride is on the 3x3 conv; torchvision's conv3x3 pads by the dilation
    conv2 = register_module("conv2", conv(planes, planes, 3, stride, dilation, dilation, gen));
    bn2 = register_module("bn2", std::make_shared<BackboneBatchNorm2d>(planes, bn_mode));
    conv3 = register_module("conv3", conv(planes, 4 * planes, 1, 1, 0, 1, gen));
    bn3 = register_module("bn3", std::make_shared<BackboneBatchNorm2d>(4 * planes, bn_mode));
    if (with_downsample) {
        downsample = register_module("downsample", std::make_shared<nn::Sequential>());
        downsample->push_back(conv(inplanes, 4 * planes, 1, stride, 0, 1, gen));
        downsample->push_back(std::make_shared<BackboneBatchNorm2d>(4 * planes, bn_mode));
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
    conv1 = register_module("conv1", conv(3, cfg.width, 7, 2, 3, 1, gen));
    bn1 = register_module("bn1", std::make_shared<BackboneBatchNorm2d>(cfg.width, cfg.bn_mode));
    int64_t inplanes = cfg.width;
    int64_t dilation = 1;  // torchvision's self.dilation, carried across stages
    for (int s = 0; s < 4; ++s) {
        WSDOL_CHECK(cfg.layers[s] >= 1, "ResNet: layer", s + 1, " needs at least one block, got ", cfg.layers[s]);
        WSDOL_CHECK(cfg.strides[s] >= 1, "ResNet: layer", s + 1, " stride must be >= 1, got ", cfg.strides[s]);
        const int64_t planes = cfg.width << s;
        // torchvision _make_layer: the first block keeps the previous dilation; a dilated stage trades its stride
        // for dilation *= stride, used by the remaining blocks.
        const int64_t previous_dilation = dilation;
        int64_t stride = cfg.strides[s];
        if (s > 0 && cfg.replace_stride_with_dilation[s - 1]) {
            dilation *= stride;
            stride = 1;
        }
        stages[s] = register_module(str("layer", s + 1), std::make_shared<nn::Sequential>());
        // a downsample when the stride or the channel count changes
        const bool ds = stride != 1 || inplanes != 4 * planes;
        stages[s]->push_back(
            std::make_shared<Bottleneck>(inplanes, planes, stride, ds, gen, previous_dilation, cfg.bn_mode));
        inplanes = 4 * planes;
        for (int64_t b = 1; b < cfg.layers[s]; ++b)
            stages[s]->push_back(std::make_shared<Bottleneck>(inplanes, planes, 1, false, gen, dilation, cfg.bn_mode));
    }
    if (cfg.num_classes > 0) fc = register_module("fc", std::make_shared<nn::Linear>(inplanes, cfg.num_classes, true, gen));
    set_freeze_stem(cfg.freeze_stem);
}

std::vector<std::shared_ptr<BackboneBatchNorm2d>> ResNet::batch_norms() const {
    std::vector<std::shared_ptr<BackboneBatchNorm2d>> out;
    for (const auto& [name, m] : named_modules())
        if (auto* bn = dynamic_cast<BackboneBatchNorm2d*>(m))
            out.push_back(std::static_pointer_cast<BackboneBatchNorm2d>(bn->shared_from_this()));
    return out;
}

void ResNet::set_bn_mode(BatchNormMode mode) {
    cfg.bn_mode = mode;
    for (const auto& bn : batch_norms()) bn->set_mode(mode);
    if (mode == BatchNormMode::normal) train(is_training());  // back to the model's own mode
    set_freeze_stem(cfg.freeze_stem);
}

void ResNet::set_freeze_stem(bool freeze) {
    cfg.freeze_stem = freeze;
    conv1->weight.set_requires_grad(!freeze);
    const bool bn_trainable = !freeze && cfg.bn_mode != BatchNormMode::fixed;
    bn1->weight.set_requires_grad(bn_trainable);
    bn1->bias.set_requires_grad(bn_trainable);
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
