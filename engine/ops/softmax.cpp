// softmax.cpp — softmax and log_softmax along one dim: shape rule, forward through the fused "softmax" kernel,
// backward through the fused "softmax_backward" kernel (dispatched on the gradient's device, so it runs anywhere).
#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"
#include "engine/ops/reduce_internal.h"

namespace wsdol {

WSDOL_OP(softmax, "softmax_norm", true);
WSDOL_OP(log_softmax, "softmax_norm", true);

namespace {

// x viewed as (outer, D, inner) around dim d (a 0-dim tensor is one row of one element).
struct RowLayout {
    int64_t outer = 1, D = 1, inner = 1;
};

RowLayout row_layout(const Shape& shape, int d) {
    RowLayout r;
    if (shape.empty()) return r;
    for (int i = 0; i < d; ++i) r.outer *= shape[i];
    r.D = shape[d];
    for (size_t i = d + 1; i < shape.size(); ++i) r.inner *= shape[i];
    return r;
}

// No recording. y = softmax / log_softmax of x along d.
Tensor softmax_forward(const Tensor& x, int d, bool log) {
    const Tensor xc = x.detach().contiguous();
    Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
    if (y.numel() == 0) return y;
    const RowLayout r = row_layout(x.shape(), d);
    find_kernel<SoftmaxKernel>("softmax", x.device(), x.dtype())(view_of(y), view_of(xc), r.outer, r.D, r.inner, log);
    return y;
}

// No recording. grad_x from grad_y and the saved output y.
Tensor softmax_backward(const Tensor& grad_y, const Tensor& y, int d, bool log) {
    const Tensor gc = grad_y.contiguous();
    Tensor gx = Tensor::empty(y.shape(), y.dtype(), y.device());
    if (gx.numel() == 0) return gx;
    const RowLayout r = row_layout(y.shape(), d);
    find_kernel<SoftmaxBackwardKernel>("softmax_backward", y.device(), y.dtype())(view_of(gx), view_of(gc), view_of(y),
                                                                               r.outer, r.D, r.inner, log);
    return gx;
}

Tensor softmax_op(const Tensor& x, int dim, bool log) {
    const char* name = log ? "log_softmax" : "softmax";
    WSDOL_CHECK(x.defined(), name, ": undefined input");
    WSDOL_CHECK(is_floating(x.dtype()), name, ": needs a floating tensor, got ", dtype_name(x.dtype()), " ",
                shape_str(x.shape()));
    const int d = checked_dim(x, dim, name);
    Tensor y = softmax_forward(x, d, log);
    // The backward needs only the output (y is saved detached, so the node does not own its own output).
    record(name, {x}, {y}, [sy = saved(y), d, log](const TensorList& g) -> TensorList {
        return {softmax_backward(g[0], sy, d, log)};
    });
    return y;
}

}  // namespace

Tensor softmax(const Tensor& x, int dim) { return softmax_op(x, dim, false); }
Tensor log_softmax(const Tensor& x, int dim) { return softmax_op(x, dim, true); }

}  // namespace wsdol
