// reduce.cpp — reductions: shape rule (reduced dims removed or kept), forward (the "reduce" and "cumsum" kernels,
// plus elementwise kernels for the composite ones) and backward, side by side.
//
// Forwards of composite reductions (mean, var, std, norm) run their pieces through the non-recording
// binary_forward/unary_forward/reduce_forward and record one node per op. Backward functions are written in terms
// of ops (they run with recording off, so the non-recording forwards are used there too where no public op exists).
#include "engine/ops/reduce.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/autograd/autograd.h"
#include "engine/ops/elementwise_internal.h"
#include "engine/ops/ops.h"
#include "engine/ops/reduce_internal.h"

namespace wsdol {

WSDOL_OP(sum, "reduce", true);
WSDOL_OP(mean, "reduce", true);
WSDOL_OP(max, "reduce", true);
WSDOL_OP(min, "reduce", true);
WSDOL_OP(argmax, "reduce", false);
WSDOL_OP(argmin, "reduce", false);
WSDOL_OP(var, "reduce", true);
WSDOL_OP(std, "reduce", true);
WSDOL_OP(logsumexp, "reduce", true);
WSDOL_OP(norm, "reduce", true);
WSDOL_OP(cumsum, "reduce", true);

// ---------------------------------------------------------------- shared pieces

int checked_dim(const Tensor& x, int d, const char* op) {
    const int lim = std::max(x.dim(), 1);  // PyTorch: a 0-dim tensor accepts dim 0 and -1
    WSDOL_CHECK(d >= -lim && d < lim, op, ": dim ", d, " out of range for a tensor of shape ", shape_str(x.shape()),
                " (expected a dim in [", -lim, ", ", lim - 1, "])");
    return x.dim() == 0 ? 0 : (d < 0 ? d + lim : d);
}

// Normalizes `dims` (empty = all) into per-dim flags; also returns the keepdim output shape.
std::vector<bool> reduce_flags(const Tensor& x, const std::vector<int>& dims, const char* op, Shape* keep_shape) {
    WSDOL_CHECK(x.defined(), op, ": undefined input");
    std::vector<bool> flags(x.dim(), dims.empty());
    for (int d : dims) {
        const int nd = checked_dim(x, d, op);
        if (x.dim() == 0) continue;  // reducing a 0-dim tensor over dim 0 is the identity
        WSDOL_CHECK(!flags[nd], op, ": dim ", d, " repeated in the reduced dims of shape ", shape_str(x.shape()));
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

std::vector<int> flagged_dims(const std::vector<bool>& flags) {
    std::vector<int> dims;
    for (size_t d = 0; d < flags.size(); ++d)
        if (flags[d]) dims.push_back(static_cast<int>(d));
    return dims;
}

int64_t reduced_count(const Tensor& x, const std::vector<bool>& flags) {
    int64_t n = 1;
    for (int d = 0; d < x.dim(); ++d)
        if (flags[d]) n *= x.shape()[d];
    return n;
}

// Runs the reduce kernel; returns the keepdim-shaped result.
Tensor reduce_forward(ReduceOp op, const Tensor& x, const std::vector<bool>& flags, const Shape& keep_shape,
                      DType out_dtype) {
    Tensor out = Tensor::empty(keep_shape, out_dtype, x.device());
    if (out.numel() == 0) return out;
    if (x.numel() == 0) {  // every output reduces an empty sub-block: the identity of the op, where it has one
        WSDOL_CHECK(op == ReduceOp::sum || op == ReduceOp::logsumexp, "reduction over an empty dimension of shape ",
                    shape_str(x.shape()), " has no identity for max/min/argmax/argmin");
        out.fill_(op == ReduceOp::sum ? 0.0 : -std::numeric_limits<double>::infinity());  // logsumexp: log(0)
        return out;
    }
    std::unique_ptr<bool[]> f(new bool[std::max(1, x.dim())]);
    for (int d = 0; d < x.dim(); ++d) f[d] = flags[d];
    find_kernel<ReduceKernel>("reduce", x.device(), x.dtype())(op, view_of(out), view_of(x), f.get());
    return out;
}

namespace {

void check_floating(const Tensor& x, const char* op) {
    WSDOL_CHECK(x.defined(), op, ": undefined input");
    WSDOL_CHECK(is_floating(x.dtype()), op, ": needs a floating tensor, got ", dtype_name(x.dtype()), " ",
                shape_str(x.shape()));
}

// max/min/argmax/argmin have no identity: an empty reduced sub-block is an error unless the output is empty too.
void check_nonempty(const Tensor& x, const std::vector<bool>& flags, const Shape& keep_shape, const char* op) {
    WSDOL_CHECK(reduced_count(x, flags) > 0 || shape_numel(keep_shape) == 0, op,
                ": cannot reduce over an empty dim of shape ", shape_str(x.shape()),
                " (the reduction has no identity)");
}

Tensor scalar_like(double v, const Tensor& x) { return Tensor::scalar(v, x.dtype(), x.device()); }

// 1 where x > 0, else 0 (NaN -> 0), in x's dtype.
Tensor positive_mask(const Tensor& x) { return binary_forward(BinaryOp::gt, x, scalar_like(0, x)).to(x.dtype()); }

// sign(x) in x's dtype: -1, 0, +1.
Tensor sign_of(const Tensor& x) {
    return sub(positive_mask(x), binary_forward(BinaryOp::lt, x, scalar_like(0, x)).to(x.dtype()));
}

// 1 / s where s > 0, and 0 where s == 0 (PyTorch masks the gradient of std and the 2-norm to 0 there).
Tensor safe_reciprocal(const Tensor& s) {
    Tensor mask = positive_mask(s);
    return div(mask, add(s, rsub(1.0, mask)));
}

// Returns `out_keep` shaped for the caller: kept as is, or with the reduced dims dropped (a view).
Tensor finish(const Tensor& out_keep, const std::vector<bool>& flags, bool keepdim) {
    return keepdim ? out_keep : out_keep.detach().view(drop_reduced(out_keep.shape(), flags));
}

}  // namespace

// ---------------------------------------------------------------- sum, mean

Tensor sum(const Tensor& x, const std::vector<int>& dims, bool keepdim) {
    Shape keep_shape;
    const std::vector<bool> flags = reduce_flags(x, dims, "sum", &keep_shape);
    Tensor out = finish(reduce_forward(ReduceOp::sum, x, flags, keep_shape, x.dtype()), flags, keepdim);
    record("sum", {x}, {out}, [in_shape = x.shape(), keep_shape](const TensorList& g) -> TensorList {
        return {g[0].reshape(keep_shape).expand(in_shape).contiguous()};
    });
    return out;
}

// mean = sum / n, divided (not multiplied by 1/n) as PyTorch does; an empty reduction gives 0/0 = NaN.
Tensor mean(const Tensor& x, const std::vector<int>& dims, bool keepdim) {
    check_floating(x, "mean");
    Shape keep_shape;
    const std::vector<bool> flags = reduce_flags(x, dims, "mean", &keep_shape);
    const int64_t n = reduced_count(x, flags);
    Tensor s = reduce_forward(ReduceOp::sum, x, flags, keep_shape, x.dtype());
    Tensor out = finish(binary_forward(BinaryOp::div, s, scalar_like(static_cast<double>(n), x)), flags, keepdim);
    record("mean", {x}, {out}, [in_shape = x.shape(), keep_shape, n](const TensorList& g) -> TensorList {
        return {div(g[0].reshape(keep_shape).expand(in_shape), static_cast<double>(n))};
    });
    return out;
}

// ---------------------------------------------------------------- max, min (amax/amin), argmax, argmin

namespace {

Tensor extreme(ReduceOp op, const char* name, const Tensor& x, const std::vector<int>& dims, bool keepdim) {
    Shape keep_shape;
    const std::vector<bool> flags = reduce_flags(x, dims, name, &keep_shape);
    check_nonempty(x, flags, keep_shape, name);
    Tensor out_keep = reduce_forward(op, x, flags, keep_shape, x.dtype());
    Tensor out = finish(out_keep, flags, keepdim);
    // Gradient split evenly among the elements equal to the result (torch.amax/amin backward).
    record(name, {x}, {out},
           [sx = saved(x), sout = saved(out_keep), keep_shape, rdims = flagged_dims(flags)](const TensorList& g)
               -> TensorList {
               Tensor mask = binary_forward(BinaryOp::eq, sx, sout).to(sx.dtype());
               Tensor count = sum(mask, rdims, true);
               return {mul(mask, div(g[0].reshape(keep_shape), count))};
           });
    return out;
}

Tensor arg_extreme(ReduceOp op, const char* name, const Tensor& x, int dim, bool keepdim) {
    WSDOL_CHECK(x.defined(), name, ": undefined input");
    Shape keep_shape;
    const std::vector<bool> flags = reduce_flags(x, {dim}, name, &keep_shape);
    check_nonempty(x, flags, keep_shape, name);
    // Only one dim is reduced, so the kernel's flat index within the sub-block is the index along that dim.
    return finish(reduce_forward(op, x, flags, keep_shape, DType::i64), flags, keepdim);
}

}  // namespace

Tensor max(const Tensor& x, const std::vector<int>& dims, bool keepdim) {
    return extreme(ReduceOp::max, "max", x, dims, keepdim);
}
Tensor min(const Tensor& x, const std::vector<int>& dims, bool keepdim) {
    return extreme(ReduceOp::min, "min", x, dims, keepdim);
}
Tensor argmax(const Tensor& x, int dim, bool keepdim) { return arg_extreme(ReduceOp::argmax, "argmax", x, dim, keepdim); }
Tensor argmin(const Tensor& x, int dim, bool keepdim) { return arg_extreme(ReduceOp::argmin, "argmin", x, dim, keepdim); }

// ---------------------------------------------------------------- var, std

namespace {

struct Moments {
    Tensor mean;  // keepdim shape
    Tensor var;   // keepdim shape
    double denom; // n - correction, floored at 0 (PyTorch): 0 gives NaN/inf
};

// Two passes (mean, then the sum of squared deviations), both sums in double inside the kernel: no cancellation.
Moments moments(const Tensor& x, const std::vector<bool>& flags, const Shape& keep_shape, bool unbiased) {
    const int64_t n = reduced_count(x, flags);
    Moments m;
    m.denom = std::max<double>(0.0, static_cast<double>(n) - (unbiased ? 1.0 : 0.0));
    Tensor s = reduce_forward(ReduceOp::sum, x, flags, keep_shape, x.dtype());
    m.mean = binary_forward(BinaryOp::div, s, scalar_like(static_cast<double>(n), x));
    Tensor centered = binary_forward(BinaryOp::sub, x, m.mean);
    Tensor ss = reduce_forward(ReduceOp::sum, binary_forward(BinaryOp::mul, centered, centered), flags, keep_shape,
                               x.dtype());
    m.var = binary_forward(BinaryOp::div, ss, scalar_like(m.denom, x));
    return m;
}

}  // namespace

Tensor var(const Tensor& x, const std::vector<int>& dims, bool unbiased, bool keepdim) {
    check_floating(x, "var");
    Shape keep_shape;
    const std::vector<bool> flags = reduce_flags(x, dims, "var", &keep_shape);
    Moments m = moments(x, flags, keep_shape, unbiased);
    Tensor out = finish(m.var, flags, keepdim);
    // d var / dx = 2 (x - mean) / denom (the mean's own dependence on x cancels).
    record("var", {x}, {out},
           [sx = saved(x), smean = m.mean, keep_shape, denom = m.denom](const TensorList& g) -> TensorList {
               return {mul(mul(sub(sx, smean), g[0].reshape(keep_shape)), 2.0 / denom)};
           });
    return out;
}

Tensor std(const Tensor& x, const std::vector<int>& dims, bool unbiased, bool keepdim) {
    check_floating(x, "std");
    Shape keep_shape;
    const std::vector<bool> flags = reduce_flags(x, dims, "std", &keep_shape);
    Moments m = moments(x, flags, keep_shape, unbiased);
    Tensor std_keep = unary_forward(UnaryOp::sqrt, m.var, 0, 0);
    Tensor out = finish(std_keep, flags, keepdim);
    // d std / dx = (x - mean) / (denom * std); where std == 0 the gradient is 0 (PyTorch masks it), not NaN.
    record("std", {x}, {out},
           [sx = saved(x), smean = m.mean, sstd = std_keep, keep_shape, denom = m.denom](const TensorList& g)
               -> TensorList {
               Tensor scale = mul(mul(g[0].reshape(keep_shape), safe_reciprocal(sstd)), 1.0 / denom);
               return {mul(sub(sx, smean), scale)};
           });
    return out;
}

// ---------------------------------------------------------------- logsumexp

Tensor logsumexp(const Tensor& x, const std::vector<int>& dims, bool keepdim) {
    check_floating(x, "logsumexp");
    Shape keep_shape;
    const std::vector<bool> flags = reduce_flags(x, dims, "logsumexp", &keep_shape);
    Tensor out_keep = reduce_forward(ReduceOp::logsumexp, x, flags, keep_shape, x.dtype());
    Tensor out = finish(out_keep, flags, keepdim);
    // d lse / dx = exp(x - lse) (the softmax over the reduced dims).
    record("logsumexp", {x}, {out}, [sx = saved(x), sout = saved(out_keep), keep_shape](const TensorList& g) -> TensorList {
        Tensor p = unary_forward(UnaryOp::exp, sub(sx, sout), 0, 0);
        return {mul(p, g[0].reshape(keep_shape))};
    });
    return out;
}

// ---------------------------------------------------------------- norm

Tensor norm(const Tensor& x, double p, const std::vector<int>& dims, bool keepdim) {
    check_floating(x, "norm");
    WSDOL_CHECK(!std::isnan(p), "norm: p is NaN");
    Shape keep_shape;
    const std::vector<bool> flags = reduce_flags(x, dims, "norm", &keep_shape);
    const bool is_inf = std::isinf(p);
    if (is_inf)
        WSDOL_CHECK(reduced_count(x, flags) > 0 || shape_numel(keep_shape) == 0, "norm: cannot take the ",
                    p > 0 ? "inf" : "-inf", "-norm over an empty dim of shape ", shape_str(x.shape()),
                    " (no identity)");
    const Tensor ax = unary_forward(UnaryOp::abs, x, 0, 0);
    Tensor out_keep;
    if (p == 2.0) {
        out_keep = unary_forward(UnaryOp::sqrt,
                                 reduce_forward(ReduceOp::sum, binary_forward(BinaryOp::mul, x, x), flags, keep_shape,
                                                x.dtype()), 0, 0);
    } else if (p == 1.0) {
        out_keep = reduce_forward(ReduceOp::sum, ax, flags, keep_shape, x.dtype());
    } else if (is_inf) {
        out_keep = reduce_forward(p > 0 ? ReduceOp::max : ReduceOp::min, ax, flags, keep_shape, x.dtype());
    } else if (p == 0.0) {  // number of non-zero elements
        Tensor nonzero = binary_forward(BinaryOp::ne, x, scalar_like(0, x)).to(x.dtype());
        out_keep = reduce_forward(ReduceOp::sum, nonzero, flags, keep_shape, x.dtype());
    } else {
        Tensor s = reduce_forward(ReduceOp::sum, unary_forward(UnaryOp::pow_scalar, ax, p, 0), flags, keep_shape,
                                  x.dtype());
        out_keep = unary_forward(UnaryOp::pow_scalar, s, 1.0 / p, 0);
    }
    Tensor out = finish(out_keep, flags, keepdim);
    // Gradients follow PyTorch's linalg_vector_norm_backward, including its conventions at 0.
    record("norm", {x}, {out},
           [sx = saved(x), snorm = saved(out_keep), keep_shape, p, rdims = flagged_dims(flags)](const TensorList& g)
               -> TensorList {
               const Tensor gk = g[0].reshape(keep_shape);
               if (p == 0.0) return {Tensor::zeros(sx.shape(), sx.dtype(), sx.device())};  // piecewise constant
               if (p == 1.0) return {mul(sign_of(sx), gk)};                               // sign(0) = 0
               if (p == 2.0) return {mul(sx, mul(gk, safe_reciprocal(snorm)))};             // 0 where the norm is 0
               const Tensor ax = unary_forward(UnaryOp::abs, sx, 0, 0);
               if (std::isinf(p)) {  // like amax/amin of |x|: split evenly among the ties
                   Tensor mask = binary_forward(BinaryOp::eq, ax, snorm).to(sx.dtype());
                   Tensor count = sum(mask, rdims, true);
                   return {mul(mul(sign_of(sx), mask), div(gk, count))};
               }
               if (p < 1.0) {
                   // sign(x) |x|^(p-1) norm^(1-p) g, with 0 where x == 0 (|x|^(p-1) is infinite there).
                   Tensor zero = binary_forward(BinaryOp::eq, sx, scalar_like(0, sx)).to(sx.dtype());
                   Tensor scaled = mul(sign_of(sx), unary_forward(UnaryOp::pow_scalar, add(ax, zero), p - 1, 0));
                   return {mul(scaled, mul(gk, unary_forward(UnaryOp::pow_scalar, snorm, 1 - p, 0)))};
               }
               // p >= 1: sign(x) |x|^(p-1) g / norm^(p-1), with 0 where the norm is 0.
               Tensor scaled = mul(sign_of(sx), unary_forward(UnaryOp::pow_scalar, ax, p - 1, 0));
               Tensor inv = safe_reciprocal(unary_forward(UnaryOp::pow_scalar, snorm, p - 1, 0));
               return {mul(scaled, mul(gk, inv))};
           });
    return out;
}

// ---------------------------------------------------------------- cumsum

namespace {

// No recording: the forward of cumsum, also used (on the flipped gradient) by its backward.
Tensor cumsum_forward(const Tensor& x, int d) {
    // Ints and bools sum in i64 (PyTorch's promotion); the kernel wants a contiguous input.
    Tensor src = (is_floating(x.dtype()) ? x.detach() : x.detach().to(DType::i64)).contiguous();
    Tensor out = Tensor::empty(src.shape(), src.dtype(), src.device());
    if (out.numel() == 0) return out;
    if (src.dim() == 0) {
        out.copy_(src);
        return out;
    }
    find_kernel<CumsumKernel>("cumsum", src.device(), src.dtype())(view_of(out), view_of(src), d);
    return out;
}

}  // namespace

Tensor cumsum(const Tensor& x, int dim) {
    WSDOL_CHECK(x.defined(), "cumsum: undefined input");
    const int d = checked_dim(x, dim, "cumsum");
    Tensor out = cumsum_forward(x, d);
    // d out_i / d x_j = 1 for j <= i, so grad_x_j = sum_{i >= j} g_i: the cumsum of the reversed gradient, reversed.
    record("cumsum", {x}, {out}, [d](const TensorList& g) -> TensorList {
        if (g[0].dim() == 0) return {g[0]};
        return {cumsum_forward(g[0].flip({d}), d).flip({d})};
    });
    return out;
}

}  // namespace wsdol
