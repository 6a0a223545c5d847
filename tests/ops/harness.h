// harness.h — the op test registry: cases attached to registered ops, driving every op test mode.
//
// A case names the op it covers, builds its inputs (f64, CPU), says how to run the op and how to compute the
// expected outputs with plain loops (never by calling the op under test). tests/ops/test_op_registry.cpp runs
// every case in every mode:
//   forward   — f64 result vs the reference (|a-b| <= fwd_tol_f64 * (1 + |b|)), and the same inputs cast to f32
//               (<= fwd_tol_f32 * (1 + |b|)); integer and bool outputs must match exactly;
//   strided   — every input re-laid out non-contiguously (doubled strides, garbage in the gaps): same outputs and
//               gradients as the contiguous run;
//   gradient  — analytic gradients (autograd) of L = sum_k <w_k, out_k> (fixed random w) vs central finite
//               differences in f64, per element |a-n| <= grad_tol * (1 + |n|);
//   coverage  — every registered op has a case, every differentiable op a gradient-checked case.
// Register cases with WSDOL_OP_CASES(family_name) { return { ... }; } in tests/ops/cases_<family>.cpp.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"

namespace wsdol::test {

struct OpCase {
    std::string op;     // registry name of the op this case covers
    std::string label;  // what is special about it: "broadcast [2,3]+[3]", "empty dim", ...
    TensorList inputs;  // f64 (floating) or integer/bool tensors on the CPU
    std::function<TensorList(const TensorList&)> run;        // calls the op
    std::function<TensorList(const TensorList&)> reference;  // plain loops on host values, f64
    bool check_grad = true;          // false for non-differentiable ops / cases
    std::vector<int> no_grad_inputs; // floating inputs not to differentiate (e.g. running statistics)
    double fwd_tol_f64 = 1e-12;
    double fwd_tol_f32 = 1e-5;
    double grad_tol = 1e-6;
    double fd_eps = 1e-6;
    bool check_f32 = true;           // false where the op has no f32 path worth checking separately
    bool check_strided = true;
};

using CaseFactory = std::function<std::vector<OpCase>()>;
using CaseFn = std::function<TensorList(const TensorList&)>;  // the type of OpCase::run and OpCase::reference

// An OpCase from its main parts; the remaining members keep their defaults (set them on the result). Built field by
// field: aggregate initialization would leave later members implicitly defaulted, which -Wextra reports.
OpCase make_case(std::string op, std::string label, TensorList inputs, CaseFn run, CaseFn reference,
                 bool check_grad = true);
bool register_cases(const std::string& family, CaseFactory factory);
const std::vector<OpCase>& all_cases();  // built once, on first use

// ---- helpers for writing cases ----
// Deterministic random f64 tensor, uniform in [low, high); `away_from` keeps |x - k| >= margin for each kink k.
Tensor rand_input(const Shape& shape, uint64_t seed, double low = -1.0, double high = 1.0);
Tensor rand_away_from(const Shape& shape, uint64_t seed, const std::vector<double>& kinks, double margin = 1e-2,
                      double low = -2.0, double high = 2.0);
Tensor positive_input(const Shape& shape, uint64_t seed, double low = 0.5, double high = 2.0);
Tensor index_input(const Shape& shape, int64_t high, uint64_t seed);  // i64 in [0, high)

// Host-side array for references: row-major values with shape.
struct Host {
    Shape shape;
    std::vector<double> v;
    explicit Host(const Tensor& t) : shape(t.shape()), v(t.to_vector()) {}
    Host(Shape s, double fill = 0.0) : shape(std::move(s)), v(shape_numel(shape), fill) {}
    int64_t index(const std::vector<int64_t>& idx) const;  // row-major flat index, with bound checks
    double& at(const std::vector<int64_t>& idx) { return v[index(idx)]; }
    double at(const std::vector<int64_t>& idx) const { return v[index(idx)]; }
    Tensor tensor(DType dtype = DType::f64) const { return Tensor::from_vector(v, shape, dtype); }
};
// Value of a broadcast operand at the output multi-index (NumPy rules).
double broadcast_at(const Host& h, const std::vector<int64_t>& out_index);
// Calls fn(multi_index) for every index of `shape` in row-major order.
void for_each_index(const Shape& shape, const std::function<void(const std::vector<int64_t>&)>& fn);

}  // namespace wsdol::test

#define WSDOL_OP_CASES(family)                                                                          \
    static std::vector<::wsdol::test::OpCase> wsdol_cases_##family();                                   \
    static const bool wsdol_cases_registered_##family =                                                 \
        ::wsdol::test::register_cases(#family, &wsdol_cases_##family);                                  \
    static std::vector<::wsdol::test::OpCase> wsdol_cases_##family()
