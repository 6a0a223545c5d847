// conv_pool.h — 2-D convolution and pooling (NCHW), PyTorch semantics.
//
// conv2d is im2col + the "gemm" kernel (engine/ops/linalg.h); pooling ops have their own window kernels.
// Every op accepts a batched (N, C, H, W) or an unbatched (C, H, W) input, as PyTorch does.
#pragma once
#include <array>

#include "engine/ops/registry.h"
#include "engine/tensor/tensor.h"

namespace wsdol {

using Int2 = std::array<int64_t, 2>;  // (H, W) pair

// x: (N, C_in, H, W), weight: (C_out, C_in / groups, kH, kW), bias: (C_out) or undefined -> (N, C_out, H', W').
// H' = (H + 2 padding_h - dilation_h (kH - 1) - 1) / stride_h + 1 (floor), likewise W'. Zero padding.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Int2 stride = {1, 1}, Int2 padding = {0, 0},
              Int2 dilation = {1, 1}, int64_t groups = 1);
// x: (N, C, H, W). Returns values; `indices` (if given) receives the flat h*W+w argmax per output (i64), as PyTorch.
// stride {0, 0} means stride = kernel (PyTorch's stride=None). Padding reads as -inf and must be <= kernel / 2.
// ceil_mode: the output size rounds up, but the last window must start inside the input or the left padding.
// Ties go to the first maximum in row-major window order; a NaN wins (PyTorch).
Tensor max_pool2d(const Tensor& x, Int2 kernel, Int2 stride, Int2 padding = {0, 0}, Int2 dilation = {1, 1},
                  bool ceil_mode = false, Tensor* indices = nullptr);
// x: (N, C, H, W). stride {0, 0} means stride = kernel. Divisor as PyTorch: the window clipped to the padded input
// (count_include_pad) or to the input itself (not count_include_pad).
Tensor avg_pool2d(const Tensor& x, Int2 kernel, Int2 stride, Int2 padding = {0, 0}, bool ceil_mode = false,
                  bool count_include_pad = true);
// x: (N, C, H, W) -> (N, C, oH, oW). Window of output i along a dim of size In: [floor(i In / Out), ceil((i+1) In / Out)).
Tensor adaptive_avg_pool2d(const Tensor& x, Int2 output_size);
Tensor adaptive_max_pool2d(const Tensor& x, Int2 output_size, Tensor* indices = nullptr);

// ---- tuning ----
// conv2d builds its im2col buffer for as many images at once as fit in this many elements (at least one image).
// The split is fixed by this number, never by the thread count, so results stay bit-identical across threads.
int64_t conv2d_column_budget();
void set_conv2d_column_budget(int64_t elements);

// ---- kernel interface ----
// One window sweep over (H, W) planes; every size in elements. For pools and conv alike.
struct Window2d {
    int64_t H = 0, W = 0;    // input plane
    int64_t OH = 0, OW = 0;  // output plane
    int64_t kH = 1, kW = 1, sH = 1, sW = 1, pH = 0, pW = 0, dH = 1, dW = 1;
};

// im2col: x (n, C, H, W) contiguous -> col (C kH kW, n OH OW) contiguous. Row (c, ki, kj) row-major, column
// (image, oh, ow) row-major; col = x[img, c, oh sH - pH + ki dH, ow sW - pW + kj dW], or 0 where that is padding.
using Im2colKernel = void(const Window2d& w, const TensorView& col, const TensorView& x);
// col2im, the adjoint: gx (n, C, H, W) contiguous is OVERWRITTEN with the sum of the col entries that read each
// pixel. Each (image, channel) plane is summed by one thread in a fixed order (deterministic).
using Col2imKernel = void(const Window2d& w, const TensorView& gx, const TensorView& col);

// Pool kernels: x, out, indices, gx, gy contiguous; x/gx (N, C, H, W), out/gy/indices (N, C, OH, OW); indices i64.
using MaxPool2dKernel = void(const Window2d& w, const TensorView& out, const TensorView& indices, const TensorView& x);
using AvgPool2dKernel = void(const Window2d& w, bool count_include_pad, const TensorView& out, const TensorView& x);
using AvgPool2dBackwardKernel = void(const Window2d& w, bool count_include_pad, const TensorView& gx,
                                     const TensorView& gy);
enum class AdaptivePool : int { avg, max };
// indices is written only for max (ignored, may be empty, for avg).
using AdaptivePool2dKernel = void(AdaptivePool mode, const TensorView& out, const TensorView& indices,
                                  const TensorView& x);
using AdaptiveAvgPool2dBackwardKernel = void(const TensorView& gx, const TensorView& gy);
// The backward of every max pool: gx = 0, then gx[n, c, indices[n, c, o]] += gy[n, c, o] for each output o, one
// plane per thread in output order (deterministic).
using MaxPool2dBackwardKernel = void(const TensorView& gx, const TensorView& gy, const TensorView& indices);

}  // namespace wsdol
