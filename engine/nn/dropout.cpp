// dropout.cpp — Dropout and DropPath modules over the random_ops.
#include "engine/nn/dropout.h"

#include "engine/ops/ops.h"

namespace wsdol::nn {

Dropout::Dropout(double p_, Generator* gen_) : Module("Dropout"), p(p_), gen(gen_) {
    WSDOL_CHECK(p >= 0.0 && p <= 1.0, "Dropout: probability must be in [0, 1], got ", p);
}

Tensor Dropout::forward(const Tensor& x) { return dropout(x, p, training_, gen); }

std::string Dropout::extra_repr() const { return str("p=", p); }

DropPath::DropPath(double p_, Generator* gen_) : Module("DropPath"), p(p_), gen(gen_) {
    WSDOL_CHECK(p >= 0.0 && p < 1.0, "DropPath: probability must be in [0, 1), got ", p);
}

Tensor DropPath::forward(const Tensor& x) { return drop_path(x, p, training_, gen); }

std::string DropPath::extra_repr() const { return str("drop_prob=", p); }

}  // namespace wsdol::nn
