// elementwise_internal.h — the shared forwards of binary and unary ops (no recording), for ops in other files
// that reuse the elementwise kernels.
#pragma once
#include "engine/ops/elementwise.h"

namespace wsdol {
Tensor binary_forward(BinaryOp op, const Tensor& a, const Tensor& b);
Tensor unary_forward(UnaryOp op, const Tensor& x, double p0, double p1);
// grad_x of a unary op from grad_y and the saved tensor (see UnaryBackwardKernel); no recording.
Tensor unary_backward(UnaryOp op, const Tensor& grad_y, const Tensor& saved, double p0, double p1);
// condition ? a : b with the three broadcast together; no recording.
Tensor where_forward(const Tensor& condition, const Tensor& a, const Tensor& b);
}  // namespace wsdol
