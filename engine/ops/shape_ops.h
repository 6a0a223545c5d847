// shape_ops.h — ops that move or re-view elements without arithmetic.
// The view methods (view, reshape, permute, ...) are members of Tensor (tensor.h) and defined in shape_ops.cpp.
#pragma once
#include <vector>

#include "engine/tensor/tensor.h"

namespace wsdol {

Tensor cast(const Tensor& x, DType dtype);  // differentiable between floating dtypes (same as x.to(dtype))
// Sums `grad` (shape broadcast from `shape`) back down to `shape`: the backward of every broadcast.
Tensor sum_to(const Tensor& grad, const Shape& shape);
// Result shape of broadcasting a with b (NumPy rules); the error names `op` and both shapes.
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);

// cat/stack/split/chunk (engine/ops/join_split.cpp). All members share dtype and device (no type promotion).
// cat: xs[i] (..., n_i, ...) equal outside dim -> (..., sum n_i, ...); members with n_i = 0 are fine, and a 1-D
// [0] tensor joins any list and is skipped (PyTorch's legacy rule). 0-dim members are an error.
Tensor cat(const std::vector<Tensor>& xs, int dim);
// stack: xs[i] all of shape S -> S with a new dim of size xs.size() inserted at dim (in [-(rank+1), rank]).
Tensor stack(const std::vector<Tensor>& xs, int dim);
// split/chunk return views (narrow), so gradients flow through the "slice" nodes of the pieces.
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int dim);          // last piece may be smaller
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int dim);  // sizes sum to x.size(dim)
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int dim);              // torch.chunk semantics

}  // namespace wsdol
