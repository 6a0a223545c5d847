// join_split.cpp — cat and stack (one node each: forward copies every member into its part of the output through
// the "copy" kernel, backward hands each member its part of the gradient), and split/chunk, which are only
// views: each piece is a narrow (a "slice" node), so they need no node of their own.
#include <algorithm>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"

namespace wsdol {

WSDOL_OP(cat, "join_split", true);
WSDOL_OP(stack, "join_split", true);

namespace {

// PyTorch's legacy cat rule: a 1-D tensor of shape [0] may join any list and is skipped.
bool legacy_empty(const Tensor& t) { return t.dim() == 1 && t.shape()[0] == 0; }

void check_members(const char* op, const std::vector<Tensor>& xs) {
    WSDOL_CHECK(!xs.empty(), op, ": expected a non-empty list of tensors");
    for (size_t i = 0; i < xs.size(); ++i) {
        WSDOL_CHECK(xs[i].defined(), op, ": tensor ", i, " is undefined");
        WSDOL_CHECK(xs[i].dtype() == xs[0].dtype(), op, ": tensor ", i, " has dtype ", dtype_name(xs[i].dtype()),
                    " but tensor 0 has dtype ", dtype_name(xs[0].dtype()), "; cast them to one dtype first");
        WSDOL_CHECK(xs[i].device() == xs[0].device(), op, ": tensor ", i, " is on ", xs[i].device().name(),
                    " but tensor 0 is on ", xs[0].device().name());
    }
}

}  // namespace

// xs[i]: (..., n_i, ...) with equal sizes outside dim -> (..., sum n_i, ...). Members with n_i = 0 are fine.
Tensor cat(const std::vector<Tensor>& xs, int dim) {
    check_members("cat", xs);
    for (size_t i = 0; i < xs.size(); ++i)
        WSDOL_CHECK(xs[i].dim() > 0, "cat: tensor ", i, " is 0-dim and cannot be concatenated; unsqueeze it first");
    // The first member that is not a legacy [0] sets the rank and the other sizes (all legacy: a [0] result).
    const auto ref_it = std::find_if(xs.begin(), xs.end(), [](const Tensor& t) { return !legacy_empty(t); });
    const size_t ref_index = ref_it == xs.end() ? 0 : static_cast<size_t>(ref_it - xs.begin());
    const Tensor& ref = xs[ref_index];
    const int d = ref.normalize_dim(dim);
    Shape out_shape = ref.shape();
    out_shape[d] = 0;
    std::vector<int64_t> starts(xs.size(), 0);
    for (size_t i = 0; i < xs.size(); ++i) {
        if (legacy_empty(xs[i]) && i != ref_index) continue;
        bool match = xs[i].dim() == ref.dim();
        for (int k = 0; match && k < ref.dim(); ++k) match = k == d || xs[i].shape()[k] == ref.shape()[k];
        WSDOL_CHECK(match, "cat: tensor ", i, " has shape ", shape_str(xs[i].shape()), " but tensor ", ref_index,
                    " has shape ", shape_str(ref.shape()), "; sizes must match except in dim ", d);
        starts[i] = out_shape[d];
        out_shape[d] += xs[i].shape()[d];
    }
    Tensor out = Tensor::empty(out_shape, ref.dtype(), ref.device());
    for (size_t i = 0; i < xs.size(); ++i) {
        if (legacy_empty(xs[i]) || xs[i].numel() == 0) continue;
        NoGradGuard no_grad;  // the narrow is only a destination; the cat node below records the whole op
        out.narrow(d, starts[i], xs[i].shape()[d]).copy_(xs[i]);
    }
    std::vector<Shape> shapes;
    for (const Tensor& x : xs) shapes.push_back(x.shape());
    record("cat", xs, {out}, [d, starts, shapes](const TensorList& g) -> TensorList {
        TensorList grads;
        for (size_t i = 0; i < shapes.size(); ++i) {
            const bool skipped = shapes[i].size() == 1 && shapes[i][0] == 0;
            grads.push_back(skipped ? Tensor::zeros(shapes[i], g[0].dtype(), g[0].device())
                                    : g[0].narrow(d, starts[i], shapes[i][d]));
        }
        return grads;
    });
    return out;
}

// xs[i]: all the same shape S -> S with a new dim of size xs.size() at position dim (in [-(r+1), r]).
Tensor stack(const std::vector<Tensor>& xs, int dim) {
    check_members("stack", xs);
    const Shape& shape = xs[0].shape();
    for (size_t i = 1; i < xs.size(); ++i)
        WSDOL_CHECK(xs[i].shape() == shape, "stack: tensor ", i, " has shape ", shape_str(xs[i].shape()),
                    " but tensor 0 has shape ", shape_str(shape), "; all shapes must be equal");
    const int rank = static_cast<int>(shape.size()) + 1;
    WSDOL_CHECK(dim >= -rank && dim < rank, "stack: dim ", dim, " out of range for stacking tensors of shape ",
                shape_str(shape), " (valid [", -rank, ", ", rank - 1, "])");
    const int d = dim < 0 ? dim + rank : dim;
    Shape out_shape = shape;
    out_shape.insert(out_shape.begin() + d, static_cast<int64_t>(xs.size()));
    Tensor out = Tensor::empty(out_shape, xs[0].dtype(), xs[0].device());
    if (out.numel() > 0) {
        NoGradGuard no_grad;
        for (size_t i = 0; i < xs.size(); ++i) out.select(d, static_cast<int64_t>(i)).copy_(xs[i]);
    }
    record("stack", xs, {out}, [d, n = xs.size()](const TensorList& g) -> TensorList {
        TensorList grads;
        for (size_t i = 0; i < n; ++i) grads.push_back(g[0].select(d, static_cast<int64_t>(i)));
        return grads;
    });
    return out;
}

// ---- split / chunk: narrow views (each piece records a "slice" node) ----

namespace {
int split_dim(const char* op, const Tensor& x, int dim) {
    WSDOL_CHECK(x.defined(), op, ": input is undefined");
    WSDOL_CHECK(x.dim() > 0, op, ": expects a tensor with at least 1 dim, got a 0-dim tensor");
    return x.normalize_dim(dim);
}
}  // namespace

// Pieces of split_size along dim, the last one smaller when the size does not divide (torch.split). A dim of
// size 0 gives one empty piece; split_size 0 is allowed only then.
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int dim) {
    const int d = split_dim("split", x, dim);
    const int64_t n = x.shape()[d];
    WSDOL_CHECK(split_size > 0 || (split_size == 0 && n == 0), "split: split_size must be positive (0 only for ",
                "a dim of size 0), got ", split_size, " for dim ", d, " of shape ", shape_str(x.shape()));
    const int64_t pieces = split_size == 0 ? 1 : std::max<int64_t>((n + split_size - 1) / split_size, 1);
    std::vector<Tensor> out;
    for (int64_t i = 0; i < pieces; ++i) {
        const int64_t start = i * split_size;
        out.push_back(x.narrow(d, start, std::min(split_size, n - start)));
    }
    return out;
}

// Pieces with the given sizes along dim (torch.split with a list); the sizes must add up to x.size(dim).
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int dim) {
    const int d = split_dim("split", x, dim);
    int64_t total = 0;
    for (int64_t s : sizes) {
        WSDOL_CHECK(s >= 0, "split: sizes must be non-negative, got ", s, " in the list for dim ", d, " of shape ",
                    shape_str(x.shape()));
        total += s;
    }
    WSDOL_CHECK(total == x.shape()[d], "split: sizes add up to ", total, " but dim ", d, " of shape ",
                shape_str(x.shape()), " has size ", x.shape()[d]);
    std::vector<Tensor> out;
    int64_t start = 0;
    for (int64_t s : sizes) {
        out.push_back(x.narrow(d, start, s));
        start += s;
    }
    return out;
}

// torch.chunk: split with split_size = ceil(n / chunks), so it may return fewer than `chunks` pieces
// (size 6 in 4 chunks gives 2, 2, 2); a dim of size 0 gives `chunks` empty pieces.
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int dim) {
    const int d = split_dim("chunk", x, dim);
    WSDOL_CHECK(chunks > 0, "chunk: chunks must be positive, got ", chunks);
    const int64_t n = x.shape()[d];
    if (n == 0) return split(x, std::vector<int64_t>(chunks, 0), d);
    return split(x, (n + chunks - 1) / chunks, d);
}

}  // namespace wsdol
