// elementwise_internal.h — the shared forwards of binary and unary ops (no recording), for ops in other files
// that reuse the elementwise kernels.
#pragma once
#include "engine/ops/elementwise.h"

namespace wsdol {
Tensor binary_forward(BinaryOp op, const Tensor& a, const Tensor& b);
Tensor unary_forward(UnaryOp op, const Tensor& x, double p0, double p1);
}  // namespace wsdol
