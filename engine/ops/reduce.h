// reduce.h — reductions over any set of dims, with keepdim. An empty `dims` list means all dims.
//
// PyTorch semantics throughout: dims may be negative; a 0-dim tensor accepts dim 0 / -1; max/min propagate NaN;
// argmax/argmin return the first index of the extreme value; reductions of an empty dim give sum 0, mean NaN,
// logsumexp -inf, and are errors for max/min/argmax/argmin (no identity).
#pragma once
#include <vector>

#include "engine/ops/registry.h"
#include "engine/tensor/tensor.h"

namespace wsdol {

Tensor sum(const Tensor& x, const std::vector<int>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int>& dims = {}, bool keepdim = false);
// Values only (torch.amax/amin semantics): the gradient is split evenly among tied maxima (minima).
Tensor max(const Tensor& x, const std::vector<int>& dims = {}, bool keepdim = false);
Tensor min(const Tensor& x, const std::vector<int>& dims = {}, bool keepdim = false);
Tensor argmax(const Tensor& x, int dim, bool keepdim = false);  // i64; first index of the max
Tensor argmin(const Tensor& x, int dim, bool keepdim = false);
// unbiased: divide by n - 1 (Bessel), else by n. n - 1 <= 0 gives NaN/inf, as PyTorch.
Tensor var(const Tensor& x, const std::vector<int>& dims = {}, bool unbiased = true, bool keepdim = false);
Tensor std(const Tensor& x, const std::vector<int>& dims = {}, bool unbiased = true, bool keepdim = false);
Tensor logsumexp(const Tensor& x, const std::vector<int>& dims, bool keepdim = false);
// torch.linalg.vector_norm: p = 2, 1, +-inf, 0 (count of non-zeros) or any other real p: (sum |x|^p)^(1/p).
Tensor norm(const Tensor& x, double p = 2.0, const std::vector<int>& dims = {}, bool keepdim = false);
// Inclusive prefix sum along dim. Integer inputs give i64 (PyTorch's promotion); floating keep their dtype.
Tensor cumsum(const Tensor& x, int dim);

// ---- kernel interface ----
enum class ReduceOp : int { sum, max, min, argmax, argmin, logsumexp };
// Reduces x over the dims flagged in `reduce` (x.ndim flags) into out, whose shape is x's with reduced dims set
// to 1 (keepdim layout; contiguous). Sums follow parallel.h's determinism rule. For argmax/argmin out is i64 and
// holds the flat index within the reduced sub-block (row-major over the reduced dims). logsumexp: max-shifted,
// log(sum(exp(x - m))) + m with m the sub-block's max (0 when that max is infinite), exp-sum in double.
using ReduceKernel = void(ReduceOp op, const TensorView& out, const TensorView& x, const bool* reduce);
// out[..., i, ...] = sum_{j <= i} x[..., j, ...] along `dim`; out and x contiguous, same shape.
// out's dtype equals x's (the op casts integer inputs to i64 first). Floating sums accumulate in double.
using CumsumKernel = void(const TensorView& out, const TensorView& x, int dim);

}  // namespace wsdol
