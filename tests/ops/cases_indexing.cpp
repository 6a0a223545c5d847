// cases_indexing.cpp — op cases for gather, scatter, scatter_add, index_select, masked_fill, sort, topk,
// embedding and one_hot (indexing.cpp). References are plain loops over host values.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "tests/ops/harness.h"

namespace wsdol::test {
namespace {

using Index = std::vector<int64_t>;

Tensor i64(const std::vector<double>& v, const Shape& shape) { return Tensor::from_vector(v, shape, DType::i64); }

// out[p] = x[p with dim -> index[p]]
Tensor gather_ref(const Tensor& x, int dim, const Tensor& index) {
    Host hx(x), hi(index), out(index.shape());
    for_each_index(index.shape(), [&](const Index& p) {
        Index q = p;
        q[dim] = static_cast<int64_t>(hi.at(p));
        out.at(p) = hx.at(q);
    });
    return out.tensor(x.dtype());
}

// A copy of x with src written (or added) at p with dim -> index[p], positions visited in row-major order.
Tensor scatter_ref(const Tensor& x, int dim, const Tensor& index, const Tensor& src, bool add) {
    Host out(x), hi(index), hs(src);
    for_each_index(index.shape(), [&](const Index& p) {
        Index q = p;
        q[dim] = static_cast<int64_t>(hi.at(p));
        out.at(q) = add ? out.at(q) + hs.at(p) : hs.at(p);
    });
    return out.tensor(x.dtype());
}

// An index of `shape` whose slices along dim hold distinct values from [0, n) (shuffled): no repeated targets.
Tensor distinct_index(const Shape& shape, int dim, int64_t n, uint64_t seed) {
    Host h(shape);
    Generator g(seed);
    Shape walk = shape;
    walk[dim] = 1;
    for_each_index(walk, [&](const Index& p) {
        Index perm(n);
        std::iota(perm.begin(), perm.end(), 0);
        for (int64_t i = n - 1; i > 0; --i) std::swap(perm[i], perm[g.randint(0, i + 1)]);
        for (int64_t j = 0; j < shape[dim]; ++j) {
            Index q = p;
            q[dim] = j;
            h.at(q) = static_cast<double>(perm[j]);
        }
    });
    return h.tensor(DType::i64);
}

// Sort order of PyTorch: NaN above every number; ties keep their source order (stable).
bool nan_last_less(double a, double b) { return a < b || (!std::isnan(a) && std::isnan(b)); }

// The first k of each slice's stable order along dim: {values, indices}.
TensorList sort_ref(const Tensor& x, int dim, int64_t k, bool descending) {
    Host hx(x);
    Shape out_shape = x.shape();
    out_shape[dim] = k;
    Host values(out_shape), indices(out_shape);
    Shape walk = x.shape();
    walk[dim] = 1;
    const int64_t n = x.shape()[dim];
    for_each_index(walk, [&](const Index& p) {
        std::vector<std::pair<double, int64_t>> row;
        for (int64_t j = 0; j < n; ++j) {
            Index q = p;
            q[dim] = j;
            row.push_back({hx.at(q), j});
        }
        std::stable_sort(row.begin(), row.end(), [&](const auto& a, const auto& b) {
            return descending ? nan_last_less(b.first, a.first) : nan_last_less(a.first, b.first);
        });
        for (int64_t j = 0; j < k; ++j) {
            Index q = p;
            q[dim] = j;
            values.at(q) = row[j].first;
            indices.at(q) = static_cast<double>(row[j].second);
        }
    });
    return {values.tensor(x.dtype()), indices.tensor(DType::i64)};
}

OpCase gather_case(const std::string& label, Tensor x, int dim, Tensor index) {
    const int d = dim < 0 ? dim + x.dim() : dim;
    return make_case("gather", label, {x, index},
            [dim](const TensorList& in) -> TensorList { return {gather(in[0], dim, in[1])}; },
            [d](const TensorList& in) -> TensorList { return {gather_ref(in[0], d, in[1])}; });
}

OpCase scatter_case(const std::string& op, const std::string& label, Tensor x, int dim, Tensor index, Tensor src) {
    const bool add = op == "scatter_add";
    const int d = dim < 0 ? dim + x.dim() : dim;
    return make_case(op, label, {x, index, src},
            [dim, add](const TensorList& in) -> TensorList {
                return {add ? scatter_add(in[0], dim, in[1], in[2]) : scatter(in[0], dim, in[1], in[2])};
            },
            [d, add](const TensorList& in) -> TensorList { return {scatter_ref(in[0], d, in[1], in[2], add)}; });
}

OpCase sort_case(const std::string& label, Tensor x, int dim, bool descending) {
    const int d = dim < 0 ? dim + x.dim() : dim;
    return make_case("sort", label, {x},
            [dim, descending](const TensorList& in) -> TensorList {
                Tensor idx;
                Tensor v = sort(in[0], dim, descending, &idx);
                return {v, idx};
            },
            [d, descending](const TensorList& in) -> TensorList {
                return sort_ref(in[0], d, in[0].shape()[d], descending);
            });
}

OpCase topk_case(const std::string& label, Tensor x, int64_t k, int dim, bool largest) {
    const int d = dim < 0 ? dim + x.dim() : dim;
    return make_case("topk", label, {x},
            [k, dim, largest](const TensorList& in) -> TensorList {
                Tensor idx;
                Tensor v = topk(in[0], k, dim, largest, &idx);
                return {v, idx};
            },
            [k, d, largest](const TensorList& in) -> TensorList { return sort_ref(in[0], d, k, largest); });
}

// out[i..., :] = weight[ids[i...], :]
Tensor embedding_ref(const Tensor& weight, const Tensor& ids) {
    Host hw(weight), hi(ids);
    const int64_t D = weight.shape()[1];
    Shape shape = ids.shape();
    shape.push_back(D);
    Host out(shape);
    for_each_index(shape, [&](const Index& p) {
        const Index id_pos(p.begin(), p.end() - 1);
        out.at(p) = hw.at({static_cast<int64_t>(hi.at(id_pos)), p.back()});
    });
    return out.tensor(weight.dtype());
}

}  // namespace

WSDOL_OP_CASES(indexing) {
    std::vector<OpCase> cases;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();

    // ---- gather: repeated indices in the index (their gradients accumulate)
    cases.push_back(gather_case("dim 1, index smaller in dims 0/2, repeats", rand_input({3, 4, 5}, 501), 1,
                                index_input({3, 6, 2}, 4, 502)));
    cases.push_back(gather_case("dim -1 (last)", rand_input({4, 7}, 503), -1, index_input({4, 9}, 7, 504)));
    cases.push_back(gather_case("dim 0", rand_input({5, 3}, 505), 0, index_input({8, 3}, 5, 506)));
    cases.push_back(gather_case("empty index [0,3]", rand_input({5, 3}, 507), 1, index_input({0, 3}, 3, 508)));
    cases.push_back(gather_case("size-1 dims", rand_input({1, 4, 1}, 509), 1, index_input({1, 3, 1}, 4, 510)));

    // ---- scatter: distinct targets per slice for the gradient check (a losing write has no gradient, while
    // PyTorch's formula gathers to every writer); src larger than index
    cases.push_back(scatter_case("scatter", "dim 1, distinct targets, src larger", rand_input({3, 5, 4}, 511), 1,
                                 distinct_index({3, 3, 2}, 1, 5, 512), rand_input({4, 4, 3}, 513)));
    cases.push_back(scatter_case("scatter", "dim -1 (last), distinct targets", rand_input({4, 6}, 514), -1,
                                 distinct_index({4, 4}, 1, 6, 515), rand_input({4, 4}, 516)));
    cases.push_back(scatter_case("scatter", "dim 0, distinct targets", rand_input({5, 300}, 517), 0,
                                 distinct_index({3, 300}, 0, 5, 518), rand_input({3, 300}, 519)));
    {
        OpCase c = scatter_case("scatter", "repeated targets: last along dim wins",
                                rand_input({2, 4}, 520), 1, i64({1, 1, 3, 1, 0, 0, 0, 2}, {2, 4}),
                                rand_input({2, 4}, 521));
        c.check_grad = false;  // repeated targets: PyTorch's gradient formula is not the function's derivative
        cases.push_back(c);
    }
    {
        OpCase c = scatter_case("scatter", "i64 values", i64({1, 2, 3, 4, 5, 6}, {2, 3}), 1,
                                i64({2, 0, 1, 1}, {2, 2}), i64({7, 8, 9, 10}, {2, 2}));
        c.check_grad = false;
        cases.push_back(c);
    }

    // ---- scatter_add: repeated targets accumulate; both kernel paths (dim last / dim not last, > 256 slices)
    cases.push_back(scatter_case("scatter_add", "dim 1, repeats, src larger", rand_input({3, 4, 5}, 522), 1,
                                 index_input({3, 7, 5}, 4, 523), rand_input({3, 8, 6}, 524)));
    cases.push_back(scatter_case("scatter_add", "dim -1 (last), repeats", rand_input({4, 3}, 525), -1,
                                 index_input({4, 9}, 3, 526), rand_input({4, 9}, 527)));
    cases.push_back(scatter_case("scatter_add", "dim 0, 600 slices", rand_input({4, 600}, 528), 0,
                                 index_input({5, 600}, 4, 529), rand_input({5, 600}, 530)));
    cases.push_back(scatter_case("scatter_add", "empty index", rand_input({4, 3}, 531), 0, index_input({0, 3}, 4, 532),
                                 rand_input({2, 3}, 533)));
    {
        OpCase c = scatter_case("scatter_add", "i64 values, repeats", i64({0, 0, 0, 0}, {1, 4}), 1,
                                i64({3, 3, 0, 3, 1}, {1, 5}), i64({1, 2, 3, 4, 5}, {1, 5}));
        c.check_grad = false;
        cases.push_back(c);
    }

    // ---- index_select: repeats accumulate in the backward (index_add)
    auto index_select_case = [&](const std::string& label, Tensor x, int dim, Tensor index) {
        const int d = dim < 0 ? dim + x.dim() : dim;
        cases.push_back(make_case("index_select", label, {x, index},
                         [dim](const TensorList& in) -> TensorList { return {index_select(in[0], dim, in[1])}; },
                         [d](const TensorList& in) -> TensorList {
                             Host hx(in[0]), hi(in[1]);
                             Shape shape = in[0].shape();
                             shape[d] = in[1].numel();
                             Host out(shape);
                             for_each_index(shape, [&](const Index& p) {
                                 Index q = p;
                                 q[d] = static_cast<int64_t>(hi.v[p[d]]);
                                 out.at(p) = hx.at(q);
                             });
                             return {out.tensor(in[0].dtype())};
                         }));
    };
    index_select_case("dim 1, repeats", rand_input({4, 3, 5}, 540), 1, i64({2, 0, 2, 1, 2}, {5}));
    index_select_case("dim 0 rows", rand_input({6, 4}, 541), 0, i64({5, 0, 5}, {3}));
    index_select_case("dim -1 (last)", rand_input({3, 6}, 542), -1, i64({1, 1, 4, 0}, {4}));
    index_select_case("empty index", rand_input({3, 6}, 543), 0, i64({}, {0}));
    index_select_case("0-dim index", rand_input({3, 6}, 544), 1, i64({4}, {}));

    // ---- masked_fill: broadcast of input and mask; gradient zero where masked, summed back to x's shape
    auto masked_fill_case = [&](const std::string& label, Tensor x, Tensor mask, double value) -> OpCase& {
        cases.push_back(make_case("masked_fill", label, {x, mask},
                         [value](const TensorList& in) -> TensorList { return {masked_fill(in[0], in[1], value)}; },
                         [value](const TensorList& in) -> TensorList {
                             Host hx(in[0]), hm(in[1]);
                             const Shape shape = broadcast_shapes("ref", in[0].shape(), in[1].shape());
                             Host out(shape);
                             for_each_index(shape, [&](const Index& p) {
                                 out.at(p) = broadcast_at(hm, p) != 0 ? value : broadcast_at(hx, p);
                             });
                             return {out.tensor(in[0].dtype())};
                         }));
        return cases.back();
    };
    auto bool_mask = [](const Shape& s, uint64_t seed) { return index_input(s, 2, seed).to(DType::boolean); };
    masked_fill_case("mask [3,1] broadcast into x [2,3,4]", rand_input({2, 3, 4}, 550), bool_mask({3, 1}, 551), 2.5);
    masked_fill_case("x [3,1] broadcast by mask [2,3,4]", rand_input({3, 1}, 552), bool_mask({2, 3, 4}, 553), -1.0);
    masked_fill_case("same shape [5]", rand_input({5}, 554), bool_mask({5}, 555), 0.0);
    masked_fill_case("empty", rand_input({0, 3}, 556), bool_mask({3}, 557), 1.0);
    masked_fill_case("-inf fill (attention masks)", rand_input({2, 4}, 558), bool_mask({2, 4}, 559), -inf).check_grad =
        false;  // the loss is -inf: finite differences are meaningless
    masked_fill_case("i64 input", i64({1, 2, 3, 4}, {2, 2}), bool_mask({2}, 560), 9.0).check_grad = false;

    // ---- sort: gradient-checked on distinct values (a tie would swap places under a finite-difference step)
    cases.push_back(sort_case("ascending, dim -1", rand_input({3, 6}, 570), -1, false));
    cases.push_back(sort_case("descending, dim 0", rand_input({5, 3, 2}, 571), 0, true));
    cases.push_back(sort_case("descending, middle dim", rand_input({2, 4, 3}, 572), 1, true));
    cases.push_back(sort_case("empty slice dim", rand_input({2, 0}, 573), 1, false));
    {
        const Tensor ties = Tensor::from_vector({3, nan, 1, 3, -inf, nan, 0, 1, -0.0, 0.0, inf, 3}, {2, 6}, DType::f64);
        OpCase asc = sort_case("NaN largest, stable ties, ascending", ties, -1, false);
        OpCase desc = sort_case("NaN largest, stable ties, descending", ties, -1, true);
        asc.check_grad = desc.check_grad = false;  // ties and NaN: no finite-difference gradient
        cases.push_back(asc);
        cases.push_back(desc);
        OpCase ints = sort_case("i64 with ties", i64({5, 1, 5, 0, 1, 9}, {6}), 0, true);
        ints.check_grad = false;
        cases.push_back(ints);
    }

    // ---- topk
    cases.push_back(topk_case("k=3 largest, dim -1", rand_input({4, 6}, 580), 3, -1, true));
    cases.push_back(topk_case("k=2 smallest, dim 0", rand_input({5, 3}, 581), 2, 0, false));
    cases.push_back(topk_case("k = size", rand_input({2, 4}, 582), 4, 1, true));
    cases.push_back(topk_case("k=0", rand_input({2, 4}, 583), 0, 1, true));
    {
        OpCase c = topk_case("NaN largest, ties by index", Tensor::from_vector({2, nan, 7, 7, nan, -1}, {6}, DType::f64),
                             4, 0, true);
        c.check_grad = false;
        cases.push_back(c);
    }

    // ---- embedding: repeated ids accumulate into their row
    auto embedding_case = [&](const std::string& label, Tensor weight, Tensor ids) {
        cases.push_back(make_case("embedding", label, {weight, ids},
                         [](const TensorList& in) -> TensorList { return {embedding(in[0], in[1])}; },
                         [](const TensorList& in) -> TensorList { return {embedding_ref(in[0], in[1])}; }));
    };
    embedding_case("ids [2,3] with repeats", rand_input({7, 4}, 590), i64({1, 6, 1, 0, 1, 6}, {2, 3}));
    embedding_case("ids [5] over [300, 3]", rand_input({300, 3}, 591), i64({299, 0, 150, 0, 7}, {5}));
    embedding_case("0-dim id", rand_input({4, 5}, 592), i64({2}, {}));
    embedding_case("no ids", rand_input({4, 5}, 593), i64({}, {2, 0}));

    // ---- one_hot (not differentiable)
    auto one_hot_case = [&](const std::string& label, Tensor labels, int64_t num_classes) {
        OpCase c = make_case("one_hot", label, {labels},
                 [num_classes](const TensorList& in) -> TensorList { return {one_hot(in[0], num_classes)}; },
                 [num_classes](const TensorList& in) -> TensorList {
                     Host hl(in[0]);
                     int64_t C = num_classes;
                     if (C < 0) C = static_cast<int64_t>(*std::max_element(hl.v.begin(), hl.v.end())) + 1;
                     Shape shape = in[0].shape();
                     shape.push_back(C);
                     Host out(shape);
                     for_each_index(shape, [&](const Index& p) {
                         const Index lp(p.begin(), p.end() - 1);
                         out.at(p) = static_cast<int64_t>(hl.at(lp)) == p.back() ? 1 : 0;
                     });
                     return {out.tensor(DType::i64)};
                 });
        c.check_grad = false;
        cases.push_back(c);
    };
    one_hot_case("[2,3] into 5 classes", index_input({2, 3}, 5, 600), 5);
    one_hot_case("num_classes -1 infers max+1", i64({0, 3, 1}, {3}), -1);
    one_hot_case("0-dim label", i64({2}, {}), 4);
    one_hot_case("empty labels", i64({}, {0}), 3);
    return cases;
}

}  // namespace wsdol::test
