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

// cat/stack/split/chunk (engine/ops/join_split.cpp)
Tensor cat(const std::vector<Tensor>& xs, int dim);    // sizes match except along dim
Tensor stack(const std::vector<Tensor>& xs, int dim);  // all shapes equal; new dim
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int dim);          // last piece may be smaller
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int dim);
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int dim);              // torch.chunk semantics

}  // namespace wsdol
