// backbone_bn.cpp — BatchNorm2d with the normal / frozen / fixed modes of the CNN backbones.
#include "models/backbone_bn.h"

namespace wsdol::models {

const char* batch_norm_mode_name(BatchNormMode mode) {
    switch (mode) {
        case BatchNormMode::normal: return "normal";
        case BatchNormMode::frozen: return "frozen";
        case BatchNormMode::fixed: return "fixed";
    }
    return "?";
}

BackboneBatchNorm2d::BackboneBatchNorm2d(int64_t num_features, BatchNormMode mode)
    : nn::BatchNorm2d(num_features), mode_(mode) {
    set_mode(mode);
}

void BackboneBatchNorm2d::set_mode(BatchNormMode mode) {
    mode_ = mode;
    const bool trainable_affine = mode != BatchNormMode::fixed;
    weight.set_requires_grad(trainable_affine);
    bias.set_requires_grad(trainable_affine);
    if (mode != BatchNormMode::normal) training_ = false;
}

void BackboneBatchNorm2d::train(bool on) { nn::BatchNorm2d::train(on && mode_ == BatchNormMode::normal); }

std::string BackboneBatchNorm2d::extra_repr() const {
    return nn::BatchNorm2d::extra_repr() + ", mode=" + batch_norm_mode_name(mode_);
}

}  // namespace wsdol::models
