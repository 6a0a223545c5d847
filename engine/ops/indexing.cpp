// indexing.cpp — gather, scatter, scatter_add, index_select, masked_fill, sort, topk, embedding, one_hot: each
// op's checks, forward (kernels "gather", "scatter", "masked_fill", "sort") and backward side by side.
//
// Four kernels serve all the ops: index_select and embedding are gathers whose index is a 1-D index broadcast
// (stride 0) to the output's shape, and their backwards (index_add) are scatter_adds through the same broadcast
// index. The backwards call the unchecked forwards below (kernel dispatch on the gradient's device, no
// recording: backward runs with grad mode off), since their indices were checked when the op ran.
#include "engine/ops/indexing.h"

#include <string>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"
#include "engine/ops/reduce_internal.h"

namespace wsdol {

WSDOL_OP(gather, "indexing", true);
WSDOL_OP(scatter, "indexing", true);
WSDOL_OP(scatter_add, "indexing", true);
WSDOL_OP(index_select, "indexing", true);
WSDOL_OP(masked_fill, "indexing", true);
WSDOL_OP(sort, "indexing", true);
WSDOL_OP(topk, "indexing", true);
WSDOL_OP(embedding, "indexing", true);
WSDOL_OP(one_hot, "indexing", false);

namespace {

// A 0-dim kernel view becomes a 1-D view of size 1 (the kernels walk at least one dim).
TensorView promote(TensorView v) {
    if (v.ndim == 0) {
        v.ndim = 1;
        v.shape[0] = 1;
        v.strides[0] = 1;
    }
    return v;
}

TensorView kview(const Tensor& t) { return promote(view_of(t)); }

// A 1-D index (length L, or 0-dim) seen as an index of `shape` (shape[dim] == L): stride 0 on every other dim.
TensorView broadcast_index(const Tensor& index, const Shape& shape, int dim) {
    TensorView v = kview(index);
    const int64_t step = v.strides[0];
    v.ndim = static_cast<int>(shape.size());
    for (int d = 0; d < v.ndim; ++d) {
        v.shape[d] = shape[d];
        v.strides[d] = d == dim ? step : 0;
    }
    return v;
}

// The dim an op works along; 0-dim tensors act as 1-D tensors of size 1 (PyTorch accepts dim 0 and -1 there).
int op_dim(const char* op, const Tensor& x, int dim) {
    const int lim = std::max(x.dim(), 1);
    WSDOL_CHECK(dim >= -lim && dim < lim, op, ": dim ", dim, " out of range for a tensor of shape ",
                shape_str(x.shape()));
    return dim < 0 ? dim + lim : dim;
}

int64_t size_along(const Tensor& t, int dim) { return t.dim() == 0 ? 1 : t.shape()[dim]; }

void check_index_dtype(const char* op, const char* what, const Tensor& index) {
    WSDOL_CHECK(index.defined(), op, ": ", what, " is undefined");
    WSDOL_CHECK(index.dtype() == DType::i64, op, ": ", what, " must be int64, got ", dtype_name(index.dtype()), " ",
                shape_str(index.shape()));
}

// Every value of index must lie in [0, size); `where` completes "out of range ..." (e.g. "for dim 1 of size 5").
// The check reads the index's min and max (reductions on the index's own device, then one host read), so it
// names the offending extreme value: the smallest when one is negative, else the largest.
void check_index_range(const char* op, const char* what, const Tensor& index, int64_t size, const std::string& where) {
    if (index.numel() == 0) return;
    NoGradGuard no_grad;
    const std::vector<bool> all(index.dim(), true);
    const Shape ones(index.dim(), 1);
    const int64_t lo = static_cast<int64_t>(reduce_forward(ReduceOp::min, index, all, ones, DType::i64).item());
    const int64_t hi = static_cast<int64_t>(reduce_forward(ReduceOp::max, index, all, ones, DType::i64).item());
    const int64_t bad = lo < 0 ? lo : hi;
    WSDOL_CHECK(lo >= 0 && hi < size, op, ": ", what, " ", bad, " out of range ", where, " (valid range [0, ", size,
                "))");
}

// Shape rules shared by gather and scatter (PyTorch's gather_shape_check / scatter_shape_check).
void check_index_shape(const char* op, const Tensor& x, int dim, const Tensor& index, const Tensor* src) {
    const int rank = std::max(x.dim(), 1);
    WSDOL_CHECK(std::max(index.dim(), 1) == rank, op, ": index ", shape_str(index.shape()),
                " must have the same number of dims as the input ", shape_str(x.shape()));
    if (src) {
        WSDOL_CHECK(std::max(src->dim(), 1) == rank, op, ": src ", shape_str(src->shape()),
                    " must have the same number of dims as the input ", shape_str(x.shape()));
        WSDOL_CHECK(src->dtype() == x.dtype(), op, ": src dtype ", dtype_name(src->dtype()), " differs from input dtype ",
                    dtype_name(x.dtype()));
        WSDOL_CHECK(src->device() == x.device(), op, ": src on ", src->device().name(), ", input on ", x.device().name());
    }
    WSDOL_CHECK(index.device() == x.device(), op, ": index on ", index.device().name(), ", input on ", x.device().name());
    for (int d = 0; d < index.dim(); ++d) {
        WSDOL_CHECK(d == dim || index.shape()[d] <= size_along(x, d), op, ": index ", shape_str(index.shape()),
                    " is larger than the input ", shape_str(x.shape()), " in dim ", d, " (only dim ", dim, " may differ)");
        if (src)
            WSDOL_CHECK(index.shape()[d] <= size_along(*src, d), op, ": index ", shape_str(index.shape()),
                        " is larger than src ", shape_str(src->shape()), " in dim ", d);
    }
}

// src narrowed to index's shape (scatter reads only that corner of a larger src).
Tensor corner(const Tensor& src, const Shape& shape) {
    if (src.numel() == shape_numel(shape)) return src;  // same shape (or 0-dim vs [1])
    NoGradGuard no_grad;
    Tensor v = src;
    for (int d = 0; d < static_cast<int>(shape.size()); ++d) v = v.narrow(d, 0, shape[d]);
    return v;
}

// A gradient for `src` from one for its corner (index's shape): zeros outside the corner.
Tensor pad_to(const Tensor& grad, const Shape& src_shape) {
    if (grad.numel() == shape_numel(src_shape)) return grad.reshape(src_shape);
    Tensor out = Tensor::zeros(src_shape, grad.dtype(), grad.device());
    corner(out, grad.shape()).copy_(grad);
    return out;
}

// ---- unchecked forwards (no recording): shared by the ops and their backwards ----

Tensor gather_forward(const Tensor& x, int dim, const TensorView& index, const Shape& out_shape) {
    Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
    if (out.numel() == 0) return out;
    TensorView o = kview(out);
    find_kernel<GatherKernel>("gather", x.device(), x.dtype())(o, kview(x), index, dim);
    return out;
}

// out[p with dim -> index[p]] (+)= src[p], in place on a tensor this file just made; src has index's shape.
void scatter_into(ScatterMode mode, const Tensor& out, int dim, const TensorView& index, const Tensor& src) {
    if (index.numel() == 0) return;
    find_kernel<ScatterKernel>("scatter", out.device(), out.dtype())(mode, kview(out), index, kview(src), dim);
}

// A copy of x with src scattered (assigned or added) through index.
Tensor scatter_forward(ScatterMode mode, const Tensor& x, int dim, const TensorView& index, const Tensor& src) {
    Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
    out.copy_(x);
    scatter_into(mode, out, dim, index, src);
    return out;
}

// zeros(shape) with grad added along dim through the broadcast 1-D index (index_add into zeros).
Tensor index_add_into_zeros(const Shape& shape, int dim, const Tensor& index, const Tensor& grad) {
    Tensor out = Tensor::zeros(shape, grad.dtype(), grad.device());
    scatter_into(ScatterMode::add, out, dim, broadcast_index(index, grad.shape(), dim), grad);
    return out;
}

// zeros(shape) with grad written to the positions `indices` (unique per slice) picked along dim.
Tensor scatter_into_zeros(const Shape& shape, int dim, const Tensor& indices, const Tensor& grad) {
    Tensor out = Tensor::zeros(shape, grad.dtype(), grad.device());
    scatter_into(ScatterMode::assign, out, dim, kview(indices), grad);
    return out;
}

}  // namespace

// ---------------------------------------------------------------- gather / scatter / scatter_add

Tensor gather(const Tensor& x, int dim, const Tensor& index) {
    WSDOL_CHECK(x.defined(), "gather: input is undefined");
    check_index_dtype("gather", "index", index);
    const int d = op_dim("gather", x, dim);
    check_index_shape("gather", x, d, index, nullptr);
    check_index_range("gather", "index", index, size_along(x, d),
                      str("for dim ", d, " of size ", size_along(x, d), " (input ", shape_str(x.shape()), ")"));
    Tensor out = gather_forward(x, d, kview(index), index.shape());
    record("gather", {x, index}, {out}, [x_shape = x.shape(), d, si = saved(index)](const TensorList& g) -> TensorList {
        // Repeated indices accumulate: a scatter_add of the gradient into zeros.
        Tensor gx = Tensor::zeros(x_shape, g[0].dtype(), g[0].device());
        scatter_into(ScatterMode::add, gx, d, kview(si), g[0]);
        return {gx, Tensor()};
    });
    return out;
}

namespace {

Tensor scatter_op(const char* op, ScatterMode mode, const Tensor& x, int dim, const Tensor& index, const Tensor& src) {
    WSDOL_CHECK(x.defined() && src.defined(), op, ": input or src is undefined");
    check_index_dtype(op, "index", index);
    const int d = op_dim(op, x, dim);
    check_index_shape(op, x, d, index, &src);
    check_index_range(op, "index", index, size_along(x, d),
                      str("for dim ", d, " of size ", size_along(x, d), " (input ", shape_str(x.shape()), ")"));
    Tensor out = scatter_forward(mode, x, d, kview(index), corner(src, index.shape()));
    const bool x_needs = x.requires_grad(), src_needs = src.requires_grad();
    record(op, {x, index, src}, {out},
           [mode, d, si = saved(index), src_shape = src.shape(), x_needs, src_needs](const TensorList& g) -> TensorList {
               Tensor gx;
               if (x_needs && mode == ScatterMode::add) gx = g[0];
               if (x_needs && mode == ScatterMode::assign) {  // overwritten positions do not reach the output
                   Tensor zeros = Tensor::zeros(si.shape(), g[0].dtype(), g[0].device());
                   gx = scatter_forward(ScatterMode::assign, g[0], d, kview(si), zeros);
               }
               Tensor gsrc;
               if (src_needs) gsrc = pad_to(gather_forward(g[0], d, kview(si), si.shape()), src_shape);
               return {gx, Tensor(), gsrc};
           });
    return out;
}

}  // namespace

Tensor scatter(const Tensor& x, int dim, const Tensor& index, const Tensor& src) {
    return scatter_op("scatter", ScatterMode::assign, x, dim, index, src);
}

Tensor scatter_add(const Tensor& x, int dim, const Tensor& index, const Tensor& src) {
    return scatter_op("scatter_add", ScatterMode::add, x, dim, index, src);
}

// ---------------------------------------------------------------- index_select / embedding

Tensor index_select(const Tensor& x, int dim, const Tensor& index) {
    WSDOL_CHECK(x.defined(), "index_select: input is undefined");
    WSDOL_CHECK(x.dim() >= 1, "index_select: input must have at least 1 dim, got a 0-dim tensor");
    check_index_dtype("index_select", "index", index);
    WSDOL_CHECK(index.dim() <= 1, "index_select: index must be 1-D, got ", shape_str(index.shape()));
    WSDOL_CHECK(index.device() == x.device(), "index_select: index on ", index.device().name(), ", input on ",
                x.device().name());
    const int d = op_dim("index_select", x, dim);
    check_index_range("index_select", "index", index, x.shape()[d],
                      str("for dim ", d, " of size ", x.shape()[d], " (input ", shape_str(x.shape()), ")"));
    Shape out_shape = x.shape();
    out_shape[d] = index.numel();
    Tensor out = gather_forward(x, d, broadcast_index(index, out_shape, d), out_shape);
    record("index_select", {x, index}, {out}, [x_shape = x.shape(), d, si = saved(index)](const TensorList& g) -> TensorList {
        return {index_add_into_zeros(x_shape, d, si, g[0]), Tensor()};
    });
    return out;
}

Tensor embedding(const Tensor& weight, const Tensor& ids) {
    WSDOL_CHECK(weight.defined(), "embedding: weight is undefined");
    WSDOL_CHECK(weight.dim() == 2, "embedding: weight must be (num_embeddings, dim), got ", shape_str(weight.shape()));
    check_index_dtype("embedding", "ids", ids);
    WSDOL_CHECK(ids.device() == weight.device(), "embedding: ids on ", ids.device().name(), ", weight on ",
                weight.device().name());
    const int64_t V = weight.shape()[0], D = weight.shape()[1];
    check_index_range("embedding", "id", ids, V,
                      str("for weight ", shape_str(weight.shape()), " with ", V, " embeddings (dim 0 of size ", V, ")"));
    Tensor flat_ids = ids.reshape({ids.numel()});  // (N)
    const Shape rows_shape{ids.numel(), D};
    Tensor rows = gather_forward(weight, 0, broadcast_index(flat_ids, rows_shape, 0), rows_shape);  // (N, D)
    Shape out_shape = ids.shape();
    out_shape.push_back(D);
    Tensor out = rows.view(out_shape);
    record("embedding", {weight, ids}, {out}, [w_shape = weight.shape(), fi = saved(flat_ids)](const TensorList& g) -> TensorList {
        // (V, D) zeros += rows of the gradient, repeated ids in flat order.
        Tensor g_rows = g[0].reshape({fi.numel(), w_shape[1]});
        return {index_add_into_zeros(w_shape, 0, fi, g_rows), Tensor()};
    });
    return out;
}

// ---------------------------------------------------------------- masked_fill

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
    WSDOL_CHECK(x.defined() && mask.defined(), "masked_fill: input or mask is undefined");
    WSDOL_CHECK(mask.dtype() == DType::boolean, "masked_fill: mask must be bool, got ", dtype_name(mask.dtype()), " ",
                shape_str(mask.shape()));
    WSDOL_CHECK(mask.device() == x.device(), "masked_fill: mask on ", mask.device().name(), ", input on ",
                x.device().name());
    // Out-of-place masked_fill broadcasts input and mask together (PyTorch's expand_outplace).
    const Shape shape = broadcast_shapes("masked_fill", x.shape(), mask.shape());
    Tensor out = Tensor::empty(shape, x.dtype(), x.device());
    if (out.numel())
        find_kernel<MaskedFillKernel>("masked_fill", x.device(), x.dtype())(
            kview(out), promote(broadcast_view(x, shape)), promote(broadcast_view(mask, shape)), value);
    record("masked_fill", {x, mask}, {out}, [x_shape = x.shape(), sm = saved(mask)](const TensorList& g) -> TensorList {
        return {sum_to(masked_fill(g[0], sm, 0.0), x_shape), Tensor()};
    });
    return out;
}

// ---------------------------------------------------------------- sort / topk

namespace {

// values/indices = the first k entries of each slice's order along dim. No recording.
void sort_forward(const Tensor& x, int d, int64_t k, bool descending, Tensor& values, Tensor& indices) {
    Shape shape = x.shape();
    if (x.dim() > 0) shape[d] = k;
    else if (k == 0) shape = {0};  // topk(0-dim, 0)
    values = Tensor::empty(shape, x.dtype(), x.device());
    indices = Tensor::empty(shape, DType::i64, x.device());
    if (values.numel() == 0) return;
    find_kernel<SortKernel>("sort", x.device(), x.dtype())(kview(values), kview(indices), kview(x), d, descending);
}

Tensor record_permutation(const char* op, const Tensor& x, int d, const Tensor& values, const Tensor& indices) {
    record(op, {x}, {values}, [x_shape = x.shape(), d, si = saved(indices)](const TensorList& g) -> TensorList {
        // Each source position appears at most once in a slice of indices: a plain scatter into zeros.
        return {scatter_into_zeros(x_shape, d, si, g[0])};
    });
    return values;
}

}  // namespace

Tensor sort(const Tensor& x, int dim, bool descending, Tensor* indices) {
    WSDOL_CHECK(x.defined(), "sort: input is undefined");
    const int d = op_dim("sort", x, dim);
    Tensor values, idx;
    sort_forward(x, d, size_along(x, d), descending, values, idx);
    if (indices) *indices = idx;
    return record_permutation("sort", x, d, values, idx);
}

Tensor topk(const Tensor& x, int64_t k, int dim, bool largest, Tensor* indices) {
    WSDOL_CHECK(x.defined(), "topk: input is undefined");
    const int d = op_dim("topk", x, dim);
    const int64_t n = size_along(x, d);
    WSDOL_CHECK(k >= 0 && k <= n, "topk: k ", k, " out of range for dim ", d, " of size ", n, " (input ",
                shape_str(x.shape()), ")");
    Tensor values, idx;
    sort_forward(x, d, k, largest, values, idx);
    if (indices) *indices = idx;
    return record_permutation("topk", x, d, values, idx);
}

// ---------------------------------------------------------------- one_hot

Tensor one_hot(const Tensor& labels, int64_t num_classes) {
    WSDOL_CHECK(labels.defined(), "one_hot: labels are undefined");
    WSDOL_CHECK(labels.dtype() == DType::i64, "one_hot: labels must be int64, got ", dtype_name(labels.dtype()));
    WSDOL_CHECK(num_classes >= -1, "one_hot: num_classes must be -1 (infer) or non-negative, got ", num_classes);
    if (num_classes == -1) {
        WSDOL_CHECK(labels.numel() > 0, "one_hot: cannot infer num_classes from an empty tensor ",
                    shape_str(labels.shape()));
        const std::vector<bool> all(labels.dim(), true);
        num_classes = static_cast<int64_t>(
            reduce_forward(ReduceOp::max, labels, all, Shape(labels.dim(), 1), DType::i64).item()) + 1;
    }
    check_index_range("one_hot", "class value", labels, num_classes, str("for num_classes ", num_classes));
    Shape shape = labels.shape();
    shape.push_back(num_classes);
    Tensor out = Tensor::zeros(shape, DType::i64, labels.device());
    if (labels.numel() == 0 || num_classes == 0) return out;
    // out[..., labels[...]] = 1: a scatter along the new last dim.
    Shape index_shape = labels.shape();
    index_shape.push_back(1);
    const Tensor index = labels.reshape(index_shape);
    const Tensor ones = Tensor::ones(index_shape, DType::i64, labels.device());
    scatter_into(ScatterMode::assign, out, static_cast<int>(shape.size()) - 1, kview(index), ones);
    return out;
}

}  // namespace wsdol
