// softmax_norm.h — softmax family and normalization layers' functional forms.
#pragma once
#include "engine/ops/registry.h"
#include "engine/tensor/tensor.h"

namespace wsdol {

Tensor softmax(const Tensor& x, int dim);
Tensor log_softmax(const Tensor& x, int dim);
// x: (..., normalized_shape...); weight/bias: normalized_shape or undefined. eps as PyTorch (default 1e-5).
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps = 1e-5);
// x: (N, C, ...). training: normalize by batch statistics (biased var) and update running_mean/var in place with
// `momentum` (unbiased var, as PyTorch); eval: use the running statistics. weight/bias/running_* : (C) or undefined.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);
// x: (N, C, ...), C divisible by groups; weight/bias: (C) or undefined.
Tensor group_norm(const Tensor& x, int64_t groups, const Tensor& weight, const Tensor& bias, double eps = 1e-5);

}  // namespace wsdol
