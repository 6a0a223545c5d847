// cases_reduce.cpp — op cases for reductions (reduce.cpp).
#include "tests/ops/harness.h"

namespace wsdol::test {
namespace {

// Reduces x over `dims` (empty = all) with `combine`, starting from `init`; keepdim layout then squeezed if asked.
TensorList reduce_ref(const Tensor& x, std::vector<int> dims, bool keepdim, double init,
                      const std::function<double(double, double)>& combine) {
    Host h(x);
    const int nd = x.dim();
    std::vector<bool> red(nd, dims.empty());
    for (int d : dims) red[d < 0 ? d + nd : d] = true;
    Shape keep = x.shape(), dropped;
    for (int d = 0; d < nd; ++d) {
        if (red[d]) keep[d] = 1;
        else dropped.push_back(x.shape()[d]);
    }
    Host out(keep, init);
    for_each_index(x.shape(), [&](const std::vector<int64_t>& i) {
        std::vector<int64_t> o = i;
        for (int d = 0; d < nd; ++d)
            if (red[d]) o[d] = 0;
        out.at(o) = combine(out.at(o), h.at(i));
    });
    if (!keepdim) out.shape = dropped;
    return {out.tensor(x.dtype())};
}

}  // namespace

WSDOL_OP_CASES(reduce) {
    std::vector<OpCase> cases;
    auto plus = [](double a, double b) { return a + b; };
    cases.push_back({"sum", "all dims [3,4,5]", {rand_input({3, 4, 5}, 50)},
                     [](const TensorList& in) -> TensorList { return {sum(in[0])}; },
                     [=](const TensorList& in) { return reduce_ref(in[0], {}, false, 0, plus); }});
    cases.push_back({"sum", "dims (0,2) keepdim", {rand_input({3, 4, 5}, 51)},
                     [](const TensorList& in) -> TensorList { return {sum(in[0], {0, 2}, true)}; },
                     [=](const TensorList& in) { return reduce_ref(in[0], {0, 2}, true, 0, plus); }});
    cases.push_back({"sum", "dim -1 of [2,1,3]", {rand_input({2, 1, 3}, 52)},
                     [](const TensorList& in) -> TensorList { return {sum(in[0], {-1})}; },
                     [=](const TensorList& in) { return reduce_ref(in[0], {-1}, false, 0, plus); }});
    cases.push_back({"sum", "large (crosses reduce blocks)", {rand_input({3, 9000}, 53)},
                     [](const TensorList& in) -> TensorList { return {sum(in[0]), sum(in[0], {1})}; },
                     [=](const TensorList& in) {
                         return TensorList{reduce_ref(in[0], {}, false, 0, plus)[0], reduce_ref(in[0], {1}, false, 0, plus)[0]};
                     }});
    cases.back().fwd_tol_f32 = 1e-5;
    cases.push_back({"sum", "empty dim -> zeros", {rand_input({2, 0}, 54)},
                     [](const TensorList& in) -> TensorList { return {sum(in[0], {1})}; },
                     [](const TensorList& in) -> TensorList { return {Tensor::zeros({2}, DType::f64)}; }});
    return cases;
}

}  // namespace wsdol::test
