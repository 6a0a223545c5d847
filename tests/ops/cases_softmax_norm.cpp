// cases_softmax_norm.cpp — op cases for softmax/log_softmax (softmax.cpp) and layer_norm, batch_norm, group_norm
// (norm.cpp), plus direct tests of running statistics and of thread-count independence. References are plain
// loops in double that do not call the ops under test.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "kernels/cpu/parallel.h"
#include "tests/ops/harness.h"

namespace wsdol::test {
namespace {

Tensor values(const std::vector<double>& v, const Shape& s) { return Tensor::from_vector(v, s, DType::f64); }

// base + k/16 for random k in [0, 80]: large values that f32 represents exactly (ulp(1000) = 2^-14), so the f32
// run sees the same inputs as the f64 reference and only the kernel's own rounding is measured.
Tensor large_exact_input(const Shape& shape, uint64_t seed, double base) {
    Host h(rand_input(shape, seed, 0, 1));
    for (double& v : h.v) v = base + std::round(v * 80) / 16;
    return h.tensor(DType::f64);
}

// A fresh, non-contiguous (every other element) copy of t: running statistics are updated in place, so cases
// never hand the shared case inputs to batch_norm, and the in-place update is exercised through a strided view.
Tensor scratch_copy(const Tensor& t) {
    if (!t.defined()) return t;
    Tensor base = Tensor::zeros({2 * t.numel()}, t.dtype());
    Tensor view = base.slice(0, 0, 2 * t.numel(), 2);
    view.copy_(t.reshape({t.numel()}));
    return view;
}

// Softmax or log-softmax along dim, per line, shifted by the line max (a 0-dim x is one element).
Tensor softmax_ref(const Tensor& x, int dim, bool log) {
    Host h(x), out(x.shape());
    if (x.dim() == 0) {
        out.v[0] = log ? 0.0 : 1.0;
        return out.tensor(DType::f64);
    }
    const int d = dim < 0 ? dim + x.dim() : dim;
    const int64_t D = x.shape()[d];
    for_each_index(x.shape(), [&](const std::vector<int64_t>& i) {
        if (i[d] != 0) return;  // one pass per line
        std::vector<int64_t> j = i;
        double m = -INFINITY;
        for (j[d] = 0; j[d] < D; ++j[d]) m = std::max(m, h.at(j));
        double s = 0;
        for (j[d] = 0; j[d] < D; ++j[d]) s += std::exp(h.at(j) - m);
        for (j[d] = 0; j[d] < D; ++j[d]) out.at(j) = log ? h.at(j) - m - std::log(s) : std::exp(h.at(j) - m) / s;
    });
    return out.tensor(DType::f64);
}

// Normalizes groups of elements: group_of(index) -> group id; affine_of(index) -> parameter index (or -1).
Tensor normalize_ref(const Tensor& x, int64_t groups, const std::function<int64_t(const std::vector<int64_t>&)>& group_of,
                     const std::function<int64_t(const std::vector<int64_t>&)>& param_of, const Tensor& weight,
                     const Tensor& bias, double eps, const std::vector<double>* fixed_mean = nullptr,
                     const std::vector<double>* fixed_var = nullptr) {
    Host h(x), out(x.shape());
    std::vector<double> s(groups, 0), ss(groups, 0), n(groups, 0);
    for_each_index(x.shape(), [&](const std::vector<int64_t>& i) {
        s[group_of(i)] += h.at(i);
        n[group_of(i)] += 1;
    });
    std::vector<double> mean(groups), var(groups);
    for (int64_t g = 0; g < groups; ++g) mean[g] = s[g] / n[g];
    for_each_index(x.shape(), [&](const std::vector<int64_t>& i) {
        const double dv = h.at(i) - mean[group_of(i)];
        ss[group_of(i)] += dv * dv;
    });
    for (int64_t g = 0; g < groups; ++g) var[g] = ss[g] / n[g];  // biased
    if (fixed_mean) mean = *fixed_mean;
    if (fixed_var) var = *fixed_var;
    const std::vector<double> w = weight.defined() ? weight.to_vector() : std::vector<double>{};
    const std::vector<double> b = bias.defined() ? bias.to_vector() : std::vector<double>{};
    for_each_index(x.shape(), [&](const std::vector<int64_t>& i) {
        const int64_t g = group_of(i), p = param_of(i);
        double y = (h.at(i) - mean[g]) / std::sqrt(var[g] + eps);
        if (!w.empty()) y *= w[p];
        if (!b.empty()) y += b[p];
        out.at(i) = y;
    });
    return out.tensor(DType::f64);
}

Tensor layer_norm_ref(const Tensor& x, int k, const Tensor& w, const Tensor& b, double eps) {
    int64_t N = 1;
    for (int i = x.dim() - k; i < x.dim(); ++i) N *= x.shape()[i];
    const int64_t M = N ? x.numel() / N : 0;
    auto flat = [&](const std::vector<int64_t>& i) {
        int64_t f = 0;
        for (int d = 0; d < x.dim(); ++d) f = f * x.shape()[d] + i[d];
        return f;
    };
    return normalize_ref(x, std::max<int64_t>(M, 1), [&](const auto& i) { return N ? flat(i) / N : 0; },
                         [&](const auto& i) { return N ? flat(i) % N : 0; }, w, b, eps);
}

Tensor group_norm_ref(const Tensor& x, int64_t G, const Tensor& w, const Tensor& b, double eps) {
    const int64_t C = x.shape()[1], Cg = C / G;
    return normalize_ref(x, x.shape()[0] * G, [&](const auto& i) { return i[0] * G + i[1] / Cg; },
                         [&](const auto& i) { return i[1]; }, w, b, eps);
}

// Per-channel batch statistics of x: (N, C, ...): mean and biased variance.
void channel_stats(const Tensor& x, std::vector<double>& mean, std::vector<double>& var, double& n) {
    const int64_t C = x.shape()[1];
    Host h(x);
    mean.assign(C, 0);
    var.assign(C, 0);
    n = static_cast<double>(x.numel() / C);
    for_each_index(x.shape(), [&](const std::vector<int64_t>& i) { mean[i[1]] += h.at(i) / n; });
    for_each_index(x.shape(), [&](const std::vector<int64_t>& i) {
        var[i[1]] += (h.at(i) - mean[i[1]]) * (h.at(i) - mean[i[1]]) / n;
    });
}

// inputs: x, running_mean, running_var, weight, bias.
Tensor batch_norm_ref(const TensorList& in, bool training, double eps) {
    const Tensor& x = in[0];
    std::vector<double> mean, var;
    double n;
    channel_stats(x, mean, var, n);
    if (!training) {
        mean = in[1].to_vector();
        var = in[2].to_vector();
    }
    return normalize_ref(x, x.shape()[1], [](const auto& i) { return i[1]; }, [](const auto& i) { return i[1]; },
                         in[3], in[4], eps, &mean, &var);
}

}  // namespace

WSDOL_OP_CASES(softmax_norm) {
    std::vector<OpCase> cases;
    const double inf = std::numeric_limits<double>::infinity();

    // ---- softmax / log_softmax
    for (bool log : {false, true}) {
        const std::string op = log ? "log_softmax" : "softmax";
        auto sm_case = [&](const std::string& label, Tensor x, int dim) {
            cases.push_back(make_case(
                op, label, {x},
                [dim, log](const TensorList& in) -> TensorList {
                    return {log ? log_softmax(in[0], dim) : softmax(in[0], dim)};
                },
                [dim, log](const TensorList& in) -> TensorList { return {softmax_ref(in[0], dim, log)}; }));
        };
        sm_case("last dim [3,5]", rand_input({3, 5}, 200, -3, 3), 1);
        sm_case("middle dim [2,3,4] (inner > 1)", rand_input({2, 3, 4}, 201, -3, 3), 1);
        sm_case("dim 0 of [4,3]", rand_input({4, 3}, 202, -3, 3), 0);
        sm_case("dim -1 of [2,2,6]", rand_input({2, 2, 6}, 203, -3, 3), -1);
        sm_case("wide inner [2,3,300] dim 1 (several column chunks)", rand_input({2, 3, 300}, 204, -3, 3), 1);
        sm_case("long rows [2,700]", rand_input({2, 700}, 205, -5, 5), 1);
        // The weighted loss over 1400 log-probabilities (~ -7 each) is ~1e4, whose rounding (~1e-11) divided by
        // 2 * 1e-6 would be 1e-5 of finite-difference noise; a 1e-4 step keeps that noise at 1e-7 while the
        // truncation error (step^2 times a third derivative of order 1) stays below 1e-8.
        cases.back().fd_eps = 1e-4;
        // exp(1000) overflows: only the max-shifted form gets these right.
        sm_case("large values are stable", large_exact_input({3, 4}, 206, 995), 1);
        sm_case("large values, middle dim", large_exact_input({2, 3, 2}, 207, -1000), 1);
        sm_case("size-1 dim", rand_input({3, 1}, 208), 1);
        sm_case("empty [0,4]", rand_input({0, 4}, 209), 1);
        sm_case("0-dim", rand_input({}, 210), 0);
    }
    // An attention-style mask: -inf entries get probability 0 (and gradient 0).
    cases.push_back(make_case(
        "softmax", "-inf masked entries", {values({0.5, -inf, 1, -inf, 2, 0.25, -0.5, -inf}, {2, 4})},
        [](const TensorList& in) -> TensorList { return {softmax(in[0], 1)}; },
        [](const TensorList& in) -> TensorList { return {softmax_ref(in[0], 1, false)}; }));
    cases.push_back(make_case(
        "log_softmax", "-inf masked entries", {values({0.5, -inf, 1, -inf, 2, 0.25, -0.5, -inf}, {2, 4})},
        [](const TensorList& in) -> TensorList { return {log_softmax(in[0], 1)}; },
        [](const TensorList& in) -> TensorList { return {softmax_ref(in[0], 1, true)}; }));
    cases.back().check_grad = false;  // outputs of -inf: the weighted loss is -inf

    // ---- layer_norm
    auto ln_case = [&](const std::string& label, Tensor x, Shape ns, bool with_w, bool with_b, double eps,
                       uint64_t seed) {
        Tensor w = with_w ? rand_input(ns, seed + 1, 0.5, 1.5) : Tensor();
        Tensor b = with_b ? rand_input(ns, seed + 2) : Tensor();
        const int k = static_cast<int>(ns.size());
        cases.push_back(make_case(
            "layer_norm", label, {x, w, b},
            [ns, eps](const TensorList& in) -> TensorList { return {layer_norm(in[0], ns, in[1], in[2], eps)}; },
            [k, eps](const TensorList& in) -> TensorList { return {layer_norm_ref(in[0], k, in[1], in[2], eps)}; }));
    };
    ln_case("[4,6] over [6] with weight and bias", rand_input({4, 6}, 220), {6}, true, true, 1e-5, 220);
    ln_case("[2,3,4] over [3,4]", rand_input({2, 3, 4}, 223), {3, 4}, true, true, 1e-5, 223);
    ln_case("no weight, no bias", rand_input({3, 5}, 226), {5}, false, false, 1e-5, 226);
    ln_case("weight only, eps 1e-6 (ViT)", rand_input({2, 2, 8}, 229), {8}, true, false, 1e-6, 229);
    ln_case("bias only", rand_input({3, 7}, 232), {7}, false, true, 1e-5, 232);
    ln_case("offset mean, 70 rows (several row blocks)", rand_input({70, 12}, 235, 4, 6), {12}, true, true, 1e-5, 235);
    ln_case("size-1 normalized dim", rand_input({4, 1}, 238), {1}, true, true, 1e-5, 238);
    ln_case("empty batch [0,5]", rand_input({0, 5}, 241), {5}, true, true, 1e-5, 241);
    ln_case("1-D input", rand_input({9}, 244), {9}, true, true, 1e-5, 244);

    // ---- batch_norm (inputs: x, running_mean, running_var, weight, bias)
    auto bn_case = [&](const std::string& label, Tensor x, bool training, bool affine, bool running, double momentum,
                       double eps, uint64_t seed) {
        const int64_t C = x.shape()[1];
        Tensor rm = running ? rand_input({C}, seed + 1) : Tensor();
        Tensor rv = running ? positive_input({C}, seed + 2) : Tensor();
        Tensor w = affine ? rand_input({C}, seed + 3, 0.5, 1.5) : Tensor();
        Tensor b = affine ? rand_input({C}, seed + 4) : Tensor();
        OpCase c = make_case(
            "batch_norm", label, {x, rm, rv, w, b},
            [=](const TensorList& in) -> TensorList {
                return {batch_norm(in[0], scratch_copy(in[1]), scratch_copy(in[2]), in[3], in[4], training, momentum,
                                   eps)};
            },
            [=](const TensorList& in) -> TensorList { return {batch_norm_ref(in, training, eps)}; });
        c.no_grad_inputs = {1, 2};  // running statistics are buffers, not differentiable inputs
        cases.push_back(c);
    };
    bn_case("train [4,3,5] affine", rand_input({4, 3, 5}, 250), true, true, true, 0.1, 1e-5, 250);
    bn_case("train [2,3,2,2] affine, momentum 0.3", rand_input({2, 3, 2, 2}, 255), true, true, true, 0.3, 1e-3, 255);
    bn_case("train [6,4] (2-D) no affine, no running stats", rand_input({6, 4}, 260), true, false, false, 0.1, 1e-5, 260);
    bn_case("train offset mean", rand_input({5, 2, 3}, 265, 9, 11), true, true, true, 0.1, 1e-5, 265);
    bn_case("eval [2,3,4,4] affine", rand_input({2, 3, 4, 4}, 270), false, true, true, 0.1, 1e-5, 270);
    bn_case("eval [3,2] no affine", rand_input({3, 2}, 275), false, false, true, 0.1, 1e-5, 275);
    bn_case("eval empty batch [0,3,2]", rand_input({0, 3, 2}, 280), false, true, true, 0.1, 1e-5, 280);
    // The running statistics after one training call, against PyTorch's formula:
    // running_mean = (1 - m) running_mean + m mean;  running_var = (1 - m) running_var + m n/(n-1) var_biased.
    {
        Tensor x = rand_input({4, 3, 5}, 290);
        OpCase c = make_case(
            "batch_norm", "running statistics update (momentum 0.2)",
            {x, rand_input({3}, 291), positive_input({3}, 292), rand_input({3}, 293, 0.5, 1.5), rand_input({3}, 294)},
            [](const TensorList& in) -> TensorList {
                Tensor rm = scratch_copy(in[1]), rv = scratch_copy(in[2]);
                Tensor y = batch_norm(in[0], rm, rv, in[3], in[4], true, 0.2, 1e-5);
                return {y, rm, rv};
            },
            [](const TensorList& in) -> TensorList {
                std::vector<double> mean, var;
                double n;
                channel_stats(in[0], mean, var, n);
                std::vector<double> rm = in[1].to_vector(), rv = in[2].to_vector();
                for (size_t c = 0; c < rm.size(); ++c) {
                    rm[c] = 0.8 * rm[c] + 0.2 * mean[c];
                    rv[c] = 0.8 * rv[c] + 0.2 * var[c] * n / (n - 1);
                }
                return {batch_norm_ref(in, true, 1e-5), values(rm, {3}), values(rv, {3})};
            });
        c.check_grad = false;  // the running statistics are outputs here, and they are not differentiable
        cases.push_back(c);
    }

    // ---- group_norm
    auto gn_case = [&](const std::string& label, Tensor x, int64_t G, bool affine, double eps, uint64_t seed) {
        const int64_t C = x.shape()[1];
        Tensor w = affine ? rand_input({C}, seed + 1, 0.5, 1.5) : Tensor();
        Tensor b = affine ? rand_input({C}, seed + 2) : Tensor();
        cases.push_back(make_case(
            "group_norm", label, {x, w, b},
            [G, eps](const TensorList& in) -> TensorList { return {group_norm(in[0], G, in[1], in[2], eps)}; },
            [G, eps](const TensorList& in) -> TensorList { return {group_norm_ref(in[0], G, in[1], in[2], eps)}; }));
    };
    gn_case("[2,4,3] 2 groups affine", rand_input({2, 4, 3}, 300), 2, true, 1e-5, 300);
    gn_case("[2,6,2,2] 3 groups affine", rand_input({2, 6, 2, 2}, 303), 3, true, 1e-5, 303);
    gn_case("1 group (layer-norm like)", rand_input({3, 4, 2}, 306), 1, true, 1e-5, 306);
    gn_case("groups = C (instance-norm like)", rand_input({2, 3, 4}, 309), 3, true, 1e-5, 309);
    gn_case("no affine", rand_input({2, 4, 3}, 312), 4, false, 1e-5, 312);
    gn_case("2-D input [3,4]", rand_input({3, 4}, 315), 2, true, 1e-3, 315);
    gn_case("empty batch [0,4,3]", rand_input({0, 4, 3}, 318), 2, true, 1e-5, 318);
    return cases;
}

// Eval mode leaves the running statistics alone; training without momentum-tracked stats is allowed.
TEST(BatchNorm, EvalDoesNotTouchRunningStatistics) {
    Tensor x = rand_input({4, 2, 3}, 400);
    Tensor rm = Tensor::from_vector({0.1, -0.2}, {2}, DType::f64), rv = Tensor::from_vector({1.5, 0.5}, {2}, DType::f64);
    batch_norm(x, rm, rv, Tensor(), Tensor(), false);
    EXPECT_EQ(rm.to_vector(), (std::vector<double>{0.1, -0.2}));
    EXPECT_EQ(rv.to_vector(), (std::vector<double>{1.5, 0.5}));
}

// Two training calls with PyTorch's defaults (momentum 0.1) compound as the formula says.
TEST(BatchNorm, RunningStatisticsFollowPyTorchFormula) {
    Tensor x = Tensor::from_vector({1, 2, 3, 5, -1, 0}, {3, 2}, DType::f64);  // channel 0: 1,3,-1; channel 1: 2,5,0
    Tensor rm = Tensor::zeros({2}, DType::f64), rv = Tensor::ones({2}, DType::f64);
    batch_norm(x, rm, rv, Tensor(), Tensor(), true);
    batch_norm(x, rm, rv, Tensor(), Tensor(), true);
    // channel 0: mean 1, unbiased var 4; channel 1: mean 7/3, unbiased var 19/3.
    const double m0 = 1, v0 = 4, m1 = 7.0 / 3, v1 = 19.0 / 3;
    const std::vector<double> want_m = {0.9 * (0.1 * m0) + 0.1 * m0, 0.9 * (0.1 * m1) + 0.1 * m1};
    const std::vector<double> want_v = {0.9 * (0.9 + 0.1 * v0) + 0.1 * v0, 0.9 * (0.9 + 0.1 * v1) + 0.1 * v1};
    for (int c = 0; c < 2; ++c) {
        EXPECT_NEAR(rm.to_vector()[c], want_m[c], 1e-14);
        EXPECT_NEAR(rv.to_vector()[c], want_v[c], 1e-14);
    }
}

// The f32 kernels use their own vectorizable exp: check it densely through softmax([0, t]) = [1, e^t] / (1 + e^t)
// against double, over the whole range where e^t is a normal float; -inf gives exactly 0 and far below the range
// the result is 0 up to the denormals (|p| < 1e-37: the approximation flushes them).
TEST(Softmax, F32ExponentialIsAccurate) {
    std::vector<double> v;
    for (double t = -87.0; t <= 0.0; t += 1.0 / 64) {
        v.push_back(0.0);
        v.push_back(t);
    }
    const int64_t rows = static_cast<int64_t>(v.size() / 2);
    const std::vector<double> got = softmax(Tensor::from_vector(v, {rows, 2}, DType::f32), 1).to_vector();
    const std::vector<double> got_log = log_softmax(Tensor::from_vector(v, {rows, 2}, DType::f32), 1).to_vector();
    double worst = 0, worst_log = 0;
    for (int64_t r = 0; r < rows; ++r) {
        const double t = static_cast<float>(v[2 * r + 1]);
        const double p = std::exp(t) / (1 + std::exp(t));
        worst = std::max(worst, std::fabs(got[2 * r + 1] - p) / p);
        worst_log = std::max(worst_log, std::fabs(got_log[2 * r + 1] - (t - std::log1p(std::exp(t)))));
    }
    EXPECT_LT(worst, 4e-7);      // a few f32 ulps (2^-23 = 1.2e-7), relative, down to e^-87
    EXPECT_LT(worst_log, 2e-5);  // |log p| <= 87: a few ulps of 87
    const std::vector<double> masked =
        softmax(Tensor::from_vector({0, -INFINITY, -88, -100}, {1, 4}, DType::f32), 1).to_vector();
    EXPECT_EQ(masked[0], 1.0);
    EXPECT_EQ(masked[1], 0.0);
    EXPECT_LT(masked[2], 1e-37);
    EXPECT_LT(masked[3], 1e-37);
}

// layer_norm and softmax: forward and every gradient bit-identical for 1, 2, 3 and 4 threads (the layer-norm
// weight/bias gradients are sums over 600 rows: several fixed row blocks).
TEST(Determinism, LayerNormAndSoftmaxIndependentOfThreadCount) {
    const int saved_threads = cpu::num_threads();
    Generator gen(7);
    Tensor x0 = Tensor::randn({600, 96}, DType::f32, &gen);
    Tensor w0 = Tensor::randn({96}, DType::f32, &gen), b0 = Tensor::randn({96}, DType::f32, &gen);
    Tensor gy = Tensor::randn({600, 96}, DType::f32, &gen);
    std::vector<std::vector<double>> first;
    for (int threads : {1, 2, 3, 4}) {
        cpu::set_num_threads(threads);
        Tensor x = x0.detach().set_requires_grad(true), w = w0.detach().set_requires_grad(true),
               b = b0.detach().set_requires_grad(true);
        Tensor y = layer_norm(x, {96}, w, b, 1e-6);
        Tensor s = softmax(y, 0);
        TensorList g = grad({s}, {x, w, b}, {gy});
        std::vector<std::vector<double>> got = {s.to_vector(), g[0].to_vector(), g[1].to_vector(), g[2].to_vector()};
        if (first.empty()) first = got;
        for (size_t k = 0; k < got.size(); ++k) EXPECT_EQ(got[k], first[k]) << "output " << k << " with " << threads << " threads";
    }
    cpu::set_num_threads(saved_threads);
}

}  // namespace wsdol::test
