// cases_arith.cpp — op cases for add/sub/mul/div and their scalar forms (elementwise.cpp).
#include "tests/ops/harness.h"

namespace wsdol::test {
namespace {

// out = f(a, b) with NumPy broadcasting, computed on host values.
TensorList binary_ref(const Tensor& a, const Tensor& b, double (*f)(double, double)) {
    Host ha(a), hb(b);
    Shape shape = broadcast_shapes("ref", a.shape(), b.shape());
    Host out(shape);
    for_each_index(shape, [&](const std::vector<int64_t>& i) { out.at(i) = f(broadcast_at(ha, i), broadcast_at(hb, i)); });
    return {out.tensor(DType::f64)};
}

TensorList unary_ref(const Tensor& x, const std::function<double(double)>& f) {
    Host h(x);
    for (double& v : h.v) v = f(v);
    return {h.tensor(DType::f64)};
}

OpCase binary_case(const std::string& op, const std::string& label, Tensor a, Tensor b,
                   Tensor (*fn)(const Tensor&, const Tensor&), double (*f)(double, double)) {
    return OpCase{op, label, {a, b}, [fn](const TensorList& in) -> TensorList { return {fn(in[0], in[1])}; },
                  [f](const TensorList& in) { return binary_ref(in[0], in[1], f); }};
}

}  // namespace

WSDOL_OP_CASES(arith) {
    std::vector<OpCase> cases;
    struct Binary {
        const char* name;
        Tensor (*fn)(const Tensor&, const Tensor&);
        double (*f)(double, double);
    };
    const Binary ops[] = {
        {"add", static_cast<Tensor (*)(const Tensor&, const Tensor&)>(&add), [](double x, double y) { return x + y; }},
        {"sub", static_cast<Tensor (*)(const Tensor&, const Tensor&)>(&sub), [](double x, double y) { return x - y; }},
        {"mul", static_cast<Tensor (*)(const Tensor&, const Tensor&)>(&mul), [](double x, double y) { return x * y; }},
        {"div", static_cast<Tensor (*)(const Tensor&, const Tensor&)>(&div), [](double x, double y) { return x / y; }},
    };
    uint64_t seed = 10;
    for (const Binary& op : ops) {
        const bool is_div = std::string(op.name) == "div";
        auto rhs = [&](const Shape& s) { return is_div ? positive_input(s, ++seed) : rand_input(s, ++seed); };
        cases.push_back(binary_case(op.name, "same shape [3,4]", rand_input({3, 4}, ++seed), rhs({3, 4}), op.fn, op.f));
        cases.push_back(binary_case(op.name, "broadcast [2,3,4] x [3,1]", rand_input({2, 3, 4}, ++seed), rhs({3, 1}), op.fn, op.f));
        cases.push_back(binary_case(op.name, "broadcast [4] x [2,1,4] (size-1 lead)", rand_input({4}, ++seed), rhs({2, 1, 4}), op.fn, op.f));
        cases.push_back(binary_case(op.name, "0-dim x [5]", rand_input({}, ++seed), rhs({5}), op.fn, op.f));
        cases.push_back(binary_case(op.name, "empty [0,3] x [3]", rand_input({0, 3}, ++seed), rhs({3}), op.fn, op.f));
    }
    cases.push_back({"add_scalar", "x + 2.5 and x - 1", {rand_input({3, 5}, 40)},
                     [](const TensorList& in) -> TensorList { return {in[0] + 2.5, in[0] - 1.0}; },
                     [](const TensorList& in) -> TensorList {
                         return {unary_ref(in[0], [](double v) { return v + 2.5; })[0],
                                 unary_ref(in[0], [](double v) { return v - 1.0; })[0]};
                     }});
    cases.push_back({"mul_scalar", "x * -3 and x / 4", {rand_input({3, 5}, 41)},
                     [](const TensorList& in) -> TensorList { return {in[0] * -3.0, in[0] / 4.0}; },
                     [](const TensorList& in) -> TensorList {
                         return {unary_ref(in[0], [](double v) { return v * -3.0; })[0],
                                 unary_ref(in[0], [](double v) { return v * 0.25; })[0]};
                     }});
    cases.push_back({"neg", "[2,3]", {rand_input({2, 3}, 44)},
                     [](const TensorList& in) -> TensorList { return {-in[0]}; },
                     [](const TensorList& in) -> TensorList { return unary_ref(in[0], [](double v) { return -v; }); }});
    cases.push_back({"rsub_scalar", "1 - x", {rand_input({7}, 42)},
                     [](const TensorList& in) -> TensorList { return {1.0 - in[0]}; },
                     [](const TensorList& in) -> TensorList { return unary_ref(in[0], [](double v) { return 1.0 - v; }); }});
    cases.push_back({"rdiv_scalar", "2 / x", {positive_input({7}, 43)},
                     [](const TensorList& in) -> TensorList { return {2.0 / in[0]}; },
                     [](const TensorList& in) -> TensorList { return unary_ref(in[0], [](double v) { return 2.0 / v; }); }});
    return cases;
}

}  // namespace wsdol::test
