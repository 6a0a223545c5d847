// cases_elementwise.cpp — op cases for the unary functions and activations, clamp, where, comparisons and logical
// ops of elementwise.cpp, plus gtest checks of the gradient conventions at kinks, ties and NaN that finite
// differences cannot see (PyTorch's choices there are conventions, not derivatives).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numbers>

#include "kernels/cpu/parallel.h"
#include "tests/ops/harness.h"

namespace wsdol::test {
namespace {

using UnaryFn = std::function<Tensor(const Tensor&)>;
using RealFn = std::function<double(double)>;

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

TensorList unary_ref(const Tensor& x, const RealFn& f, DType dtype) {
    Host h(x);
    for (double& v : h.v) v = f(v);
    return {h.tensor(dtype)};
}

// A case for y = fn(x) with the reference f applied per element; the output dtype is x's unless given.
OpCase unary_case(const std::string& op, const std::string& label, Tensor x, UnaryFn fn, RealFn f,
                  DType out_dtype = DType::f64) {
    if (!is_floating(x.dtype()) && out_dtype == DType::f64) out_dtype = x.dtype();
    OpCase c = make_case(op, label, {x}, [fn](const TensorList& in) -> TensorList { return {fn(in[0])}; },
                         [f, out_dtype](const TensorList& in) { return unary_ref(in[0], f, out_dtype); });
    if (!is_floating(x.dtype())) c.check_grad = false;
    return c;
}

// out = f(a, b) with NumPy broadcasting as a bool tensor (comparisons, logical ops): compared exactly.
OpCase predicate_case(const std::string& op, const std::string& label, Tensor a, Tensor b,
                      std::function<Tensor(const Tensor&, const Tensor&)> fn, std::function<bool(double, double)> f) {
    OpCase c = make_case(op, label, {a, b}, [fn](const TensorList& in) -> TensorList { return {fn(in[0], in[1])}; },
                         [f](const TensorList& in) -> TensorList {
                             Host ha(in[0]), hb(in[1]);
                             const Shape shape = broadcast_shapes("ref", in[0].shape(), in[1].shape());
                             Host out(shape);
                             for_each_index(shape, [&](const std::vector<int64_t>& i) {
                                 out.at(i) = f(broadcast_at(ha, i), broadcast_at(hb, i)) ? 1.0 : 0.0;
                             });
                             return {out.tensor(DType::boolean)};
                         });
    c.check_grad = false;
    return c;
}

// Multiples of 1/4 in [-1, 1]: exact ties between tensors, exact in f32 too.
Tensor quarter_steps(const Shape& shape, uint64_t seed, DType dtype = DType::f64) {
    Host h(rand_input(shape, seed, -1.0, 1.0));
    for (double& v : h.v) v = std::round(v * 4) / 4;
    return h.tensor(dtype);
}

Tensor bool_input(const Shape& shape, uint64_t seed) {
    Host h(rand_input(shape, seed, 0.0, 1.0));
    for (double& v : h.v) v = v < 0.5 ? 0.0 : 1.0;
    return h.tensor(DType::boolean);
}

Tensor values(const std::vector<double>& v, const Shape& shape, DType dtype = DType::f64) {
    return Tensor::from_vector(v, shape, dtype);
}

double sigmoid_ref(double v) { return 1.0 / (1.0 + std::exp(-v)); }

// The standard shape set for unary ops: plain, size-1 dims, 0-dim, empty.
void add_unary_shapes(std::vector<OpCase>& cases, const std::string& op, UnaryFn fn, RealFn f,
                      const std::function<Tensor(const Shape&, uint64_t)>& input, uint64_t seed) {
    cases.push_back(unary_case(op, "[3,4]", input({3, 4}, seed), fn, f));
    cases.push_back(unary_case(op, "[2,1,5] size-1 dim", input({2, 1, 5}, seed + 1), fn, f));
    cases.push_back(unary_case(op, "0-dim", input({}, seed + 2), fn, f));
    cases.push_back(unary_case(op, "empty [0,3]", input({0, 3}, seed + 3), fn, f));
    // Above parallel_for's grain for transcendental ops: the threaded path. Forward only (the loss over 5k
    // terms would blur central differences with rounding; the small cases check the gradient).
    OpCase big = unary_case(op, "large [96,50] (threaded)", input({96, 50}, seed + 4), fn, f);
    big.check_grad = false;
    cases.push_back(big);
}

// Integer pow reference is not needed here; comparisons of real numbers for the scalar overloads:
bool eq_ref(double x, double y) { return x == y; }
bool ne_ref(double x, double y) { return x != y; }
bool lt_ref(double x, double y) { return x < y; }
bool le_ref(double x, double y) { return x <= y; }
bool gt_ref(double x, double y) { return x > y; }
bool ge_ref(double x, double y) { return x >= y; }
bool truthy(double x) { return x != 0; }  // NaN is true

}  // namespace

WSDOL_OP_CASES(elementwise) {
    std::vector<OpCase> cases;
    auto signed_in = [](double lo, double hi) {
        return [lo, hi](const Shape& s, uint64_t seed) { return rand_input(s, seed, lo, hi); };
    };
    auto positive = [](const Shape& s, uint64_t seed) { return positive_input(s, seed, 0.3, 3.0); };
    auto away_from_zero = [](const Shape& s, uint64_t seed) { return rand_away_from(s, seed, {0.0}, 0.05); };

    // ---- smooth unary functions
    add_unary_shapes(cases, "exp", [](const Tensor& x) { return exp(x); }, [](double v) { return std::exp(v); },
                     signed_in(-3, 3), 200);
    add_unary_shapes(cases, "log", [](const Tensor& x) { return log(x); }, [](double v) { return std::log(v); },
                     positive, 210);
    add_unary_shapes(cases, "sqrt", [](const Tensor& x) { return sqrt(x); }, [](double v) { return std::sqrt(v); },
                     positive, 220);
    add_unary_shapes(cases, "rsqrt", [](const Tensor& x) { return rsqrt(x); },
                     [](double v) { return 1.0 / std::sqrt(v); }, positive, 230);
    add_unary_shapes(cases, "sigmoid", [](const Tensor& x) { return sigmoid(x); }, &sigmoid_ref, signed_in(-6, 6), 240);
    add_unary_shapes(cases, "tanh", [](const Tensor& x) { return tanh(x); }, [](double v) { return std::tanh(v); },
                     signed_in(-3, 3), 250);
    add_unary_shapes(cases, "gelu", [](const Tensor& x) { return gelu(x); },
                     [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); }, signed_in(-4, 4), 260);
    const double k = std::sqrt(2.0 / std::numbers::pi);
    add_unary_shapes(cases, "gelu", [](const Tensor& x) { return gelu(x, GeluApprox::tanh); },
                     [k](double v) { return 0.5 * v * (1 + std::tanh(k * (v + 0.044715 * v * v * v))); },
                     signed_in(-4, 4), 270);
    for (size_t i = cases.size() - 5; i < cases.size(); ++i) cases[i].label = "approximate=tanh " + cases[i].label;
    add_unary_shapes(cases, "quick_gelu", [](const Tensor& x) { return quick_gelu(x); },
                     [](double v) { return v * sigmoid_ref(1.702 * v); }, signed_in(-5, 5), 280);
    // Saturation: no overflow in exp, exact 0/1 limits, gradients 0 far out.
    const Tensor extreme = values({-800, -40, -15, 15, 40, 800}, {6});
    cases.push_back(unary_case("sigmoid", "saturated +-800", extreme, [](const Tensor& x) { return sigmoid(x); }, &sigmoid_ref));
    cases.push_back(unary_case("tanh", "saturated +-800", extreme, [](const Tensor& x) { return tanh(x); },
                               [](double v) { return std::tanh(v); }));
    cases.push_back(unary_case("quick_gelu", "saturated +-800", extreme, [](const Tensor& x) { return quick_gelu(x); },
                               [](double v) { return v * sigmoid_ref(1.702 * v); }));
    cases.push_back(unary_case("gelu", "saturated +-40", values({-40, -9, 9, 40}, {4}), [](const Tensor& x) { return gelu(x); },
                               [](double v) { return 0.5 * v * std::erfc(-v / std::sqrt(2.0)); }));

    // ---- piecewise functions, inputs kept away from their kinks
    add_unary_shapes(cases, "abs", [](const Tensor& x) { return abs(x); }, [](double v) { return std::fabs(v); },
                     away_from_zero, 300);
    add_unary_shapes(cases, "relu", [](const Tensor& x) { return relu(x); }, [](double v) { return v > 0 ? v : 0.0; },
                     away_from_zero, 310);
    add_unary_shapes(cases, "leaky_relu", [](const Tensor& x) { return leaky_relu(x); },
                     [](double v) { return v > 0 ? v : 0.01 * v; }, away_from_zero, 320);
    cases.push_back(unary_case("leaky_relu", "slope 0.2 [4,6]", away_from_zero({4, 6}, 330),
                               [](const Tensor& x) { return leaky_relu(x, 0.2); }, [](double v) { return v > 0 ? v : 0.2 * v; }));
    auto clamp_ref = [](double lo, double hi) {
        return [lo, hi](double v) { return std::isnan(v) ? v : std::min(std::max(v, lo), hi); };
    };
    cases.push_back(unary_case("clamp", "[-0.5, 0.7] on [4,6]", rand_away_from({4, 6}, 340, {-0.5, 0.7}, 0.02),
                               [](const Tensor& x) { return clamp(x, -0.5, 0.7); }, clamp_ref(-0.5, 0.7)));
    cases.push_back(unary_case("clamp", "[-inf, 0.3] one-sided, [2,1,5]", rand_away_from({2, 1, 5}, 341, {0.3}, 0.02),
                               [](const Tensor& x) { return clamp(x, -kInf, 0.3); }, clamp_ref(-kInf, 0.3)));
    cases.push_back(unary_case("clamp", "[-0.2, inf] one-sided, 0-dim", rand_away_from({}, 342, {-0.2}, 0.02),
                               [](const Tensor& x) { return clamp(x, -0.2, kInf); }, clamp_ref(-0.2, kInf)));
    cases.push_back(unary_case("clamp", "min > max gives max, [3,3]", rand_away_from({3, 3}, 343, {0.5, -0.5}, 0.02),
                               [](const Tensor& x) { return clamp(x, 0.5, -0.5); }, [](double) { return -0.5; }));
    cases.push_back(unary_case("clamp", "empty [0,2]", rand_input({0, 2}, 344),
                               [](const Tensor& x) { return clamp(x, -0.5, 0.5); }, clamp_ref(-0.5, 0.5)));
    {
        OpCase big = unary_case("clamp", "large [256,160] (threaded)", rand_input({256, 160}, 345),
                                [](const Tensor& x) { return clamp(x, -0.5, 0.5); }, clamp_ref(-0.5, 0.5));
        big.check_grad = false;
        cases.push_back(big);
    }

    // ---- NaN handling in the forward (PyTorch: relu, leaky_relu, clamp, abs pass NaN through)
    const Tensor with_nan = values({kNaN, -1.5, 0.25, kNaN, 2.0, -0.75}, {2, 3});
    auto nan_case = [&](const std::string& op, UnaryFn fn, RealFn f) {
        OpCase c = unary_case(op, "NaN passes through", with_nan, std::move(fn), std::move(f));
        c.check_grad = false;
        cases.push_back(c);
    };
    nan_case("relu", [](const Tensor& x) { return relu(x); }, [](double v) { return std::isnan(v) || v > 0 ? v : 0.0; });
    nan_case("leaky_relu", [](const Tensor& x) { return leaky_relu(x, 0.1); }, [](double v) { return v > 0 || std::isnan(v) ? v : 0.1 * v; });
    nan_case("clamp", [](const Tensor& x) { return clamp(x, -1.0, 1.0); }, clamp_ref(-1.0, 1.0));
    nan_case("abs", [](const Tensor& x) { return abs(x); }, [](double v) { return std::fabs(v); });

    // ---- integer inputs (exact): abs, relu, clamp keep the integer dtype
    const Tensor ints = values({-7, -2, -1, 0, 1, 3, 8, 100}, {2, 4}, DType::i64);
    cases.push_back(unary_case("abs", "int64", ints, [](const Tensor& x) { return abs(x); }, [](double v) { return std::fabs(v); }));
    cases.push_back(unary_case("relu", "int64", ints, [](const Tensor& x) { return relu(x); }, [](double v) { return v > 0 ? v : 0.0; }));
    cases.push_back(unary_case("clamp", "int64 [-2, 3]", ints, [](const Tensor& x) { return clamp(x, -2, 3); }, clamp_ref(-2, 3)));
    cases.push_back(unary_case("clamp", "int32 [-inf, 1] and out-of-range bound",
                               values({-7, -2, 0, 1, 3, 8}, {6}, DType::i32),
                               [](const Tensor& x) { return clamp(clamp(x, -kInf, 1), -1e12, 1e12); }, clamp_ref(-kInf, 1)));

    // ---- where: condition, a and b broadcast together
    auto where_ref = [](const TensorList& in) -> TensorList {
        Host c(in[0]), a(in[1]), b(in[2]);
        Shape shape = broadcast_shapes("ref", broadcast_shapes("ref", in[0].shape(), in[1].shape()), in[2].shape());
        Host out(shape);
        for_each_index(shape, [&](const std::vector<int64_t>& i) {
            out.at(i) = broadcast_at(c, i) != 0 ? broadcast_at(a, i) : broadcast_at(b, i);
        });
        return {out.tensor(in[1].dtype())};
    };
    auto where_run = [](const TensorList& in) -> TensorList { return {where(in[0], in[1], in[2])}; };
    auto where_case = [&](const std::string& label, Tensor c, Tensor a, Tensor b) {
        OpCase oc = make_case("where", label, {c, a, b}, where_run, where_ref);
        oc.check_grad = is_floating(a.dtype());
        cases.push_back(oc);
    };
    where_case("same shape [3,4]", bool_input({3, 4}, 400), rand_input({3, 4}, 401), rand_input({3, 4}, 402));
    where_case("broadcast c [3,1], a [1,4], b [3,4]", bool_input({3, 1}, 403), rand_input({1, 4}, 404), rand_input({3, 4}, 405));
    where_case("broadcast c [4], a 0-dim, b [2,3,4]", bool_input({4}, 406), rand_input({}, 407), rand_input({2, 3, 4}, 408));
    where_case("broadcast c [2,1,4], a [3,1], b [4]", bool_input({2, 1, 4}, 409), rand_input({3, 1}, 410), rand_input({4}, 411));
    where_case("0-dim condition", bool_input({}, 412), rand_input({2, 3}, 413), rand_input({2, 3}, 414));
    where_case("empty c [0,3], a [3], b [1]", bool_input({0, 3}, 415), rand_input({3}, 416), rand_input({1}, 417));
    where_case("large [256,160] (threaded)", bool_input({256, 160}, 418), rand_input({256, 160}, 419), rand_input({160}, 420));
    cases.back().check_grad = false;  // forward only: the small cases check the gradient
    where_case("int64", bool_input({3, 4}, 421), values({-5, 7, 9, 100}, {4}, DType::i64), values({1, 2, 3}, {3, 1}, DType::i64));
    where_case("int32", bool_input({2, 3}, 422), values({-5, 7, 9}, {3}, DType::i32), values({4}, {1}, DType::i32));
    where_case("bool", bool_input({2, 3}, 423), bool_input({2, 3}, 424), bool_input({3}, 425));

    // ---- comparisons: exact bool results; ties (quarter steps), NaN, integers, bools
    struct Cmp {
        const char* name;
        Tensor (*fn)(const Tensor&, const Tensor&);
        bool (*f)(double, double);
    };
    const Cmp cmps[] = {
        {"eq", [](const Tensor& a, const Tensor& b) { return eq(a, b); }, &eq_ref},
        {"ne", [](const Tensor& a, const Tensor& b) { return ne(a, b); }, &ne_ref},
        {"lt", [](const Tensor& a, const Tensor& b) { return lt(a, b); }, &lt_ref},
        {"le", [](const Tensor& a, const Tensor& b) { return le(a, b); }, &le_ref},
        {"gt", [](const Tensor& a, const Tensor& b) { return gt(a, b); }, &gt_ref},
        {"ge", [](const Tensor& a, const Tensor& b) { return ge(a, b); }, &ge_ref},
    };
    uint64_t seed = 500;
    for (const Cmp& c : cmps) {
        seed += 10;
        cases.push_back(predicate_case(c.name, "ties, [3,4] x [4]", quarter_steps({3, 4}, seed), quarter_steps({4}, seed + 1), c.fn, c.f));
        cases.push_back(predicate_case(c.name, "broadcast [2,1,3] x [4,1]", quarter_steps({2, 1, 3}, seed + 2), quarter_steps({4, 1}, seed + 3), c.fn, c.f));
        cases.push_back(predicate_case(c.name, "0-dim x [5]", quarter_steps({}, seed + 4), quarter_steps({5}, seed + 5), c.fn, c.f));
        cases.push_back(predicate_case(c.name, "empty [0,3] x [3]", quarter_steps({0, 3}, seed + 6), quarter_steps({3}, seed + 7), c.fn, c.f));
        cases.push_back(predicate_case(c.name, "NaN", values({kNaN, 1, kNaN, -kInf, 2, kInf}, {2, 3}), values({kNaN, 1, 0}, {3}), c.fn, c.f));
        cases.push_back(predicate_case(c.name, "int64", values({-3, 0, 2, 7, 2, -1}, {2, 3}, DType::i64), values({2, 0, -1}, {3}, DType::i64), c.fn, c.f));
        cases.push_back(predicate_case(c.name, "int32", values({-3, 0, 2, 7}, {4, 1}, DType::i32), values({2, 0, -3}, {3}, DType::i32), c.fn, c.f));
        cases.push_back(predicate_case(c.name, "bool", values({0, 1}, {2, 1}, DType::boolean), values({0, 1}, {2}, DType::boolean), c.fn, c.f));
        cases.push_back(predicate_case(c.name, "uint8", values({0, 5, 255}, {3, 1}, DType::u8), values({5, 254}, {2}, DType::u8), c.fn, c.f));
    }
    // Scalar overloads: compared as real numbers; floating tensors round the scalar to their dtype.
    struct ScalarCmp {
        const char* name;
        Tensor (*fn)(const Tensor&, double);
        bool (*f)(double, double);
    };
    const ScalarCmp scalar_cmps[] = {
        {"eq", [](const Tensor& a, double b) { return eq(a, b); }, &eq_ref},
        {"lt", [](const Tensor& a, double b) { return lt(a, b); }, &lt_ref},
        {"gt", [](const Tensor& a, double b) { return gt(a, b); }, &gt_ref},
    };
    struct ScalarInput {
        std::string label;
        Tensor x;
        std::vector<double> scalars;
    };
    const std::vector<ScalarInput> scalar_inputs = {
        {"float64", values({-1, -0.25, 0, 0.25, 0.5, kNaN, kInf}, {7}), {0.25, -0.3, 0.0, kNaN, kInf}},
        {"int64", values({-3, -2, -1, 0, 2, 3, 7}, {7}, DType::i64), {2.0, 2.5, -2.5, -2.0, 1e30, -1e30, kNaN, kInf, -kInf}},
        {"int32", values({-2147483648.0, -1, 0, 2147483647.0}, {4}, DType::i32), {2147483647.0, 2147483647.5, -2147483648.0, -2147483648.5, 1e10, -0.5}},
        {"uint8", values({0, 1, 200, 255}, {4}, DType::u8), {-1, 0.5, 200, 255, 256, 254.5}},
        {"bool", values({0, 1}, {2}, DType::boolean), {0.0, 1.0, 0.5, 2.0, -1.0}},
    };
    for (const ScalarCmp& c : scalar_cmps) {
        for (const ScalarInput& in : scalar_inputs) {
            OpCase oc = make_case(c.name, "scalar, " + in.label, {in.x},
                                  [fn = c.fn, s = in.scalars](const TensorList& x) {
                                      TensorList out;
                                      for (double b : s) out.push_back(fn(x[0], b));
                                      return out;
                                  },
                                  [f = c.f, s = in.scalars](const TensorList& x) {
                                      TensorList out;
                                      Host h(x[0]);
                                      for (double b : s) {
                                          Host r(h.shape);
                                          for (size_t i = 0; i < h.v.size(); ++i) r.v[i] = f(h.v[i], b) ? 1.0 : 0.0;
                                          out.push_back(r.tensor(DType::boolean));
                                      }
                                      return out;
                                  });
            oc.check_grad = false;
            cases.push_back(oc);
        }
    }

    // ---- logical ops: nonzero (NaN included) is true
    struct Logic {
        const char* name;
        Tensor (*fn)(const Tensor&, const Tensor&);
        bool (*f)(double, double);
    };
    const Logic logic[] = {
        {"logical_and", &logical_and, [](double x, double y) { return truthy(x) && truthy(y); }},
        {"logical_or", &logical_or, [](double x, double y) { return truthy(x) || truthy(y); }},
        {"logical_xor", &logical_xor, [](double x, double y) { return truthy(x) != truthy(y); }},
    };
    for (const Logic& l : logic) {
        cases.push_back(predicate_case(l.name, "float64 with 0 and NaN, [2,3] x [3]", values({0, 1.5, kNaN, 0, -2, 0}, {2, 3}),
                                       values({0, kNaN, 3}, {3}), l.fn, l.f));
        cases.push_back(predicate_case(l.name, "int64 [3,1] x [2]", values({0, 4, -1}, {3, 1}, DType::i64), values({0, 7}, {2}, DType::i64), l.fn, l.f));
        cases.push_back(predicate_case(l.name, "bool, 0-dim x [2,2]", values({1}, {}, DType::boolean), values({0, 1, 1, 0}, {2, 2}, DType::boolean), l.fn, l.f));
        cases.push_back(predicate_case(l.name, "empty [0,2] x [2]", values({}, {0, 2}), values({1, 0}, {2}), l.fn, l.f));
    }
    for (const auto& [label, x] : std::vector<std::pair<std::string, Tensor>>{
             {"float64 with 0 and NaN", values({0, 1.5, kNaN, -0.0, -2}, {5})},
             {"int64", values({0, 4, -1}, {3, 1}, DType::i64)},
             {"bool", values({0, 1}, {2}, DType::boolean)},
             {"empty", values({}, {0})}}) {
        cases.push_back(unary_case("logical_not", label, x, [](const Tensor& t) { return logical_not(t); },
                                   [](double v) { return v == 0 ? 1.0 : 0.0; }, DType::boolean));
        cases.back().check_grad = false;
    }
    return cases;
}

// ---------------------------------------------------------------- gradient conventions at non-smooth points
namespace {

// d sum(fn(x)) / dx at the given f64 values.
std::vector<double> grad_of(const std::function<Tensor(const Tensor&)>& fn, const std::vector<double>& x_values) {
    Tensor x = values(x_values, {static_cast<int64_t>(x_values.size())});
    x.set_requires_grad(true);
    return grad({sum(fn(x))}, {x})[0].to_vector();
}

void expect_same(const std::vector<double>& got, const std::vector<double>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
        if (std::isnan(want[i])) EXPECT_TRUE(std::isnan(got[i])) << "element " << i << ": " << got[i];
        else EXPECT_EQ(got[i], want[i]) << "element " << i;
    }
}

}  // namespace

TEST(ElementwiseGradConventions, KinksFollowPyTorch) {
    // relu: 0 at 0 (threshold_backward), 1 at NaN; abs: sgn, 0 at 0 and NaN; leaky_relu: slope at 0 and NaN.
    expect_same(grad_of([](const Tensor& x) { return relu(x); }, {-1, 0, 2, kNaN}), {0, 0, 1, 1});
    expect_same(grad_of([](const Tensor& x) { return abs(x); }, {-1, 0, -0.0, 2, kNaN}), {-1, 0, 0, 1, 0});
    expect_same(grad_of([](const Tensor& x) { return leaky_relu(x, 0.2); }, {-1, 0, 2, kNaN}), {0.2, 0.2, 1, 0.2});
    // clamp: 1 on [min, max] inclusive, 0 outside and at NaN; one-sided with inf bounds.
    expect_same(grad_of([](const Tensor& x) { return clamp(x, -0.5, 0.5); }, {-0.6, -0.5, 0, 0.5, 0.6, kNaN}),
                {0, 1, 1, 1, 0, 0});
    expect_same(grad_of([](const Tensor& x) { return clamp(x, -kInf, 0.5); }, {-1e300, 0.5, 0.6}), {1, 1, 0});
    expect_same(grad_of([](const Tensor& x) { return clamp(x, 1.0, -1.0); }, {-2, 0, 2}), {0, 0, 0});
    // pow with exponent 0: gradient 0 even at x = 0 (pow_backward), not 0 * 0^-1 = NaN.
    expect_same(grad_of([](const Tensor& x) { return pow(x, 0.0); }, {0, 2}), {0, 0});
    expect_same(grad_of([](const Tensor& x) { return pow(x, 0.5); }, {0, 4}), {kInf, 0.25});
}

TEST(ElementwiseGradConventions, MaximumMinimumTiesSplitEvenly) {
    Tensor a = values({1, 2, 3, kNaN}, {4}), b = values({1, 5, 0, 1}, {4});
    a.set_requires_grad(true);
    b.set_requires_grad(true);
    TensorList g = grad({sum(maximum(a, b))}, {a, b});
    expect_same(g[0].to_vector(), {0.5, 0, 1, 1});  // NaN: both sides get the full gradient (PyTorch)
    expect_same(g[1].to_vector(), {0.5, 1, 0, 1});
    g = grad({sum(minimum(a, b))}, {a, b});
    expect_same(g[0].to_vector(), {0.5, 1, 0, 1});
    expect_same(g[1].to_vector(), {0.5, 0, 1, 1});
}

TEST(ElementwiseGradConventions, PowTensorZeroBaseAndZeroExponent) {
    // a: where(b == 0, 0, g b a^(b-1)); b: where(a == 0 && b >= 0, 0, g a^b log a).
    Tensor a = values({0, 0, 2, 0}, {4}), b = values({0, 2, 0, -1}, {4});
    a.set_requires_grad(true);
    b.set_requires_grad(true);
    TensorList g = grad({sum(pow(a, b))}, {a, b});
    expect_same(g[0].to_vector(), {0, 0, 0, -kInf});
    expect_same(g[1].to_vector(), {0, 0, std::log(2.0), -kInf});  // 0^-1 * log 0 = inf * -inf
}

TEST(ElementwiseGradConventions, WhereMasksAndSumsToOperandShapes) {
    Tensor c = values({1, 0, 1}, {3}, DType::boolean);
    Tensor a = values({2}, {1}), b = values({1, 2, 3, 4, 5, 6}, {2, 3});
    a.set_requires_grad(true);
    b.set_requires_grad(true);
    TensorList g = grad({sum(where(c, a, b))}, {a, b});
    expect_same(g[0].to_vector(), {4});  // two rows x two true positions
    expect_same(g[1].to_vector(), {0, 1, 0, 0, 1, 0});
}

TEST(ElementwiseGradConventions, ComparisonsAndLogicalOpsAreNotRecorded) {
    Tensor a = values({1, 2, 3}, {3});
    a.set_requires_grad(true);
    for (const Tensor& r : {eq(a, a), ne(a, a), lt(a, 2.0), gt(a, 2.0), eq(a, 2.0), le(a, a), ge(a, a),
                            logical_and(a, a), logical_or(a, a), logical_xor(a, a), logical_not(a)}) {
        EXPECT_EQ(r.dtype(), DType::boolean);
        EXPECT_FALSE(r.requires_grad());
        EXPECT_EQ(r.grad_fn(), nullptr);
    }
}

TEST(ElementwiseGradConventions, GeluBackwardMatchesClosedForm) {
    // The fused kernel vs the textbook derivative, f32 and f64, across the range ViT activations take.
    std::vector<double> xs;
    for (int i = -60; i <= 60; ++i) xs.push_back(i * 0.1);
    const double k = std::sqrt(2.0 / std::numbers::pi);
    for (DType dt : {DType::f64, DType::f32}) {
        for (GeluApprox approx : {GeluApprox::none, GeluApprox::tanh}) {
            Tensor x = values(xs, {static_cast<int64_t>(xs.size())}, dt);
            x.set_requires_grad(true);
            const std::vector<double> g = grad({sum(gelu(x, approx))}, {x})[0].to_vector();
            for (size_t i = 0; i < xs.size(); ++i) {
                const double v = dt == DType::f32 ? static_cast<double>(static_cast<float>(xs[i])) : xs[i];
                const double want = approx == GeluApprox::none
                    ? 0.5 * (1 + std::erf(v / std::sqrt(2.0))) + v * std::exp(-0.5 * v * v) / std::sqrt(2 * std::numbers::pi)
                    : [&] {
                          const double t = std::tanh(k * (v + 0.044715 * v * v * v));
                          return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * k * (1 + 3 * 0.044715 * v * v);
                      }();
                EXPECT_NEAR(g[i], want, dt == DType::f64 ? 1e-14 : 2e-6) << "x = " << v;
            }
        }
    }
}

// ---------------------------------------------------------------- f32 vector math accuracy
// The f32 kernels of exp, tanh, sigmoid and the gelus use the branch-free vectorizable math of
// kernels/cpu/elementwise.cpp, not the C library. A dense sweep against f64 references bounds their error:
// in ulps of the f32 result where the formula is well conditioned, and absolutely where the formula itself
// cancels (1 + tanh for the tanh gelu, the derivatives near their roots: PyTorch's f32 formulas cancel the same).
namespace {

double ulp_f32(double ref) {
    const float r = std::fabs(static_cast<float>(ref));
    if (r < std::numeric_limits<float>::min()) return std::ldexp(1.0, -149);  // subnormal spacing
    return std::nextafter(r, std::numeric_limits<float>::infinity()) - r;
}

struct F32Sweep {
    std::vector<double> x;  // f32-representable values
    Tensor t;
    F32Sweep() {
        for (int i = -90000; i <= 90000; ++i) x.push_back(static_cast<float>(i * 1.3e-3));  // [-117, 117]
        for (double v : {0.0, -0.0, 1e-30, -1e-30, 1e-7, -1e-7, 0.6249, 0.6251, -0.6251, 88.72, -87.4, -103.5,
                         -120.0, 200.0})
            x.push_back(static_cast<float>(v));
        t = values(x, {static_cast<int64_t>(x.size())}, DType::f32);
    }
};

// Checks got (f32) against ref(x) in f64 with the bound bound(x, ref); inf and NaN must match exactly.
void expect_f32_within(const char* what, const F32Sweep& s, const Tensor& got, const RealFn& ref,
                       const std::function<double(double, double)>& bound) {
    ASSERT_EQ(got.dtype(), DType::f32);
    const std::vector<double> v = got.to_vector();
    double worst = 0, worst_x = 0;
    for (size_t i = 0; i < v.size(); ++i) {
        const double r = ref(s.x[i]);
        const double rf = static_cast<float>(r);  // the f32 range: overflow means inf
        if (std::isnan(r) || std::isinf(rf)) {
            ASSERT_TRUE(std::isnan(r) ? std::isnan(v[i]) : v[i] == rf) << what << "(" << s.x[i] << ") = " << v[i];
            continue;
        }
        const double ratio = std::fabs(v[i] - r) / bound(s.x[i], r);
        if (ratio > worst) { worst = ratio; worst_x = s.x[i]; }
    }
    EXPECT_LE(worst, 1.0) << what << ": worst at x = " << worst_x << " (" << worst << " x the bound)";
}

double phi_cdf(double v) { return 0.5 * std::erfc(-v / std::sqrt(2.0)); }
double phi_pdf(double v) { return std::exp(-0.5 * v * v) / std::sqrt(2 * std::numbers::pi); }
double gelu_tanh_inner(double v) { return std::sqrt(2 / std::numbers::pi) * (v + 0.044715 * v * v * v); }

}  // namespace

TEST(F32VectorMath, ExpTanhSigmoidWithinUlps) {
    const F32Sweep s;
    auto ulps = [](double n) { return [n](double, double r) { return n * ulp_f32(r); }; };
    expect_f32_within("exp", s, exp(s.t), [](double v) { return std::exp(v); }, ulps(1.5));
    expect_f32_within("tanh", s, tanh(s.t), [](double v) { return std::tanh(v); }, ulps(2));
    expect_f32_within("sigmoid", s, sigmoid(s.t), [](double v) { return 1 / (1 + std::exp(-v)); }, ulps(3));
    // quick_gelu: the rounding of 1.702 x (relative 2^-24, times the exponent's size) is inherent to the formula,
    // and below x = -51 the sigmoid factor is subnormal (its quantum 2^-149, times |x|).
    expect_f32_within("quick_gelu", s, quick_gelu(s.t), [](double v) { return v / (1 + std::exp(-1.702 * v)); },
                      [](double v, double r) {
                          return 4 * ulp_f32(r) + std::fabs(r) * 1.2e-7 * 1.702 * std::fabs(v) + std::fabs(v) * 1.5e-45;
                      });
    // Special values.
    const Tensor sp = values({-kInf, kInf, kNaN}, {3}, DType::f32);
    const std::vector<double> e = exp(sp).to_vector(), th = tanh(sp).to_vector(), sg = sigmoid(sp).to_vector();
    EXPECT_EQ(e[0], 0.0);
    EXPECT_EQ(e[1], kInf);
    EXPECT_TRUE(std::isnan(e[2]));
    EXPECT_EQ(th[0], -1.0);
    EXPECT_EQ(th[1], 1.0);
    EXPECT_TRUE(std::isnan(th[2]));
    EXPECT_EQ(sg[0], 0.0);
    EXPECT_EQ(sg[1], 1.0);
    EXPECT_TRUE(std::isnan(sg[2]));
}

TEST(F32VectorMath, GeluForwardAndBackward) {
    const F32Sweep s;
    // Exact gelu: the negative tail is computed directly (not as 1 + erf), so it stays accurate relatively;
    // beyond |x| = 5 the rounding of x^2 in e^(-x^2/2) costs ~x^2 2^-24.
    expect_f32_within("gelu", s, gelu(s.t), [](double v) { return v * phi_cdf(v); }, [](double v, double r) {
        return (v >= -5 ? 16 * ulp_f32(r) : std::fabs(r) * 1e-5) + 1e-38;
    });
    expect_f32_within("gelu(tanh)", s, gelu(s.t, GeluApprox::tanh),
                      [](double v) { return 0.5 * v * (1 + std::tanh(gelu_tanh_inner(v))); },
                      [](double v, double r) { return 4 * ulp_f32(r) + 1.2e-7 * std::fabs(v); });  // 1 + tanh cancels
    // Derivatives through autograd (the fused unary_backward kernel), as d sum(y) / dx.
    const Tensor ones = Tensor::ones(s.t.shape());
    Tensor x = s.t.detach();
    x.set_requires_grad(true);
    const F32Sweep& sw = s;
    auto deriv = [&](const std::function<Tensor(const Tensor&)>& fn) { return grad({fn(x)}, {x}, {ones})[0]; };
    const auto abs_bound = [](double, double r) { return 2e-6 * std::max(1.0, std::fabs(r)); };
    expect_f32_within("gelu'", sw, deriv([](const Tensor& t) { return gelu(t); }),
                      [](double v) { return phi_cdf(v) + v * phi_pdf(v); }, abs_bound);
    expect_f32_within("gelu(tanh)'", sw, deriv([](const Tensor& t) { return gelu(t, GeluApprox::tanh); }),
                      [](double v) {
                          const double t = std::tanh(gelu_tanh_inner(v));
                          return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * std::sqrt(2 / std::numbers::pi) * (1 + 3 * 0.044715 * v * v);
                      }, abs_bound);
    expect_f32_within("quick_gelu'", sw, deriv([](const Tensor& t) { return quick_gelu(t); }),
                      [](double v) {
                          const double sg = 1 / (1 + std::exp(-1.702 * v));
                          return sg + 1.702 * v * sg * (1 - sg);
                      }, abs_bound);
    expect_f32_within("sigmoid'", sw, deriv([](const Tensor& t) { return sigmoid(t); }),
                      [](double v) { const double sg = 1 / (1 + std::exp(-v)); return sg * (1 - sg); },
                      // y (1 - y) from the f32 output y, as PyTorch: 1 - y inherits y's absolute error near 1,
                      // <= 3 ulps of 1 (the sigmoid bound above), 1.8e-7.
                      [](double, double r) { return 4 * ulp_f32(r) + 2e-7; });
    expect_f32_within("tanh'", sw, deriv([](const Tensor& t) { return tanh(t); }),
                      [](double v) { const double t = std::tanh(v); return 1 - t * t; }, abs_bound);
}

TEST(F32VectorMath, SameBitsForAnyThreadCountAndAlignment) {
    // Each element is computed by one lane with a fixed sequence of IEEE operations, so neither the thread split
    // nor where an element falls (vector body or scalar remainder, after a 1-element shift) changes a bit.
    Generator gen(7);
    const Tensor base = Tensor::uniform({70001}, -9.0, 9.0, DType::f32, &gen);
    const Tensor x = base.slice(0, 0, 70000), shifted = base.slice(0, 1, 70001);
    const std::vector<std::function<Tensor(const Tensor&)>> fns = {
        [](const Tensor& t) { return exp(t); },        [](const Tensor& t) { return tanh(t); },
        [](const Tensor& t) { return sigmoid(t); },    [](const Tensor& t) { return gelu(t); },
        [](const Tensor& t) { return gelu(t, GeluApprox::tanh); },
        [](const Tensor& t) { return quick_gelu(t); },
        [](const Tensor& t) {  // the fused backward
            Tensor l = t.detach();
            l.set_requires_grad(true);
            return grad({gelu(l)}, {l}, {Tensor::ones(l.shape())})[0];
        },
    };
    const int threads = cpu::num_threads();
    for (size_t k = 0; k < fns.size(); ++k) {
        cpu::set_num_threads(1);
        const std::vector<double> one = fns[k](x).to_vector();
        const std::vector<double> shift = fns[k](shifted).to_vector();
        cpu::set_num_threads(std::max(2, threads));
        const std::vector<double> many = fns[k](x).to_vector();
        cpu::set_num_threads(threads);
        EXPECT_EQ(one, many) << "function " << k << ": thread count changed the result";
        for (size_t i = 0; i + 1 < one.size(); ++i)
            ASSERT_EQ(one[i + 1], shift[i]) << "function " << k << ", element " << i + 1 << " at another alignment";
    }
}

}  // namespace wsdol::test
