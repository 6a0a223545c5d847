// dropout.h — Dropout (elementwise, inverted) and DropPath (timm stochastic depth, per sample). Both are the
// identity in eval mode or with p = 0.
#pragma once
#include "engine/nn/module.h"

namespace wsdol::nn {

class Dropout : public Module {
public:
    explicit Dropout(double p = 0.5, Generator* gen = nullptr);
    Tensor forward(const Tensor& x) override;  // any shape
    std::string extra_repr() const override;
    double p;
    Generator* gen;  // null: the default generator
};

class DropPath : public Module {
public:
    explicit DropPath(double p = 0.0, Generator* gen = nullptr);
    Tensor forward(const Tensor& x) override;  // x: (N, ...), whole samples dropped
    std::string extra_repr() const override;
    double p;
    Generator* gen;
};

}  // namespace wsdol::nn
