// indexing.h — ops that pick elements by index: gather, scatter, scatter_add, index_select, masked_fill,
// sort/topk, embedding, one_hot. Defined in engine/ops/indexing.cpp; CPU kernels in kernels/cpu/indexing.cpp.
//
// Index tensors are i64. Every index is range-checked before a kernel runs: a value outside [0, size) is a
// wsdol::Error naming the op, the value, the valid range and the dim (PyTorch rejects negative indices in these
// ops too; it does not wrap them). Everything here is deterministic: accumulations with repeated indices
// (scatter_add, the backward of gather/index_select/embedding) add in a fixed order whatever the thread count.
#pragma once
#include "engine/ops/registry.h"
#include "engine/tensor/tensor.h"

namespace wsdol {

// torch.gather. x: (..., n_dim, ...), index: i64 with x's rank and index.size(d) <= x.size(d) for d != dim
// -> out with index's shape: out[p] = x[p with coordinate dim replaced by index[p]].
// Backward: scatter_add of the gradient into zeros of x's shape (repeated indices accumulate).
Tensor gather(const Tensor& x, int dim, const Tensor& index);
// torch.scatter (out-of-place): a copy of x with out[p with dim -> index[p]] = src[p] for every p of index.
// x: any, index: i64 with x's rank, index.size(d) <= src.size(d) for all d and <= x.size(d) for d != dim;
// src: x's dtype. Repeated targets: the last write in order along dim wins (PyTorch leaves it unspecified).
// Backward (PyTorch's formula): grad_x = grad with the scattered positions zeroed; grad_src = gather(grad).
// With repeated targets grad_src still gathers to every writer, as in PyTorch.
Tensor scatter(const Tensor& x, int dim, const Tensor& index, const Tensor& src);
// torch.scatter_add (out-of-place): out = x; out[p with dim -> index[p]] += src[p]. Shapes as scatter.
// Repeated targets add in increasing order along dim. Backward: grad_x = grad; grad_src = gather(grad).
Tensor scatter_add(const Tensor& x, int dim, const Tensor& index, const Tensor& src);
// torch.index_select. x: (..., n_dim, ...), index: 1-D (or 0-dim) i64 of length L -> (..., L, ...).
// Backward: index_add of the gradient into zeros of x's shape (duplicates accumulate in index order).
Tensor index_select(const Tensor& x, int dim, const Tensor& index);
// torch.masked_fill (out-of-place): x and mask broadcast together; out = mask ? value : x.
// mask: bool. Backward: grad_x = grad with masked positions zeroed, summed back to x's shape.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);
// torch.sort(stable=True): values sorted along dim; `indices` (if given) receives the permutation (i64).
// Ties keep their original order; NaN sorts as the largest value (last ascending, first descending), as in
// PyTorch. Backward: the gradient goes back to the source positions (scatter through the permutation).
Tensor sort(const Tensor& x, int dim = -1, bool descending = false, Tensor* indices = nullptr);
// torch.topk(sorted=True): the k largest (smallest) values along dim, in order; 0 <= k <= x.size(dim).
// NaN counts as the largest value; among ties the lower index comes first (PyTorch does not specify).
// Backward: scatter of the gradient to the selected source positions, zeros elsewhere.
Tensor topk(const Tensor& x, int64_t k, int dim = -1, bool largest = true, Tensor* indices = nullptr);
// F.embedding without padding_idx/max_norm. weight: (V, D), ids: i64 any shape -> (..., D).
// Backward: rows of the gradient added into a (V, D) zero gradient, repeated ids in flat order.
Tensor embedding(const Tensor& weight, const Tensor& ids);
// F.one_hot. labels: i64 any shape, values in [0, num_classes) -> i64 (..., num_classes). Not differentiable.
// num_classes = -1 infers max(labels) + 1 (an error for an empty tensor, as in PyTorch).
Tensor one_hot(const Tensor& labels, int64_t num_classes = -1);

// ---- kernel interface ----
// Every index operand is i64 and already range-checked by the op: kernels never see a bad index. Index views may
// have stride 0 (index_select and embedding pass a 1-D index broadcast to the output's shape). 0-dim operands
// are passed as 1-D views of size 1.

// out[p] = x[p with coordinate dim replaced by index[p]]; out and index share a shape; x has the same rank.
// Keyed by x's dtype. Each output element is written by one thread: any split gives the same result.
using GatherKernel = void(const TensorView& out, const TensorView& x, const TensorView& index, int dim);

enum class ScatterMode : int { assign, add };
// For every position p of index: out[p with dim -> index[p]] = src[p] (assign) or += src[p] (add); src has
// index's shape; out holds the starting values. The slices along dim (positions that differ only in their dim
// coordinate) write disjoint parts of out and run in parallel; inside a slice the updates run in increasing
// order along dim, so repeated targets give the same bits for any thread count. Keyed by out's dtype.
using ScatterKernel = void(ScatterMode mode, const TensorView& out, const TensorView& index, const TensorView& src,
                           int dim);

// out = mask ? value : x; x and mask (bool) already broadcast to out's shape. Keyed by x's dtype.
using MaskedFillKernel = void(const TensorView& out, const TensorView& x, const TensorView& mask, double value);

// Sorts every slice of x along dim (ascending, or descending) and writes the first k = values.shape[dim]
// entries of the order into values and indices (i64); k = x.shape[dim] is a full sort. The order is total:
// by value (NaN largest), ties by source index, so the result is the stable sort's prefix. Keyed by x's dtype.
using SortKernel = void(const TensorView& values, const TensorView& indices, const TensorView& x, int dim,
                        bool descending);

}  // namespace wsdol
