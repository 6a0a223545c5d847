// cases_random.cpp — op cases for dropout, dropout2d and drop_path (random_ops.cpp). The reference recomputes the mask from
// the rule documented in random_ops.h (Philox counters of a generator in the same state), never from the op.
#include "tests/ops/harness.h"

namespace wsdol::test {
namespace {

constexpr uint64_t kSeed = 4242;
constexpr uint64_t kOffset = 17;  // a generator that has already drawn: counters start at 17

Generator fresh_generator() {
    Generator g(kSeed);
    g.set_state(kSeed, kOffset);
    return g;
}

// keep[i] for i < n by the mask rule, from counters kOffset + i.
std::vector<bool> keep_mask(int64_t n, double p) {
    std::vector<bool> keep(n);
    for (int64_t i = 0; i < n; ++i) {
        uint32_t w[4];
        Philox::draw(kSeed, kOffset + static_cast<uint64_t>(i), w);
        keep[i] = static_cast<double>(Philox::to_unit(w[0])) >= p;
    }
    return keep;
}

// x * mask / (1 - p), with mask element i covering `per_mask` consecutive elements of x (1 for dropout, a whole
// sample for drop_path).
Tensor masked_ref(const Tensor& x, double p, int64_t per_mask) {
    Host h(x);
    const int64_t n = per_mask ? x.numel() / std::max<int64_t>(per_mask, 1) : 0;
    const std::vector<bool> keep = keep_mask(n, p);
    for (size_t i = 0; i < h.v.size(); ++i) h.v[i] = keep[i / per_mask] ? h.v[i] / (1.0 - p) : 0.0;
    return h.tensor(x.dtype());
}

}  // namespace

WSDOL_OP_CASES(random) {
    std::vector<OpCase> cases;
    auto dropout_case = [&](const std::string& label, Tensor x, double p, bool training) {
        cases.push_back(make_case("dropout", label, {x},
                         [p, training](const TensorList& in) -> TensorList {
                             Generator g = fresh_generator();  // the same mask on every call (finite differences)
                             return {dropout(in[0], p, training, &g)};
                         },
                         [p, training](const TensorList& in) -> TensorList {
                             if (!training || p == 0.0) return {in[0]};
                             return {masked_ref(in[0], p, 1)};
                         }));
    };
    dropout_case("p=0.3 [4,5]", rand_input({4, 5}, 800), 0.3, true);
    dropout_case("p=0.5 [2,3,40]", rand_input({2, 3, 40}, 801), 0.5, true);
    dropout_case("p=1 drops everything", rand_input({3, 3}, 802), 1.0, true);
    dropout_case("p=0 is identity", rand_input({3, 3}, 803), 0.0, true);
    dropout_case("eval is identity", rand_input({3, 3}, 804), 0.5, false);
    dropout_case("empty", rand_input({0, 3}, 805), 0.5, true);

    auto dropout2d_case = [&](const std::string& label, Tensor x, double p, bool training) {
        cases.push_back(make_case("dropout2d", label, {x},
                         [p, training](const TensorList& in) -> TensorList {
                             Generator g = fresh_generator();
                             return {dropout2d(in[0], p, training, &g)};
                         },
                         [p, training](const TensorList& in) -> TensorList {
                             if (!training || p == 0.0) return {in[0]};
                             return {masked_ref(in[0], p, in[0].shape()[2] * in[0].shape()[3])};  // one per (n, c)
                         }));
    };
    dropout2d_case("p=0.5 (3, 4, 2, 3)", rand_input({3, 4, 2, 3}, 806), 0.5, true);
    dropout2d_case("p=0.3 (2, 8, 1, 5)", rand_input({2, 8, 1, 5}, 807), 0.3, true);
    dropout2d_case("eval is identity", rand_input({1, 2, 2, 2}, 808), 0.3, false);

    auto drop_path_case = [&](const std::string& label, Tensor x, double p, bool training) {
        cases.push_back(make_case("drop_path", label, {x},
                         [p, training](const TensorList& in) -> TensorList {
                             Generator g = fresh_generator();
                             return {drop_path(in[0], p, training, &g)};
                         },
                         [p, training](const TensorList& in) -> TensorList {
                             if (!training || p == 0.0) return {in[0]};
                             const int64_t per_sample = in[0].shape()[0] ? in[0].numel() / in[0].shape()[0] : 0;
                             return {masked_ref(in[0], p, per_sample)};
                         }));
    };
    drop_path_case("p=0.5 (16, 3, 2)", rand_input({16, 3, 2}, 810), 0.5, true);
    drop_path_case("p=0.2 (10, 4) tokens", rand_input({10, 4}, 811), 0.2, true);
    drop_path_case("1-D (8)", rand_input({8}, 812), 0.4, true);
    drop_path_case("eval is identity", rand_input({4, 2}, 813), 0.5, false);
    return cases;
}

}  // namespace wsdol::test
