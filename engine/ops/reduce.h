// reduce.h — reductions over any set of dims, with keepdim. An empty `dims` list means all dims.
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
Tensor var(const Tensor& x, const std::vector<int>& dims = {}, bool unbiased = true, bool keepdim = false);
Tensor std(const Tensor& x, const std::vector<int>& dims = {}, bool unbiased = true, bool keepdim = false);
Tensor logsumexp(const Tensor& x, const std::vector<int>& dims, bool keepdim = false);
Tensor norm(const Tensor& x, double p = 2.0, const std::vector<int>& dims = {}, bool keepdim = false);
Tensor cumsum(const Tensor& x, int dim);

// ---- kernel interface ----
enum class ReduceOp : int { sum, max, min, argmax, argmin };
// Reduces x over the dims flagged in `reduce` (x.ndim flags) into out, whose shape is x's with reduced dims set
// to 1 (keepdim layout; contiguous). Sums follow parallel.h's determinism rule. For argmax/argmin out is i64 and
// holds the flat index within the reduced sub-block (row-major over the reduced dims).
using ReduceKernel = void(ReduceOp op, const TensorView& out, const TensorView& x, const bool* reduce);

}  // namespace wsdol
