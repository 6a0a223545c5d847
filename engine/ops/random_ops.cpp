// random_ops.cpp — dropout, dropout2d and drop_path: draw a scaled keep-mask (the mask rule in random_ops.h) through the
// "dropout_mask" kernel, multiply, and record one node whose backward multiplies the gradient by the same mask.
#include "engine/ops/random_ops.h"

#include "engine/autograd/autograd.h"
#include "engine/ops/elementwise_internal.h"
#include "engine/ops/ops.h"

namespace wsdol {

WSDOL_OP(dropout, "random", true);
WSDOL_OP(dropout2d, "random", true);
WSDOL_OP(drop_path, "random", true);

namespace {

// out = x * mask with mask of `mask_shape` (x's shape, (N, C, 1, 1) or (N, 1, ..., 1)) holding 0 or 1 / (1 - p).
Tensor masked_scale(const char* op, const Tensor& x, const Shape& mask_shape, double p, Generator* gen) {
    WSDOL_CHECK(is_floating(x.dtype()), op, ": input must be floating, got ", dtype_name(x.dtype()));
    Generator& g = gen ? *gen : default_generator();
    // p = 1 drops everything: the scale of a kept element never matters then, and 0 avoids an infinite one.
    const double scale = p < 1.0 ? 1.0 / (1.0 - p) : 0.0;
    Tensor mask = Tensor::empty(mask_shape, x.dtype(), x.device());
    const uint64_t first = g.reserve(static_cast<uint64_t>(mask.numel()));
    if (mask.numel())
        find_kernel<DropoutMaskKernel>("dropout_mask", x.device(), x.dtype())(view_of(mask), g.seed(), first, p, scale);
    Tensor out = binary_forward(BinaryOp::mul, x, mask);
    record(op, {x}, {out}, [m = saved(mask)](const TensorList& grads) -> TensorList {
        return {mul(grads[0], m)};
    });
    return out;
}

void check_p(const char* op, double p) {
    WSDOL_CHECK(p >= 0.0 && p <= 1.0, op, ": probability p must lie in [0, 1], got ", p);
}

}  // namespace

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
    WSDOL_CHECK(x.defined(), "dropout: input is undefined");
    check_p("dropout", p);
    if (!training || p == 0.0) return x;
    return masked_scale("dropout", x, x.shape(), p, gen);
}

Tensor dropout2d(const Tensor& x, double p, bool training, Generator* gen) {
    WSDOL_CHECK(x.defined(), "dropout2d: input is undefined");
    check_p("dropout2d", p);
    WSDOL_CHECK(x.dim() == 4, "dropout2d: input must be (N, C, H, W), got ", shape_str(x.shape()));
    if (!training || p == 0.0) return x;
    return masked_scale("dropout2d", x, {x.shape()[0], x.shape()[1], 1, 1}, p, gen);  // one draw per channel
}

Tensor drop_path(const Tensor& x, double p, bool training, Generator* gen) {
    WSDOL_CHECK(x.defined(), "drop_path: input is undefined");
    check_p("drop_path", p);
    if (!training || p == 0.0) return x;
    WSDOL_CHECK(x.dim() >= 1, "drop_path: input must have a sample dim, got a 0-dim tensor");
    Shape mask_shape(x.dim(), 1);  // (N, 1, ..., 1): one draw per sample
    mask_shape[0] = x.shape()[0];
    return masked_scale("drop_path", x, mask_shape, p, gen);
}

}  // namespace wsdol
