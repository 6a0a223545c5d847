// cases_linalg.cpp — op cases for matmul, bmm and linear (linalg.cpp).
#include "tests/ops/harness.h"

namespace wsdol::test {
namespace {

// Plain triple loop: a (..., M, K) @ b (..., K, N) with broadcast batch dims (both at least 2-D).
Tensor matmul_ref(const Tensor& a, const Tensor& b) {
    Host ha(a), hb(b);
    const int na = a.dim(), nb = b.dim();
    const int64_t M = a.shape()[na - 2], K = a.shape()[na - 1], N = b.shape()[nb - 1];
    Shape batch = broadcast_shapes("ref", Shape(a.shape().begin(), a.shape().end() - 2), Shape(b.shape().begin(), b.shape().end() - 2));
    Shape out_shape = batch;
    out_shape.push_back(M);
    out_shape.push_back(N);
    Host out(out_shape);
    for_each_index(out_shape, [&](const std::vector<int64_t>& o) {
        double acc = 0;
        for (int64_t k = 0; k < K; ++k) {
            std::vector<int64_t> ia(o.begin(), o.end() - 2), ib(o.begin(), o.end() - 2);
            ia.push_back(o[o.size() - 2]); ia.push_back(k);
            ib.push_back(k); ib.push_back(o.back());
            acc += broadcast_at(ha, ia) * broadcast_at(hb, ib);
        }
        out.at(o) = acc;
    });
    return out.tensor();
}

}  // namespace

WSDOL_OP_CASES(linalg) {
    std::vector<OpCase> cases;
    auto mm = [](const TensorList& in) -> TensorList { return {matmul(in[0], in[1])}; };
    auto mm_ref = [](const TensorList& in) -> TensorList { return {matmul_ref(in[0], in[1])}; };
    cases.push_back(make_case("matmul", "2-D [5,7]@[7,3]", {rand_input({5, 7}, 60), rand_input({7, 3}, 61)}, mm, mm_ref));
    cases.push_back(make_case("matmul", "batch broadcast [2,1,4,3]@[3,3,2]", {rand_input({2, 1, 4, 3}, 62), rand_input({3, 3, 2}, 63)}, mm, mm_ref));
    cases.push_back(make_case("matmul", "batched [3,4,5]@[5,2] (folded rows)", {rand_input({3, 4, 5}, 64), rand_input({5, 2}, 65)}, mm, mm_ref));
    cases.push_back(make_case("matmul", "transposed operand", {rand_input({6, 4}, 66), rand_input({3, 4}, 67)},
                     [](const TensorList& in) -> TensorList { return {matmul(in[0], in[1].t())}; },
                     [](const TensorList& in) -> TensorList { return {matmul_ref(in[0], in[1].t().contiguous())}; }));
    cases.push_back(make_case("matmul", "vector @ matrix and matrix @ vector", {rand_input({4}, 68), rand_input({4, 3}, 69)},
                     [](const TensorList& in) -> TensorList { return {matmul(in[0], in[1]), matmul(in[1].t(), in[0])}; },
                     [](const TensorList& in) -> TensorList {
                         return {matmul_ref(in[0].unsqueeze(0), in[1]).squeeze(0),
                                 matmul_ref(in[1].t().contiguous(), in[0].unsqueeze(1)).squeeze(1)};
                     }));
    cases.push_back(make_case("matmul", "bmm [2,3,4]@[2,4,5]", {rand_input({2, 3, 4}, 70), rand_input({2, 4, 5}, 71)},
                     [](const TensorList& in) -> TensorList { return {bmm(in[0], in[1])}; }, mm_ref));
    // Sizes past the kernel's direct path: packed 6x16 tiles with edges in both dims, a transposed left
    // operand, k beyond one k-chunk (256), and a batch of packed products.
    cases.push_back(make_case("matmul", "packed [37,50]@[50,29]", {rand_input({37, 50}, 80), rand_input({50, 29}, 81)}, mm, mm_ref));
    cases.push_back(make_case("matmul", "packed, transposed left [40,33]^T@[40,21]", {rand_input({40, 33}, 82), rand_input({40, 21}, 83)},
                     [](const TensorList& in) -> TensorList { return {matmul(in[0].t(), in[1])}; },
                     [](const TensorList& in) -> TensorList { return {matmul_ref(in[0].t().contiguous(), in[1])}; }));
    cases.push_back(make_case("matmul", "two k-chunks [8,300]@[300,9]", {rand_input({8, 300}, 84), rand_input({300, 9}, 85)}, mm, mm_ref));
    cases.push_back(make_case("matmul", "bmm packed [3,20,30]@[3,30,25]", {rand_input({3, 20, 30}, 86), rand_input({3, 30, 25}, 87)},
                     [](const TensorList& in) -> TensorList { return {bmm(in[0], in[1])}; }, mm_ref));
    cases.push_back(make_case("matmul", "empty K [3,0]@[0,2] -> zeros", {rand_input({3, 0}, 72), rand_input({0, 2}, 73)}, mm, mm_ref));
    auto lin_ref = [](const TensorList& in) -> TensorList {
        Tensor y = matmul_ref(in[0].reshape({-1, in[0].size(-1)}), in[1].t().contiguous());
        Host hy(y), hb(in[2]);
        for_each_index(hy.shape, [&](const std::vector<int64_t>& i) { hy.at(i) += hb.v[i[1]]; });
        Shape s = in[0].shape();
        s.back() = in[1].size(0);
        hy.shape = s;
        return {hy.tensor()};
    };
    cases.push_back(make_case("linear", "[2,3,5] x W[4,5] + b", {rand_input({2, 3, 5}, 74), rand_input({4, 5}, 75), rand_input({4}, 76)},
                     [](const TensorList& in) -> TensorList { return {linear(in[0], in[1], in[2])}; }, lin_ref));
    cases.push_back(make_case("linear", "packed [2,30,40] x W[50,40] + b", {rand_input({2, 30, 40}, 88), rand_input({50, 40}, 89), rand_input({50}, 90)},
                     [](const TensorList& in) -> TensorList { return {linear(in[0], in[1], in[2])}; }, lin_ref));
    cases.push_back(make_case("linear", "no bias [3,5]", {rand_input({3, 5}, 77), rand_input({2, 5}, 78)},
                     [](const TensorList& in) -> TensorList { return {linear(in[0], in[1])}; },
                     [](const TensorList& in) -> TensorList { return {matmul_ref(in[0], in[1].t().contiguous())}; }));
    return cases;
}

}  // namespace wsdol::test
