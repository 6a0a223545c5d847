// clip_grad.h — torch.nn.utils.clip_grad_norm_: rescale gradients so that their joint norm is at most max_norm.
//
// PyTorch's formula (torch/nn/utils/clip_grad.py), over the parameters that have a gradient, in the given order:
//   norm_i = ||g_i||_p  for each gradient;  total = ||(norm_1, ..., norm_n)||_p   (p = inf: max of maxima)
//   clip_coef = max_norm / (total + 1e-6);  each g_i *= min(clip_coef, 1)
// and the total norm (before clipping) is returned. With no gradients the total is 0.
// Numerics: each norm_i is accumulated in double in fixed blocks (kernels/cpu/optim.cpp "norm_pow_sum"), so the
// result is deterministic for any thread count; PyTorch accumulates in the gradient dtype, so the two agree to
// that dtype's rounding. Multiplying by a clamped coefficient of exactly 1 is skipped (it changes no bit).
// norm_type: any p > 0, 0 (count of non-zeros, as torch.linalg.vector_norm), or +inf.
#pragma once
#include <vector>

#include "engine/optim/optimizer.h"

namespace wsdol::optim {

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);
double clip_grad_norm_(const NamedTensors& params, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);
// The total norm alone (no clipping).
double total_grad_norm(const std::vector<Tensor>& params, double norm_type = 2.0);

}  // namespace wsdol::optim
