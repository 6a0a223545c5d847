// test_op_registry.cpp — runs every op case in every mode (see harness.h) and checks coverage of the registry.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "tests/ops/harness.h"

namespace wsdol::test {
namespace {

std::vector<size_t> case_indices() {
    std::vector<size_t> idx(all_cases().size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    return idx;
}

std::string case_name(const testing::TestParamInfo<size_t>& info) {
    const OpCase& c = all_cases()[info.param];
    std::string s = c.op + "_" + c.label;
    for (char& ch : s)
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
    return s + "_" + std::to_string(info.param);
}

TensorList cast_floating(const TensorList& xs, DType dtype) {
    TensorList out;
    for (const Tensor& x : xs) out.push_back(x.defined() && is_floating(x.dtype()) ? x.to(dtype) : x);
    return out;
}

// Compares outputs; floating within tol*(1+|b|), others exactly. Reports the worst element.
void expect_close(const TensorList& got, const TensorList& want, double tol, const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << what << ": number of outputs";
    for (size_t k = 0; k < got.size(); ++k) {
        if (!want[k].defined()) continue;
        ASSERT_TRUE(got[k].defined()) << what << ": output " << k << " undefined";
        ASSERT_EQ(got[k].shape(), want[k].shape()) << what << ": output " << k << " shape "
                                                   << shape_str(got[k].shape()) << " vs " << shape_str(want[k].shape());
        const std::vector<double> a = got[k].to_vector(), b = want[k].to_vector();
        const bool exact = !is_floating(got[k].dtype()) || !is_floating(want[k].dtype());
        double worst = 0;
        size_t worst_i = 0;
        for (size_t i = 0; i < a.size(); ++i) {
            if (std::isnan(b[i])) {
                ASSERT_TRUE(std::isnan(a[i])) << what << ": output " << k << "[" << i << "] expected NaN, got " << a[i];
                continue;
            }
            ASSERT_FALSE(std::isnan(a[i])) << what << ": output " << k << "[" << i << "] is NaN, expected " << b[i];
            if (std::isinf(b[i])) {
                ASSERT_EQ(a[i], b[i]) << what << ": output " << k << "[" << i << "]";
                continue;
            }
            const double err = std::fabs(a[i] - b[i]) / ((exact ? 0.0 : tol) * (1 + std::fabs(b[i])) + 1e-300);
            if (exact) {
                ASSERT_EQ(a[i], b[i]) << what << ": output " << k << "[" << i << "] (exact)";
            } else if (err > worst) {
                worst = err;
                worst_i = i;
            }
        }
        EXPECT_LE(worst, 1.0) << what << ": output " << k << "[" << worst_i << "] = " << a[worst_i] << ", expected "
                              << b[worst_i] << " (error " << worst << " x the bound " << tol << "*(1+|b|))";
    }
}

// Doubled strides with garbage in between: the same values, non-contiguous.
Tensor make_strided(const Tensor& t) {
    if (t.numel() <= 1) return t;
    Shape s = t.shape();
    s.push_back(2);
    Tensor base = Tensor::full(s, is_floating(t.dtype()) ? 1e30 : 7, t.dtype());
    base.select(-1, 0).copy_(t);
    base.select(-1, 1).fill_(is_floating(t.dtype()) ? std::nan("") : 3);
    return base.select(-1, 0);
}

// L = sum_k <w_k, out_k> over floating outputs, with fixed pseudo-random weights.
Tensor weighted_loss(const TensorList& outs) {
    Tensor loss;
    for (size_t k = 0; k < outs.size(); ++k) {
        if (!outs[k].defined() || !is_floating(outs[k].dtype())) continue;
        Tensor w = rand_input(outs[k].shape(), 1000 + k, 0.5, 1.5).to(outs[k].dtype());
        Tensor term = sum(mul(outs[k], w));
        loss = loss.defined() ? add(loss, term) : term;
    }
    return loss;
}

std::vector<int> grad_inputs(const OpCase& c) {
    std::vector<int> idx;
    for (size_t i = 0; i < c.inputs.size(); ++i) {
        const Tensor& x = c.inputs[i];
        bool skip = std::find(c.no_grad_inputs.begin(), c.no_grad_inputs.end(), static_cast<int>(i)) != c.no_grad_inputs.end();
        if (x.defined() && is_floating(x.dtype()) && x.numel() > 0 && !skip) idx.push_back(static_cast<int>(i));
    }
    return idx;
}

// Analytic gradients of weighted_loss wrt the chosen inputs (each made a fresh leaf).
TensorList analytic_grads(const OpCase& c, const TensorList& inputs, const std::vector<int>& which) {
    TensorList leaves = inputs;
    TensorList targets;
    for (int i : which) {
        leaves[i] = inputs[i].detach();
        leaves[i].set_requires_grad(true);
        targets.push_back(leaves[i]);
    }
    Tensor loss = weighted_loss(c.run(leaves));
    if (!loss.defined() || !loss.requires_grad()) return TensorList(which.size());
    return grad({loss}, targets);
}

class OpForward : public testing::TestWithParam<size_t> {};
class OpStrided : public testing::TestWithParam<size_t> {};
class OpGradient : public testing::TestWithParam<size_t> {};

TEST_P(OpForward, MatchesReference) {
    const OpCase& c = all_cases()[GetParam()];
    SCOPED_TRACE(c.op + " / " + c.label);
    const TensorList want = c.reference(c.inputs);
    TensorList got;
    {
        NoGradGuard no_grad;
        got = c.run(c.inputs);
    }
    expect_close(got, want, c.fwd_tol_f64, "f64");
    if (c.check_f32) {
        NoGradGuard no_grad;
        expect_close(c.run(cast_floating(c.inputs, DType::f32)), want, c.fwd_tol_f32, "f32");
    }
}

TEST_P(OpStrided, SameAsContiguous) {
    const OpCase& c = all_cases()[GetParam()];
    if (!c.check_strided) GTEST_SKIP() << "case opts out of the strided check";
    SCOPED_TRACE(c.op + " / " + c.label);
    TensorList strided;
    for (const Tensor& x : c.inputs) strided.push_back(x.defined() ? make_strided(x) : x);
    TensorList want, got;
    {
        NoGradGuard no_grad;
        want = c.run(c.inputs);
        got = c.run(strided);
    }
    expect_close(got, want, 1e-12, "strided forward");
    if (c.check_grad) {
        const std::vector<int> which = grad_inputs(c);
        expect_close(analytic_grads(c, strided, which), analytic_grads(c, c.inputs, which), 1e-12, "strided grad");
    }
}

TEST_P(OpGradient, MatchesFiniteDifferences) {
    const OpCase& c = all_cases()[GetParam()];
    if (!c.check_grad) GTEST_SKIP() << "not differentiable";
    SCOPED_TRACE(c.op + " / " + c.label);
    const std::vector<int> which = grad_inputs(c);
    const TensorList analytic = analytic_grads(c, c.inputs, which);
    for (size_t w = 0; w < which.size(); ++w) {
        const int i = which[w];
        const Tensor& x = c.inputs[i];
        ASSERT_TRUE(analytic[w].defined()) << "no gradient reached input " << i;
        ASSERT_EQ(analytic[w].shape(), x.shape());
        const std::vector<double> a = analytic[w].to_vector();
        std::vector<double> base = x.to_vector();
        const int64_t n = x.numel();
        const int64_t step = std::max<int64_t>(1, n / 200);  // at most ~200 probed elements per input
        for (int64_t e = 0; e < n; e += step) {
            auto loss_at = [&](double delta) {
                std::vector<double> v = base;
                v[e] += delta;
                TensorList in = c.inputs;
                in[i] = Tensor::from_vector(v, x.shape(), x.dtype());
                NoGradGuard no_grad;
                Tensor l = weighted_loss(c.run(in));
                return l.defined() ? l.item() : 0.0;
            };
            const double numeric = (loss_at(c.fd_eps) - loss_at(-c.fd_eps)) / (2 * c.fd_eps);
            EXPECT_LE(std::fabs(a[e] - numeric), c.grad_tol * (1 + std::fabs(numeric)))
                << "input " << i << " element " << e << ": analytic " << a[e] << " vs numeric " << numeric;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Ops, OpForward, testing::ValuesIn(case_indices()), case_name);
INSTANTIATE_TEST_SUITE_P(Ops, OpStrided, testing::ValuesIn(case_indices()), case_name);
INSTANTIATE_TEST_SUITE_P(Ops, OpGradient, testing::ValuesIn(case_indices()), case_name);

TEST(OpRegistry, EveryOpHasCases) {
    std::map<std::string, int> cases, grad_cases;
    for (const OpCase& c : all_cases()) {
        EXPECT_TRUE(find_op(c.op)) << "case '" << c.label << "' names op '" << c.op << "', which is not registered";
        ++cases[c.op];
        if (c.check_grad) ++grad_cases[c.op];
    }
    std::string listing;
    for (const OpSpec& op : op_registry()) {
        EXPECT_GT(cases[op.name], 0) << "op '" << op.name << "' (" << op.family << ") has no test case";
        if (op.differentiable) {
            EXPECT_GT(grad_cases[op.name], 0) << "differentiable op '" << op.name << "' has no gradient-checked case";
        }
        listing += "  " + op.family + "/" + op.name + ": " + std::to_string(cases[op.name]) + " cases, " +
                   std::to_string(grad_cases[op.name]) + " gradient-checked\n";
    }
    std::printf("op registry: %zu ops, %zu cases\n%s", op_registry().size(), all_cases().size(), listing.c_str());
}

}  // namespace
}  // namespace wsdol::test
