// random_ops.h — ops that draw random masks (Philox counters: reproducible for any thread count).
#pragma once
#include "engine/core/rng.h"
#include "engine/ops/registry.h"
#include "engine/tensor/tensor.h"

namespace wsdol {

// Inverted dropout: zeroes with probability p, scales survivors by 1/(1-p); identity when !training or p == 0.
Tensor dropout(const Tensor& x, double p, bool training, Generator* gen = nullptr);
// Stochastic depth per sample (timm drop_path): drops whole samples along dim 0, scales by 1/(1-p).
Tensor drop_path(const Tensor& x, double p, bool training, Generator* gen = nullptr);

}  // namespace wsdol
