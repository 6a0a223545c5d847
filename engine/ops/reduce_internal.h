// reduce_internal.h — shared pieces of the reductions (flags, shapes, kernel call), for reduce ops in other files.
#pragma once
#include <vector>

#include "engine/ops/reduce.h"

namespace wsdol {
std::vector<bool> reduce_flags(const Tensor& x, const std::vector<int>& dims, const char* op, Shape* keep_shape);
Shape drop_reduced(const Shape& keep_shape, const std::vector<bool>& flags);
Tensor reduce_forward(ReduceOp op, const Tensor& x, const std::vector<bool>& flags, const Shape& keep_shape,
                      DType out_dtype);
}  // namespace wsdol
