// cases_reduce.cpp — op cases for reductions (reduce.cpp): sum, mean, max, min, argmax, argmin, var, std,
// logsumexp, norm, cumsum. References are plain loops over host values in double, never the ops under test.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "kernels/cpu/parallel.h"
#include "tests/ops/harness.h"

namespace wsdol::test {
namespace {

// Applies `fn` to the values of each reduced sub-block of x (row-major order within the sub-block). dims empty =
// all; keepdim layout, then squeezed unless keepdim. The result has dtype `dtype`.
Tensor group_ref(const Tensor& x, std::vector<int> dims, bool keepdim,
                 const std::function<double(const std::vector<double>&)>& fn, DType dtype = DType::f64) {
    Host h(x);
    const int nd = x.dim();
    std::vector<bool> red(nd, dims.empty());
    for (int d : dims)
        if (nd > 0) red[d < 0 ? d + nd : d] = true;
    Shape keep = x.shape(), dropped;
    for (int d = 0; d < nd; ++d) {
        if (red[d]) keep[d] = 1;
        else dropped.push_back(x.shape()[d]);
    }
    std::vector<std::vector<double>> groups(shape_numel(keep));
    Host index_of(keep);
    for (int64_t i = 0; i < static_cast<int64_t>(index_of.v.size()); ++i) index_of.v[i] = static_cast<double>(i);
    for_each_index(x.shape(), [&](const std::vector<int64_t>& i) {
        std::vector<int64_t> o = i;
        for (int d = 0; d < nd; ++d)
            if (red[d]) o[d] = 0;
        groups[static_cast<int64_t>(index_of.at(o))].push_back(h.at(i));
    });
    Host out(keep);
    for (size_t g = 0; g < groups.size(); ++g) out.v[g] = fn(groups[g]);
    if (!keepdim) out.shape = dropped;
    return out.tensor(dtype);
}

double ref_sum(const std::vector<double>& v) {
    double s = 0;
    for (double e : v) s += e;
    return s;
}
double ref_mean(const std::vector<double>& v) { return ref_sum(v) / static_cast<double>(v.size()); }
double ref_max(const std::vector<double>& v) {
    double m = -INFINITY;
    for (double e : v) {
        if (std::isnan(e)) return e;
        m = std::max(m, e);
    }
    return m;
}
double ref_min(const std::vector<double>& v) {
    double m = INFINITY;
    for (double e : v) {
        if (std::isnan(e)) return e;
        m = std::min(m, e);
    }
    return m;
}
// First index of the max (min); a NaN counts as the extreme (its first occurrence).
double ref_arg(const std::vector<double>& v, bool want_max) {
    size_t best = 0;
    for (size_t i = 0; i < v.size(); ++i) {
        if (std::isnan(v[i])) return static_cast<double>(i);
        if (want_max ? v[i] > v[best] : v[i] < v[best]) best = i;
    }
    return static_cast<double>(best);
}
double ref_var(const std::vector<double>& v, bool unbiased) {
    const double m = ref_mean(v);
    double s = 0;
    for (double e : v) s += (e - m) * (e - m);
    return s / std::max(0.0, static_cast<double>(v.size()) - (unbiased ? 1 : 0));
}
// Written without a max shift on purpose where the inputs are small; the large-value case shifts by hand.
double ref_logsumexp(const std::vector<double>& v) {
    double m = -INFINITY;
    for (double e : v) m = std::max(m, e);
    if (std::isinf(m)) m = 0;
    double s = 0;
    for (double e : v) s += std::exp(e - m);
    return std::log(s) + m;
}
double ref_norm(const std::vector<double>& v, double p) {
    if (std::isinf(p)) {
        double m = p > 0 ? 0 : INFINITY;
        for (double e : v) m = p > 0 ? std::max(m, std::fabs(e)) : std::min(m, std::fabs(e));
        return m;
    }
    double s = 0;
    for (double e : v) s += p == 0 ? (e != 0) : std::pow(std::fabs(e), p);
    return p == 0 ? s : std::pow(s, 1.0 / p);
}

// Inclusive prefix sums along dim.
Tensor cumsum_ref(const Tensor& x, int dim, DType dtype) {
    Host h(x);
    if (x.dim() == 0) return h.tensor(dtype);
    const int d = dim < 0 ? dim + x.dim() : dim;
    Host out(x.shape());
    for_each_index(x.shape(), [&](const std::vector<int64_t>& i) {
        std::vector<int64_t> j = i;
        double s = 0;
        for (j[d] = 0; j[d] <= i[d]; ++j[d]) s += h.at(j);
        out.at(i) = s;
    });
    return out.tensor(dtype);
}

// A reduction case: run(in[0]) against group_ref(in[0], dims, keepdim, fn).
OpCase reduce_case(const std::string& op, const std::string& label, Tensor x, std::vector<int> dims, bool keepdim,
                   std::function<Tensor(const Tensor&, const std::vector<int>&, bool)> fn,
                   std::function<double(const std::vector<double>&)> ref) {
    return make_case(
        op, label, {x}, [=](const TensorList& in) -> TensorList { return {fn(in[0], dims, keepdim)}; },
        [=](const TensorList& in) -> TensorList { return {group_ref(in[0], dims, keepdim, ref)}; });
}

Tensor values(const std::vector<double>& v, const Shape& s) { return Tensor::from_vector(v, s, DType::f64); }

}  // namespace

WSDOL_OP_CASES(reduce) {
    std::vector<OpCase> cases;
    const double inf = std::numeric_limits<double>::infinity();
    // ---- sum
    auto sum_fn = [](const Tensor& x, const std::vector<int>& d, bool k) { return sum(x, d, k); };
    cases.push_back(reduce_case("sum", "all dims [3,4,5]", rand_input({3, 4, 5}, 50), {}, false, sum_fn, ref_sum));
    cases.push_back(reduce_case("sum", "dims (0,2) keepdim", rand_input({3, 4, 5}, 51), {0, 2}, true, sum_fn, ref_sum));
    cases.push_back(reduce_case("sum", "dim -1 of [2,1,3]", rand_input({2, 1, 3}, 52), {-1}, false, sum_fn, ref_sum));
    cases.push_back(make_case(
        "sum", "large (crosses reduce blocks)", {rand_input({3, 9000}, 53)},
        [](const TensorList& in) -> TensorList { return {sum(in[0]), sum(in[0], {1})}; },
        [](const TensorList& in) -> TensorList {
            return {group_ref(in[0], {}, false, ref_sum), group_ref(in[0], {1}, false, ref_sum)};
        }));
    cases.back().fwd_tol_f32 = 1e-5;
    cases.push_back(reduce_case("sum", "empty dim -> zeros", rand_input({2, 0}, 54), {1}, false, sum_fn, ref_sum));

    // ---- mean
    auto mean_fn = [](const Tensor& x, const std::vector<int>& d, bool k) { return mean(x, d, k); };
    cases.push_back(reduce_case("mean", "all dims [3,4,5]", rand_input({3, 4, 5}, 101), {}, false, mean_fn, ref_mean));
    cases.push_back(reduce_case("mean", "dims (0,2) keepdim", rand_input({3, 4, 5}, 102), {0, 2}, true, mean_fn, ref_mean));
    cases.push_back(reduce_case("mean", "dims (-1,-3) of [2,3,4]", rand_input({2, 3, 4}, 103), {-1, -3}, false, mean_fn, ref_mean));
    cases.push_back(reduce_case("mean", "size-1 dim 1 of [4,1,3]", rand_input({4, 1, 3}, 104), {1}, false, mean_fn, ref_mean));
    cases.push_back(reduce_case("mean", "0-dim over dim 0", rand_input({}, 105), {0}, false, mean_fn, ref_mean));
    cases.push_back(reduce_case("mean", "empty dim -> NaN", rand_input({2, 0, 3}, 106), {1}, true, mean_fn, ref_mean));
    cases.push_back(reduce_case("mean", "empty kept dim -> empty", rand_input({0, 3}, 107), {1}, false, mean_fn, ref_mean));

    // ---- max / min (amax / amin)
    auto max_fn = [](const Tensor& x, const std::vector<int>& d, bool k) { return max(x, d, k); };
    auto min_fn = [](const Tensor& x, const std::vector<int>& d, bool k) { return min(x, d, k); };
    cases.push_back(reduce_case("max", "dim 1 of [3,4,5]", rand_input({3, 4, 5}, 110), {1}, false, max_fn, ref_max));
    cases.push_back(reduce_case("max", "all dims", rand_input({3, 4, 5}, 111), {}, false, max_fn, ref_max));
    cases.push_back(reduce_case("max", "dims (0,-1) keepdim", rand_input({3, 4, 5}, 112), {0, -1}, true, max_fn, ref_max));
    cases.push_back(reduce_case("max", "size-1 dim", rand_input({3, 1}, 113), {1}, false, max_fn, ref_max));
    cases.push_back(reduce_case("max", "empty output [0,3] over dim 1", rand_input({0, 3}, 114), {1}, false, max_fn, ref_max));
    // Exactly two-way ties: the gradient is split 1/2 each, which is also what central differences measure.
    const Tensor ties = values({1, 3, 3, 0, -2, -2, 0.5, 0.25, 2, -1, 2, -2}, {3, 4});
    cases.push_back(reduce_case("max", "2-way ties split the gradient", ties, {1}, false, max_fn, ref_max));
    cases.push_back(reduce_case("min", "2-way ties split the gradient", ties, {1}, true, min_fn, ref_min));
    cases.push_back(reduce_case("max", "ties across dims (0,2)", values({1, 4, 0, 2, 4, -1, 3, 3}, {2, 2, 2}), {0, 2},
                                false, max_fn, ref_max));
    cases.push_back(reduce_case("max", "NaN propagates", values({1, NAN, 2, 0, 1, 2}, {2, 3}), {1}, false, max_fn, ref_max));
    cases.back().check_grad = false;
    cases.push_back(reduce_case("min", "dim 0 of [3,4,5]", rand_input({3, 4, 5}, 115), {0}, false, min_fn, ref_min));
    cases.push_back(reduce_case("min", "dims (1,2) keepdim", rand_input({3, 4, 5}, 116), {1, 2}, true, min_fn, ref_min));
    cases.push_back(reduce_case("min", "0-dim", rand_input({}, 117), {}, false, min_fn, ref_min));

    // ---- argmax / argmin (i64, first index, non-differentiable)
    auto arg_case = [&](const std::string& op, const std::string& label, Tensor x, int dim, bool keepdim) {
        const bool want_max = op == "argmax";
        OpCase c = make_case(
            op, label, {x},
            [=](const TensorList& in) -> TensorList {
                return {want_max ? argmax(in[0], dim, keepdim) : argmin(in[0], dim, keepdim)};
            },
            [=](const TensorList& in) -> TensorList {
                return {group_ref(in[0], {dim}, keepdim,
                                  [=](const std::vector<double>& v) { return ref_arg(v, want_max); }, DType::i64)};
            });
        c.check_grad = false;
        cases.push_back(c);
    };
    arg_case("argmax", "dim 1 of [3,4,5]", rand_input({3, 4, 5}, 120), 1, false);
    arg_case("argmax", "dim -1 keepdim", rand_input({3, 4, 5}, 121), -1, true);
    arg_case("argmax", "ties -> first index", ties, 1, false);
    arg_case("argmax", "NaN wins", values({1, NAN, 2, NAN, 0, 5}, {2, 3}), 1, false);
    arg_case("argmax", "i64 input", index_input({4, 6}, 5, 122), 0, false);
    arg_case("argmax", "size-1 dim", rand_input({3, 1}, 123), 1, false);
    arg_case("argmin", "dim 0 of [3,4,5]", rand_input({3, 4, 5}, 124), 0, false);
    arg_case("argmin", "dim -2 keepdim", rand_input({3, 4, 5}, 125), -2, true);
    arg_case("argmin", "ties -> first index", ties, 1, true);
    arg_case("argmin", "0-dim", rand_input({}, 126), 0, false);

    // ---- var / std
    for (bool unbiased : {true, false}) {
        const std::string tag = unbiased ? " unbiased" : " biased";
        auto var_fn = [unbiased](const Tensor& x, const std::vector<int>& d, bool k) { return var(x, d, unbiased, k); };
        auto std_fn = [unbiased](const Tensor& x, const std::vector<int>& d, bool k) { return std(x, d, unbiased, k); };
        auto var_ref = [unbiased](const std::vector<double>& v) { return ref_var(v, unbiased); };
        auto std_ref = [unbiased](const std::vector<double>& v) { return std::sqrt(ref_var(v, unbiased)); };
        cases.push_back(reduce_case("var", "all dims" + tag, rand_input({3, 4, 5}, 130), {}, false, var_fn, var_ref));
        cases.push_back(reduce_case("var", "dims (0,2) keepdim" + tag, rand_input({3, 4, 5}, 131), {0, 2}, true, var_fn, var_ref));
        cases.push_back(reduce_case("var", "dim -1, offset mean" + tag, rand_input({4, 6}, 132, 99, 101), {-1}, false, var_fn, var_ref));
        cases.push_back(reduce_case("std", "dim 1" + tag, rand_input({3, 4, 5}, 133), {1}, false, std_fn, std_ref));
        cases.push_back(reduce_case("std", "dims (-1,0) keepdim" + tag, rand_input({3, 4, 5}, 134), {-1, 0}, true, std_fn, std_ref));
    }
    // A constant row: std = 0 and its gradient is 0 (PyTorch masks it), where d/dx sqrt would be infinite.
    cases.push_back(reduce_case("std", "constant row -> zero gradient", values({0.5, 0.5, 0.5, 1, 2, 4}, {2, 3}), {1},
                                false, [](const Tensor& x, const std::vector<int>& d, bool k) { return std(x, d, true, k); },
                                [](const std::vector<double>& v) { return std::sqrt(ref_var(v, true)); }));
    // One element, unbiased: 0 / 0 = NaN (PyTorch); the gradient is NaN too, so no gradient check.
    cases.push_back(reduce_case("var", "single element unbiased -> NaN", rand_input({3, 1}, 135), {1}, false,
                                [](const Tensor& x, const std::vector<int>& d, bool k) { return var(x, d, true, k); },
                                [](const std::vector<double>& v) { return ref_var(v, true); }));
    cases.back().check_grad = false;

    // ---- logsumexp
    auto lse_fn = [](const Tensor& x, const std::vector<int>& d, bool k) { return logsumexp(x, d, k); };
    cases.push_back(reduce_case("logsumexp", "dim 1 of [3,4,5]", rand_input({3, 4, 5}, 140, -3, 3), {1}, false, lse_fn, ref_logsumexp));
    cases.push_back(reduce_case("logsumexp", "dims (0,2) keepdim", rand_input({3, 4, 5}, 141, -3, 3), {0, 2}, true, lse_fn, ref_logsumexp));
    cases.push_back(reduce_case("logsumexp", "all dims", rand_input({2, 3}, 142, -3, 3), {}, false, lse_fn, ref_logsumexp));
    // exp(800) overflows double: only a max-shifted implementation gets these right.
    cases.push_back(reduce_case("logsumexp", "large values are stable", rand_input({3, 5}, 143, 790, 800), {-1}, false,
                                lse_fn, ref_logsumexp));
    cases.push_back(reduce_case("logsumexp", "very negative values", rand_input({3, 5}, 144, -900, -890), {-1}, false,
                                lse_fn, ref_logsumexp));
    cases.push_back(reduce_case("logsumexp", "-inf entries and an all -inf row",
                                values({-inf, 0.5, 1, -inf, -inf, -inf}, {2, 3}), {1}, false, lse_fn, ref_logsumexp));
    cases.back().check_grad = false;  // finite differences cannot move -inf
    cases.push_back(reduce_case("logsumexp", "empty dim -> -inf", rand_input({2, 0}, 145), {1}, false, lse_fn, ref_logsumexp));

    // ---- norm
    auto norm_case = [&](const std::string& label, Tensor x, double p, std::vector<int> dims, bool keepdim) {
        cases.push_back(reduce_case(
            "norm", label, x, dims, keepdim,
            [p](const Tensor& t, const std::vector<int>& d, bool k) { return norm(t, p, d, k); },
            [p](const std::vector<double>& v) { return ref_norm(v, p); }));
    };
    norm_case("p=2 all dims", rand_input({3, 4, 5}, 150), 2, {}, false);
    norm_case("p=2 dim 1 keepdim", rand_input({3, 4, 5}, 151), 2, {1}, true);
    norm_case("p=2 zero row -> zero gradient", values({0, 0, 0, 0.3, -0.4, 1.2}, {2, 3}), 2, {1}, false);
    norm_case("p=1 dims (0,2)", rand_away_from({3, 4, 5}, 152, {0}, 1e-2, -1, 1), 1, {0, 2}, false);
    norm_case("p=inf dim -1", rand_input({3, 4, 5}, 153), inf, {-1}, false);
    norm_case("p=-inf dim 0", rand_away_from({3, 4}, 154, {0}, 1e-2, -1, 1), -inf, {0}, false);
    norm_case("p=inf 2-way tie of |x|", values({1, -3, 3, 0.5, 2, -1}, {2, 3}), inf, {1}, false);
    norm_case("p=3 dim 1", rand_input({3, 4, 5}, 155), 3, {1}, false);
    norm_case("p=1.5 dims (1,2) keepdim", rand_input({3, 4, 5}, 156), 1.5, {1, 2}, true);
    norm_case("p=0.5 dim 1", rand_away_from({3, 4}, 157, {0}, 5e-2, -1, 1), 0.5, {1}, false);
    norm_case("p=0 counts non-zeros", values({0, 1.5, -2, 0, 0, 0.25}, {2, 3}), 0, {1}, false);
    norm_case("p=2 empty dim -> 0", rand_input({2, 0}, 158), 2, {1}, false);

    // ---- cumsum
    auto cumsum_case = [&](const std::string& label, Tensor x, int dim) {
        const DType out_dtype = is_floating(x.dtype()) ? DType::f64 : DType::i64;
        OpCase c = make_case(
            "cumsum", label, {x}, [dim](const TensorList& in) -> TensorList { return {cumsum(in[0], dim)}; },
            [dim, out_dtype](const TensorList& in) -> TensorList { return {cumsum_ref(in[0], dim, out_dtype)}; });
        c.check_grad = is_floating(x.dtype());
        cases.push_back(c);
    };
    cumsum_case("dim 0 of [3,4,5]", rand_input({3, 4, 5}, 160), 0);
    cumsum_case("dim 1 of [3,4,5]", rand_input({3, 4, 5}, 161), 1);
    cumsum_case("dim -1 of [3,4,5]", rand_input({3, 4, 5}, 162), -1);
    cumsum_case("wide inner [2,3,300] dim 1", rand_input({2, 3, 300}, 163), 1);
    cumsum_case("size-1 dim", rand_input({4, 1}, 164), 1);
    cumsum_case("empty", rand_input({0, 3}, 165), 1);
    cumsum_case("0-dim", rand_input({}, 166), 0);
    cumsum_case("i64 input", index_input({3, 4}, 9, 167), 1);
    return cases;
}

// A three-way tie: central differences would say 1/2 per element, the amax convention splits 1/3 each.
TEST(ReduceGradient, MaxThreeWayTieSplitsEvenly) {
    Tensor x = Tensor::from_vector({2, 2, 1, 2}, {4}, DType::f64).set_requires_grad(true);
    max(x).backward();
    EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{1.0 / 3, 1.0 / 3, 0, 1.0 / 3}));
    Tensor y = Tensor::from_vector({-1, 0, -1, -1}, {2, 2}, DType::f64).set_requires_grad(true);
    min(y, {0, 1}).backward();
    EXPECT_EQ(y.grad().to_vector(), (std::vector<double>{1.0 / 3, 0, 1.0 / 3, 1.0 / 3}));
}

TEST(ReduceGradient, NormInfTiesSplitWithSign) {
    Tensor x = Tensor::from_vector({3, -3, 1}, {3}, DType::f64).set_requires_grad(true);
    norm(x, INFINITY).backward();
    EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{0.5, -0.5, 0}));
}

TEST(ReduceForward, ArgmaxNoGradientAndI64) {
    Tensor x = Tensor::from_vector({0.1, 0.9, 0.5}, {3}, DType::f32).set_requires_grad(true);
    Tensor i = argmax(x, 0);
    EXPECT_EQ(i.dtype(), DType::i64);
    EXPECT_FALSE(i.requires_grad());
    EXPECT_EQ(i.item(), 1.0);
}

// Sums (one big output split over blocks, and many outputs), cumsum and logsumexp: the same bits for any thread
// count (parallel.h's rule).
TEST(Determinism, ReductionsIndependentOfThreadCount) {
    const int saved_threads = cpu::num_threads();
    Generator gen(11);
    const Tensor x = Tensor::randn({40, 5000}, DType::f32, &gen);
    std::vector<std::vector<double>> first;
    for (int threads : {1, 2, 3, 4}) {
        cpu::set_num_threads(threads);
        std::vector<std::vector<double>> got = {sum(x).to_vector(), sum(x, {0}).to_vector(), sum(x, {1}).to_vector(),
                                                mean(x, {0, 1}).to_vector(), var(x, {1}).to_vector(),
                                                logsumexp(x, {0}).to_vector(), cumsum(x, 0).to_vector()};
        if (first.empty()) first = got;
        for (size_t k = 0; k < got.size(); ++k) EXPECT_EQ(got[k], first[k]) << "result " << k << " with " << threads << " threads";
    }
    cpu::set_num_threads(saved_threads);
}

}  // namespace wsdol::test
