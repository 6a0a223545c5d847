// reduce_internal.h — shared pieces of the reductions (flags, shapes, kernel call), for reduce ops in other files.
#pragma once
#include <vector>

#include "engine/ops/reduce.h"

namespace wsdol {
// Normalizes `dims` (empty = all) into per-dim flags (errors name `op`, the dim and x's shape); also returns the
// keepdim output shape.
std::vector<bool> reduce_flags(const Tensor& x, const std::vector<int>& dims, const char* op, Shape* keep_shape);
Shape drop_reduced(const Shape& keep_shape, const std::vector<bool>& flags);
// Runs the "reduce" kernel; returns the keepdim-shaped result (no recording).
Tensor reduce_forward(ReduceOp op, const Tensor& x, const std::vector<bool>& flags, const Shape& keep_shape,
                      DType out_dtype);
// d in [-max(ndim,1), max(ndim,1)) normalized to [0, ndim) (0 for a 0-dim tensor); the error names op, dim, shape.
int checked_dim(const Tensor& x, int d, const char* op);
// The flagged dims as a list (for sum(..., dims, keepdim) in backward functions) and their element count.
std::vector<int> flagged_dims(const std::vector<bool>& flags);
int64_t reduced_count(const Tensor& x, const std::vector<bool>& flags);
}  // namespace wsdol
