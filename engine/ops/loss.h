// loss.h — losses and similarity functions, PyTorch semantics and eps conventions.
#pragma once
#include "engine/ops/registry.h"
#include "engine/tensor/tensor.h"

namespace wsdol {

enum class Reduction { none, mean, sum };

// logits: (N, C) or (N, C, d1, ...); target: i64 (N) or (N, d1, ...). ignore_index targets contribute nothing;
// weight (C) optional; mean divides by the sum of the weights of non-ignored targets (PyTorch). label_smoothing.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& weight = Tensor(),
                     int64_t ignore_index = -100, Reduction reduction = Reduction::mean, double label_smoothing = 0.0);
// logits, target: (N, C) floating; mean over classes then over the batch (PyTorch).
Tensor multilabel_soft_margin_loss(const Tensor& logits, const Tensor& target, const Tensor& weight = Tensor(),
                                   Reduction reduction = Reduction::mean);
Tensor binary_cross_entropy(const Tensor& prob, const Tensor& target, const Tensor& weight = Tensor(),
                            Reduction reduction = Reduction::mean);  // log clamped at -100 (PyTorch)
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, const Tensor& weight = Tensor(),
                                        const Tensor& pos_weight = Tensor(), Reduction reduction = Reduction::mean);
Tensor mse_loss(const Tensor& x, const Tensor& target, Reduction reduction = Reduction::mean);
Tensor l1_loss(const Tensor& x, const Tensor& target, Reduction reduction = Reduction::mean);
// PyTorch: x1.x2 / sqrt(clamp_min(|x1|^2 * |x2|^2, eps^2)), eps = 1e-8.
Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, int dim = 1, double eps = 1e-8);
// PyTorch F.normalize: x / clamp_min(||x||_p, eps), eps = 1e-12.
Tensor normalize(const Tensor& x, double p = 2.0, int dim = 1, double eps = 1e-12);

}  // namespace wsdol
