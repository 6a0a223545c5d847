// tensor_kernels.h — the kernels the Tensor class itself needs on every backend: copy (with dtype conversion),
// fill, and random fills. Each backend registers them per dtype (the source's dtype for copy, the destination's
// for fill and random).
#pragma once
#include <cstdint>

#include "engine/ops/registry.h"

namespace wsdol {

// dst[i] = convert(src[i]); dst and src have the same shape, any strides, any dtypes. Keyed by src dtype.
using CopyKernel = void(const TensorView& dst, const TensorView& src);
// dst[i] = value. Keyed by dst dtype.
using FillKernel = void(const TensorView& dst, double value);

enum class RandomKind : int { uniform, normal, integer };
// Element i (row-major logical index) draws from Philox counter first + i:
//   uniform: U[a, b); normal: a + b * N(0,1); integer: uniform integer in [a, b). Keyed by dst dtype.
using RandomKernel = void(const TensorView& dst, uint64_t seed, uint64_t first, RandomKind kind, double a, double b);

}  // namespace wsdol
