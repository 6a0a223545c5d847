// conv_pool.h — 2-D convolution and pooling (NCHW), PyTorch semantics.
#pragma once
#include <array>

#include "engine/ops/registry.h"
#include "engine/tensor/tensor.h"

namespace wsdol {

using Int2 = std::array<int64_t, 2>;  // (H, W) pair

// x: (N, C_in, H, W), weight: (C_out, C_in / groups, kH, kW), bias: (C_out) or undefined -> (N, C_out, H', W').
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Int2 stride = {1, 1}, Int2 padding = {0, 0},
              Int2 dilation = {1, 1}, int64_t groups = 1);
// x: (N, C, H, W). Returns values; `indices` (if given) receives the flat h*W+w argmax per output (i64), as PyTorch.
Tensor max_pool2d(const Tensor& x, Int2 kernel, Int2 stride, Int2 padding = {0, 0}, Int2 dilation = {1, 1},
                  bool ceil_mode = false, Tensor* indices = nullptr);
Tensor avg_pool2d(const Tensor& x, Int2 kernel, Int2 stride, Int2 padding = {0, 0}, bool ceil_mode = false,
                  bool count_include_pad = true);
Tensor adaptive_avg_pool2d(const Tensor& x, Int2 output_size);
Tensor adaptive_max_pool2d(const Tensor& x, Int2 output_size, Tensor* indices = nullptr);

}  // namespace wsdol
