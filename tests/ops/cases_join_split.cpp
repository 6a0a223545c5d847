// cases_join_split.cpp — op cases for cat and stack (join_split.cpp), and split/chunk, which are views made of
// narrows: their cases are filed under op "slice" and labelled split/chunk.
#include "tests/ops/harness.h"

namespace wsdol::test {
namespace {

using Index = std::vector<int64_t>;

// Concatenation along dim of host arrays (members of shape [0] are skipped, PyTorch's legacy rule).
Tensor cat_ref(const TensorList& xs, int dim) {
    std::vector<Host> hs;
    Shape shape;
    for (const Tensor& x : xs) {
        if (x.dim() == 1 && x.shape()[0] == 0) continue;
        hs.emplace_back(x);
        if (shape.empty()) {
            shape = x.shape();
            shape[dim] = 0;
        }
        shape[dim] += x.shape()[dim];
    }
    Host out(shape);
    for_each_index(shape, [&](const Index& p) {
        Index q = p;
        for (const Host& h : hs) {
            if (q[dim] < h.shape[dim]) {
                out.at(p) = h.at(q);
                return;
            }
            q[dim] -= h.shape[dim];
        }
    });
    return out.tensor(xs[0].dtype());
}

// The pieces of x along dim with the given sizes, copied out by loops.
TensorList pieces_ref(const Tensor& x, int dim, const std::vector<int64_t>& sizes) {
    Host hx(x);
    TensorList out;
    int64_t start = 0;
    for (int64_t s : sizes) {
        Shape shape = x.shape();
        shape[dim] = s;
        Host piece(shape);
        for_each_index(shape, [&](const Index& p) {
            Index q = p;
            q[dim] += start;
            piece.at(p) = hx.at(q);
        });
        out.push_back(piece.tensor(x.dtype()));
        start += s;
    }
    return out;
}

}  // namespace

WSDOL_OP_CASES(join_split) {
    std::vector<OpCase> cases;

    auto cat_case = [&](const std::string& label, TensorList xs, int dim) {
        const int rank = xs.back().dim();
        const int d = dim < 0 ? dim + rank : dim;
        cases.push_back(make_case("cat", label, xs, [dim](const TensorList& in) -> TensorList { return {cat(in, dim)}; },
                         [d](const TensorList& in) -> TensorList { return {cat_ref(in, d)}; }));
    };
    cat_case("dim 1, mixed sizes with an empty member",
             {rand_input({2, 3}, 700), rand_input({2, 0}, 701), rand_input({2, 4}, 702)}, 1);
    cat_case("dim 0 of 3-D", {rand_input({1, 2, 3}, 703), rand_input({3, 2, 3}, 704)}, 0);
    cat_case("dim -1, three members", {rand_input({2, 2, 1}, 705), rand_input({2, 2, 3}, 706), rand_input({2, 2, 2}, 707)}, -1);
    cat_case("legacy [0] member skipped", {rand_input({0}, 708), rand_input({2, 3}, 709), rand_input({1, 3}, 710)}, 0);
    cat_case("single member", {rand_input({3, 2}, 711)}, 1);
    {
        OpCase ints = make_case("cat", "i64 members", {index_input({2, 2}, 9, 712), index_input({1, 2}, 9, 713)},
                    [](const TensorList& in) -> TensorList { return {cat(in, 0)}; },
                    [](const TensorList& in) -> TensorList { return {cat_ref(in, 0)}; });
        ints.check_grad = false;
        cases.push_back(ints);
    }

    auto stack_case = [&](const std::string& label, TensorList xs, int dim) {
        const int rank = xs[0].dim() + 1;
        const int d = dim < 0 ? dim + rank : dim;
        cases.push_back(make_case("stack", label, xs, [dim](const TensorList& in) -> TensorList { return {stack(in, dim)}; },
                         [d](const TensorList& in) -> TensorList {
                             Shape shape = in[0].shape();
                             shape.insert(shape.begin() + d, static_cast<int64_t>(in.size()));
                             std::vector<Host> hs(in.begin(), in.end());
                             Host out(shape);
                             for_each_index(shape, [&](const Index& p) {
                                 Index q = p;
                                 q.erase(q.begin() + d);
                                 out.at(p) = hs[p[d]].at(q);
                             });
                             return {out.tensor(in[0].dtype())};
                         }));
    };
    stack_case("dim 0", {rand_input({2, 3}, 720), rand_input({2, 3}, 721), rand_input({2, 3}, 722)}, 0);
    stack_case("dim -1 (new last)", {rand_input({2, 3}, 723), rand_input({2, 3}, 724)}, -1);
    stack_case("middle dim", {rand_input({3, 2}, 725), rand_input({3, 2}, 726)}, 1);
    stack_case("empty members", {rand_input({0, 2}, 727), rand_input({0, 2}, 728)}, 1);
    stack_case("0-dim members", {rand_input({}, 729), rand_input({}, 730)}, 0);

    // split/chunk: views (narrow) — filed under "slice", whose node they record.
    auto split_case = [&](const std::string& label, Tensor x, int dim, std::function<TensorList(const Tensor&)> fn,
                          std::vector<int64_t> sizes) {
        const int d = dim < 0 ? dim + x.dim() : dim;
        cases.push_back(make_case("slice", label, {x}, [fn](const TensorList& in) -> TensorList { return fn(in[0]); },
                         [d, sizes](const TensorList& in) -> TensorList { return pieces_ref(in[0], d, sizes); }));
    };
    split_case("split by size 2 of 5 (last piece 1)", rand_input({3, 5}, 740), 1,
               [](const Tensor& x) { return split(x, int64_t{2}, 1); }, {2, 2, 1});
    split_case("split by size larger than the dim", rand_input({3, 2}, 741), 0,
               [](const Tensor& x) { return split(x, int64_t{5}, 0); }, {3});
    split_case("split by sizes {1, 0, 3}, dim -1", rand_input({2, 4}, 742), -1,
               [](const Tensor& x) { return split(x, std::vector<int64_t>{1, 0, 3}, -1); }, {1, 0, 3});
    split_case("split of an empty dim", rand_input({2, 0}, 743), 1,
               [](const Tensor& x) { return split(x, int64_t{3}, 1); }, {0});
    split_case("chunk 6 into 4 (gives 3 pieces of 2)", rand_input({6, 2}, 744), 0,
               [](const Tensor& x) { return chunk(x, 4, 0); }, {2, 2, 2});
    split_case("chunk 7 into 3 (3, 3, 1)", rand_input({2, 7}, 745), 1,
               [](const Tensor& x) { return chunk(x, 3, 1); }, {3, 3, 1});
    split_case("chunk of an empty dim (2 empty pieces)", rand_input({0, 3}, 746), 0,
               [](const Tensor& x) { return chunk(x, 2, 0); }, {0, 0});
    return cases;
}

}  // namespace wsdol::test
