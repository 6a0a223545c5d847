// resample.h — interpolation and padding (NCHW), PyTorch semantics.
#pragma once
#include <vector>

#include "engine/ops/registry.h"
#include "engine/tensor/tensor.h"

namespace wsdol {

enum class InterpMode { nearest, bilinear, bicubic };
// x: (N, C, H, W) -> (N, C, out_h, out_w). Bicubic uses a = -0.75 (PyTorch). align_corners ignored by nearest.
// When scale factors are given (> 0) they are used for the source-coordinate mapping as PyTorch does with
// recompute_scale_factor=False.
Tensor interpolate(const Tensor& x, int64_t out_h, int64_t out_w, InterpMode mode, bool align_corners = false,
                   double scale_h = 0.0, double scale_w = 0.0);

enum class PadMode { constant, replicate };
// pads: PyTorch order, last dim first: {left, right, top, bottom, ...}; negative pads crop.
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, PadMode mode = PadMode::constant, double value = 0.0);

}  // namespace wsdol
