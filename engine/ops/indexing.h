// indexing.h — ops that pick elements by index.
#pragma once
#include "engine/ops/registry.h"
#include "engine/tensor/tensor.h"

namespace wsdol {

Tensor gather(const Tensor& x, int dim, const Tensor& index);  // torch.gather; index i64
Tensor scatter(const Tensor& x, int dim, const Tensor& index, const Tensor& src);      // out-of-place
Tensor scatter_add(const Tensor& x, int dim, const Tensor& index, const Tensor& src);  // out-of-place
Tensor index_select(const Tensor& x, int dim, const Tensor& index);                    // index: 1-D i64
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);                  // mask: bool, broadcast
// Sorted values along dim; `indices` (if given) receives the permutation (i64). Stable.
Tensor sort(const Tensor& x, int dim = -1, bool descending = false, Tensor* indices = nullptr);
Tensor topk(const Tensor& x, int64_t k, int dim = -1, bool largest = true, Tensor* indices = nullptr);
Tensor embedding(const Tensor& weight, const Tensor& ids);  // weight: (V, D), ids: i64 any shape -> (..., D)
Tensor one_hot(const Tensor& labels, int64_t num_classes);  // i64 -> i64 (..., num_classes)

}  // namespace wsdol
