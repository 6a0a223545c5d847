// reduce.cpp — reductions: shape rule (reduced dims removed or kept), forward (the "reduce" kernel) and backward.
#include "engine/ops/reduce.h"

#include <algorithm>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"
#include "engine/ops/reduce_internal.h"

namespace wsdol {

WSDOL_OP(sum, "reduce", true);

// Normalizes `dims` (empty = all) into per-dim flags; also returns the keepdim output shape.
std::vector<bool> reduce_flags(const Tensor& x, const std::vector<int>& dims, const char* op, Shape* keep_shape) {
    std::vector<bool> flags(x.dim(), dims.empty());
    for (int d : dims) {
        const int nd = x.normalize_dim(d);
        WSDOL_CHECK(!flags[nd] || dims.empty(), op, ": dim ", d, " repeated");
        flags[nd] = true;
    }
    if (keep_shape) {
        *keep_shape = x.shape();
        for (int d = 0; d < x.dim(); ++d)
            if (flags[d]) (*keep_shape)[d] = 1;
    }
    return flags;
}

Shape drop_reduced(const Shape& keep_shape, const std::vector<bool>& flags) {
    Shape out;
    for (size_t d = 0; d < keep_shape.size(); ++d)
        if (!flags[d]) out.push_back(keep_shape[d]);
    return out;
}

// Runs the reduce kernel; returns the keepdim-shaped result.
Tensor reduce_forward(ReduceOp op, const Tensor& x, const std::vector<bool>& flags, const Shape& keep_shape,
                      DType out_dtype) {
    Tensor out = Tensor::empty(keep_shape, out_dtype, x.device());
    if (out.numel() == 0) return out;
    if (x.numel() == 0) {
        WSDOL_CHECK(op == ReduceOp::sum, "reduction over an empty dimension of shape ", shape_str(x.shape()),
                    " has no identity for max/min/argmax/argmin");
        out.zero_();
        return out;
    }
    std::unique_ptr<bool[]> f(new bool[std::max(1, x.dim())]);
    for (int d = 0; d < x.dim(); ++d) f[d] = flags[d];
    find_kernel<ReduceKernel>("reduce", x.device(), x.dtype())(op, view_of(out), view_of(x), f.get());
    return out;
}

Tensor sum(const Tensor& x, const std::vector<int>& dims, bool keepdim) {
    Shape keep_shape;
    const std::vector<bool> flags = reduce_flags(x, dims, "sum", &keep_shape);
    Tensor out = reduce_forward(ReduceOp::sum, x, flags, keep_shape, x.dtype());
    if (!keepdim) out = out.detach().view(drop_reduced(keep_shape, flags));
    record("sum", {x}, {out}, [in_shape = x.shape(), keep_shape](const TensorList& g) -> TensorList {
        return {g[0].reshape(keep_shape).expand(in_shape).contiguous()};
    });
    return out;
}

}  // namespace wsdol
