// linear.h — nn.Linear: y = x W^T + b, with PyTorch's names (weight (out, in), bias (out)) and default init.
#pragma once
#include "engine/nn/module.h"

namespace wsdol::nn {

class Linear : public Module {
public:
    // weight kaiming_uniform_(a = sqrt(5)), bias U(-1/sqrt(in), 1/sqrt(in)) as PyTorch's reset_parameters().
    Linear(int64_t in_features, int64_t out_features, bool bias = true, Generator* gen = nullptr,
           DType dtype = DType::f32);
    // x: (..., in) -> (..., out)
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;

    int64_t in_features, out_features;
    Tensor weight;  // (out, in)
    Tensor bias;    // (out) or undefined
};

}  // namespace wsdol::nn
