// cases_arith.cpp — op cases for the arithmetic ops of elementwise.cpp: add/sub/mul/div and their scalar forms,
// pow (tensor and scalar exponent), maximum and minimum.
#include <cmath>
#include <cstdio>
#include <tuple>

#include "tests/ops/harness.h"

namespace wsdol::test {
namespace {

using BinaryFn = Tensor (*)(const Tensor&, const Tensor&);

// out = f(a, b) with NumPy broadcasting, computed on host values; result in `dtype`.
TensorList binary_ref(const Tensor& a, const Tensor& b, const std::function<double(double, double)>& f,
                      DType dtype = DType::f64) {
    Host ha(a), hb(b);
    Shape shape = broadcast_shapes("ref", a.shape(), b.shape());
    Host out(shape);
    for_each_index(shape, [&](const std::vector<int64_t>& i) { out.at(i) = f(broadcast_at(ha, i), broadcast_at(hb, i)); });
    return {out.tensor(dtype)};
}

TensorList unary_ref(const Tensor& x, const std::function<double(double)>& f, DType dtype = DType::f64) {
    Host h(x);
    for (double& v : h.v) v = f(v);
    return {h.tensor(dtype)};
}

OpCase binary_case(const std::string& op, const std::string& label, Tensor a, Tensor b, BinaryFn fn,
                   std::function<double(double, double)> f) {
    const DType out_dtype = a.dtype();
    return make_case(op, label, {a, b}, [fn](const TensorList& in) -> TensorList { return {fn(in[0], in[1])}; },
                     [f, out_dtype](const TensorList& in) { return binary_ref(in[0], in[1], f, out_dtype); });
}

// Uniform values rounded to multiples of 1/4 in [-1, 1]: many exact ties between two such tensors, and every
// non-tie differs by >= 0.25 (far beyond the finite-difference step).
Tensor quarter_steps(const Shape& shape, uint64_t seed) {
    Host h(rand_input(shape, seed, -1.0, 1.0));
    for (double& v : h.v) v = std::round(v * 4) / 4;
    return h.tensor();
}

Tensor integers(const std::vector<double>& values, const Shape& shape, DType dtype = DType::i64) {
    return Tensor::from_vector(values, shape, dtype);
}

std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

// PyTorch's integer pow (powi): negative exponents give 1 for base 1, +-1 for base -1, else 0.
double int_pow_ref(double a, double b) {
    if (b < 0) return a == 1 ? 1 : a == -1 ? (std::fmod(-b, 2) == 0 ? 1 : -1) : 0;
    return std::pow(a, b);
}

// maximum/minimum reference: NaN from either side propagates.
double max_ref(double x, double y) { return std::isnan(x) || std::isnan(y) ? std::nan("") : (x > y ? x : y); }
double min_ref(double x, double y) { return std::isnan(x) || std::isnan(y) ? std::nan("") : (x < y ? x : y); }

}  // namespace

WSDOL_OP_CASES(arith) {
    std::vector<OpCase> cases;
    struct Binary {
        const char* name;
        BinaryFn fn;
        double (*f)(double, double);
        bool positive_rhs;  // div: keep the divisor away from 0; pow: keep the base positive (lhs)
    };
    const Binary ops[] = {
        {"add", [](const Tensor& a, const Tensor& b) { return add(a, b); }, [](double x, double y) { return x + y; }, false},
        {"sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); }, [](double x, double y) { return x - y; }, false},
        {"mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); }, [](double x, double y) { return x * y; }, false},
        {"div", [](const Tensor& a, const Tensor& b) { return div(a, b); }, [](double x, double y) { return x / y; }, true},
        {"maximum", &maximum, &max_ref, false},
        {"minimum", &minimum, &min_ref, false},
    };
    uint64_t seed = 10;
    for (const Binary& op : ops) {
        auto rhs = [&](const Shape& s) { return op.positive_rhs ? positive_input(s, ++seed) : rand_input(s, ++seed); };
        cases.push_back(binary_case(op.name, "same shape [3,4]", rand_input({3, 4}, ++seed), rhs({3, 4}), op.fn, op.f));
        cases.push_back(binary_case(op.name, "broadcast [2,3,4] x [3,1]", rand_input({2, 3, 4}, ++seed), rhs({3, 1}), op.fn, op.f));
        cases.push_back(binary_case(op.name, "broadcast [4] x [2,1,4] (size-1 lead)", rand_input({4}, ++seed), rhs({2, 1, 4}), op.fn, op.f));
        cases.push_back(binary_case(op.name, "0-dim x [5]", rand_input({}, ++seed), rhs({5}), op.fn, op.f));
        cases.push_back(binary_case(op.name, "empty [0,3] x [3]", rand_input({0, 3}, ++seed), rhs({3}), op.fn, op.f));
        // Above parallel_for's grain: the threaded path. Forward only (the small cases check the gradient; a
        // 40k-term loss would blur central differences with rounding).
        OpCase big = binary_case(op.name, "large [256,160] x [160] (threaded)", rand_input({256, 160}, ++seed), rhs({160}), op.fn, op.f);
        big.check_grad = false;
        cases.push_back(big);
    }

    // ---- integer arithmetic (exact)
    const Tensor ia = integers({-3, -1, 0, 2, 5, 7}, {2, 3}), ib = integers({2, -4, 6}, {3});
    for (const Binary& op : ops) {
        if (op.positive_rhs) continue;  // div has no integer form
        OpCase c = binary_case(op.name, "int64 [2,3] x [3]", ia, ib, op.fn, op.f);
        c.check_grad = false;
        cases.push_back(c);
    }

    // ---- maximum/minimum: exact ties (gradient split evenly; central differences see exactly 1/2 at a tie) and NaN
    cases.push_back(binary_case("maximum", "ties, broadcast [3,4] x [4]", quarter_steps({3, 4}, 90), quarter_steps({4}, 91), &maximum, &max_ref));
    cases.push_back(binary_case("minimum", "ties, broadcast [3,4] x [4]", quarter_steps({3, 4}, 92), quarter_steps({4}, 93), &minimum, &min_ref));
    const double nan = std::nan("");
    const Tensor na = Tensor::from_vector({nan, 1.0, -2.0, nan, 0.5, 3.0}, {2, 3}, DType::f64);
    const Tensor nb = Tensor::from_vector({0.0, nan, -1.0}, {3}, DType::f64);
    for (auto [name, fn, f] : {std::tuple{"maximum", &maximum, &max_ref}, std::tuple{"minimum", &minimum, &min_ref}}) {
        OpCase c = binary_case(name, "NaN propagates from either side", na, nb, fn, f);
        c.check_grad = false;  // NaN outputs
        cases.push_back(c);
    }

    // ---- pow(tensor, tensor): positive bases, exponents of both signs
    const BinaryFn pow_tt = [](const Tensor& a, const Tensor& b) { return pow(a, b); };
    const auto pow_f = [](double x, double y) { return std::pow(x, y); };
    cases.push_back(binary_case("pow", "same shape [3,4]", positive_input({3, 4}, 100), rand_input({3, 4}, 101, -2, 2), pow_tt, pow_f));
    cases.push_back(binary_case("pow", "broadcast [2,3,4] x [3,1]", positive_input({2, 3, 4}, 102), rand_input({3, 1}, 103, -2, 2), pow_tt, pow_f));
    cases.push_back(binary_case("pow", "broadcast [4] x [2,1,4]", positive_input({4}, 104), rand_input({2, 1, 4}, 105, -2, 2), pow_tt, pow_f));
    cases.push_back(binary_case("pow", "0-dim base x [5]", positive_input({}, 106), rand_input({5}, 107, -2, 2), pow_tt, pow_f));
    cases.push_back(binary_case("pow", "empty [0,3] x [3]", positive_input({0, 3}, 108), rand_input({3}, 109), pow_tt, pow_f));
    {
        // Zero bases: PyTorch's exponent gradient is 0 where a == 0 and b >= 0 (not 0 * log 0 = NaN), which central
        // differences confirm (0^(b +- eps) = 0). The base gradient is not checked here: (-eps)^b is NaN.
        OpCase c = binary_case("pow", "zero bases, exponent gradient only",
                               Tensor::from_vector({0.0, 1.5, 0.0, 0.7, 0.0, 2.0}, {2, 3}, DType::f64),
                               rand_input({2, 3}, 110, 0.5, 2.0), pow_tt, pow_f);
        c.no_grad_inputs = {0};
        cases.push_back(c);
    }
    {
        OpCase c = binary_case("pow", "int64 incl. negative exponents (PyTorch powi)",
                               integers({-3, -2, -1, 0, 1, 2, 3, 4}, {8, 1}), integers({-3, -2, -1, 0, 1, 2, 5}, {7}),
                               pow_tt, &int_pow_ref);
        c.check_grad = false;
        cases.push_back(c);
    }

    // ---- pow(tensor, scalar): PyTorch's special exponents and general ones
    for (double e : {2.0, 3.0, 0.5, -0.5, -1.0, -2.0, 1.0, 0.0, 2.7, -1.3}) {
        const std::string label = "x^" + num(e);
        cases.push_back(make_case("pow_scalar", label + ", positive [3,4]", {positive_input({3, 4}, 120 + static_cast<uint64_t>(e * 10 + 50))},
                                  [e](const TensorList& in) -> TensorList { return {pow(in[0], e)}; },
                                  [e](const TensorList& in) { return unary_ref(in[0], [e](double v) { return std::pow(v, e); }); }));
    }
    for (double e : {2.0, 3.0, 0.0, 1.0, -1.0}) {  // integral exponents on signed inputs (kept away from 0 for 1/x)
        cases.push_back(make_case("pow_scalar", "x^" + num(e) + ", signed [2,5]", {rand_away_from({2, 5}, 130, {0.0}, 0.2)},
                                  [e](const TensorList& in) -> TensorList { return {pow(in[0], e)}; },
                                  [e](const TensorList& in) { return unary_ref(in[0], [e](double v) { return std::pow(v, e); }); }));
    }
    cases.push_back(make_case("pow_scalar", "x^2.5, empty [0,4]", {positive_input({0, 4}, 131)},
                              [](const TensorList& in) -> TensorList { return {pow(in[0], 2.5)}; },
                              [](const TensorList& in) { return unary_ref(in[0], [](double v) { return std::pow(v, 2.5); }); }));
    {
        OpCase c = make_case("pow_scalar", "int64 x^3 and x^0", {integers({-4, -1, 0, 3, 9, 100}, {2, 3})},
                             [](const TensorList& in) -> TensorList { return {pow(in[0], 3.0), pow(in[0], 0.0)}; },
                             [](const TensorList& in) -> TensorList {
                                 return {unary_ref(in[0], [](double v) { return v * v * v; }, DType::i64)[0],
                                         unary_ref(in[0], [](double) { return 1.0; }, DType::i64)[0]};
                             });
        c.check_grad = false;
        cases.push_back(c);
    }

    // ---- scalar forms of add/sub/mul/div, neg
    cases.push_back(make_case("add_scalar", "x + 2.5 and x - 1", {rand_input({3, 5}, 40)},
                              [](const TensorList& in) -> TensorList { return {in[0] + 2.5, in[0] - 1.0}; },
                              [](const TensorList& in) -> TensorList {
                                  return {unary_ref(in[0], [](double v) { return v + 2.5; })[0],
                                          unary_ref(in[0], [](double v) { return v - 1.0; })[0]};
                              }));
    cases.push_back(make_case("mul_scalar", "x * -3 and x / 4", {rand_input({3, 5}, 41)},
                              [](const TensorList& in) -> TensorList { return {in[0] * -3.0, in[0] / 4.0}; },
                              [](const TensorList& in) -> TensorList {
                                  return {unary_ref(in[0], [](double v) { return v * -3.0; })[0],
                                          unary_ref(in[0], [](double v) { return v * 0.25; })[0]};
                              }));
    {
        OpCase c = make_case("mul_scalar", "int64 x * 3, x + 2, 5 - x",
                             {integers({-4, -1, 0, 3, 9, 100}, {3, 2})},
                             [](const TensorList& in) -> TensorList { return {in[0] * 3.0, in[0] + 2.0, 5.0 - in[0]}; },
                             [](const TensorList& in) -> TensorList {
                                 return {unary_ref(in[0], [](double v) { return v * 3; }, DType::i64)[0],
                                         unary_ref(in[0], [](double v) { return v + 2; }, DType::i64)[0],
                                         unary_ref(in[0], [](double v) { return 5 - v; }, DType::i64)[0]};
                             });
        c.check_grad = false;
        cases.push_back(c);
    }
    cases.push_back(make_case("neg", "[2,3]", {rand_input({2, 3}, 44)},
                              [](const TensorList& in) -> TensorList { return {-in[0]}; },
                              [](const TensorList& in) -> TensorList { return unary_ref(in[0], [](double v) { return -v; }); }));
    cases.push_back(make_case("rsub_scalar", "1 - x", {rand_input({7}, 42)},
                              [](const TensorList& in) -> TensorList { return {1.0 - in[0]}; },
                              [](const TensorList& in) -> TensorList { return unary_ref(in[0], [](double v) { return 1.0 - v; }); }));
    cases.push_back(make_case("rdiv_scalar", "2 / x", {positive_input({7}, 43)},
                              [](const TensorList& in) -> TensorList { return {2.0 / in[0]}; },
                              [](const TensorList& in) -> TensorList { return unary_ref(in[0], [](double v) { return 2.0 / v; }); }));
    return cases;
}

}  // namespace wsdol::test
