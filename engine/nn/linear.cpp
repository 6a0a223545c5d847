// linear.cpp — nn.Linear.
#include "engine/nn/linear.h"

#include "engine/nn/init.h"
#include "engine/ops/ops.h"

namespace wsdol::nn {

Linear::Linear(int64_t in, int64_t out, bool with_bias, Generator* gen, DType dtype)
    : Module("Linear"), in_features(in), out_features(out) {
    WSDOL_CHECK(in >= 0 && out >= 0, "Linear: negative size (in ", in, ", out ", out, ")");
    weight = register_parameter("weight", Tensor::empty({out, in}, dtype));
    if (with_bias) bias = register_parameter("bias", Tensor::empty({out}, dtype));
    init::linear_default_(weight, bias, gen);
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias); }

std::string Linear::extra_repr() const {
    return str("in_features=", in_features, ", out_features=", out_features,
               ", bias=", bias.defined() ? "True" : "False");
}

}  // namespace wsdol::nn
