// softmax_norm.h — softmax family and normalization layers' functional forms, and their kernel interfaces.
//
// softmax/log_softmax (engine/ops/softmax.cpp) and layer_norm (engine/ops/norm.cpp) have dedicated fused kernels,
// forward and backward. batch_norm and group_norm (norm.cpp) are single recorded nodes built on the reduce and
// elementwise kernels (group_norm reuses the layer_norm kernels for its per-group statistics; batch_norm in eval
// mode is one channel_affine pass).
#pragma once
#include "engine/ops/registry.h"
#include "engine/tensor/tensor.h"

namespace wsdol {

// Stable (max-shifted) softmax / log_softmax along dim; a 0-dim x is treated as one element (PyTorch).
Tensor softmax(const Tensor& x, int dim);
Tensor log_softmax(const Tensor& x, int dim);
// x: (..., normalized_shape...); weight/bias: normalized_shape or undefined. eps as PyTorch (default 1e-5).
// PyTorch numerics: biased variance over the normalized dims, eps inside the sqrt: y = (x - mean) / sqrt(var + eps).
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps = 1e-5);
// x: (N, C, ...). training: normalize by batch statistics (biased var) and update running_mean/var in place with
// `momentum` (unbiased var, as PyTorch); eval: use the running statistics. weight/bias/running_* : (C) or undefined.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);
// x: (N, C, ...), C divisible by groups; weight/bias: (C) or undefined.
Tensor group_norm(const Tensor& x, int64_t groups, const Tensor& weight, const Tensor& bias, double eps = 1e-5);

// ---- kernel interface ----
// All tensors contiguous. x, y: (outer, D, inner) with the softmax dim in the middle (inner = 1: rows).
// y = softmax(x) or log_softmax(x) along D.
using SoftmaxKernel = void(const TensorView& y, const TensorView& x, int64_t outer, int64_t D, int64_t inner,
                           bool log);
// grad_x from grad_y and the forward output y: softmax: y * (g - sum(g * y)); log_softmax: g - exp(y) * sum(g).
using SoftmaxBackwardKernel = void(const TensorView& grad_x, const TensorView& grad_y, const TensorView& y,
                                   int64_t outer, int64_t D, int64_t inner, bool log);
// Layer norm over the rows of x: (M, N). weight, bias: (N), or data == nullptr for none. Writes y: (M, N) and the
// per-row mean and rstd = 1 / sqrt(biased var + eps): (M), all in x's dtype.
using LayerNormKernel = void(const TensorView& y, const TensorView& mean, const TensorView& rstd, const TensorView& x,
                             const TensorView& weight, const TensorView& bias, int64_t M, int64_t N, double eps);
// Backward of the above: grad_x (M, N), grad_weight (N), grad_bias (N); any of them data == nullptr to skip it.
// weight: (N) or data == nullptr. grad_weight/grad_bias are sums over rows: fixed row blocks (parallel.h's rule).
// Per-channel affine map (batch_norm in eval mode): y = x * scale[c] + shift[c], rounded as the two separate
// operations (a product, then a sum: never a fused multiply-add). x, y: (outer, C, inner); scale, shift: (C).
using ChannelAffineKernel = void(const TensorView& y, const TensorView& x, const TensorView& scale,
                                 const TensorView& shift, int64_t outer, int64_t C, int64_t inner);
using LayerNormBackwardKernel = void(const TensorView& grad_x, const TensorView& grad_weight,
                                     const TensorView& grad_bias, const TensorView& grad_y, const TensorView& x,
                                     const TensorView& mean, const TensorView& rstd, const TensorView& weight,
                                     int64_t M, int64_t N);

}  // namespace wsdol
