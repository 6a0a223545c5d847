// cases_shape.cpp — op cases for views and copies (shape_ops.cpp).
#include "tests/ops/harness.h"

namespace wsdol::test {
namespace {

// Reference for any pure re-indexing op: out[idx] = x[map(idx)].
TensorList gather_ref(const Tensor& x, const Shape& out_shape,
                      const std::function<std::vector<int64_t>(const std::vector<int64_t>&)>& map) {
    Host in(x);
    Host out(out_shape);
    for_each_index(out_shape, [&](const std::vector<int64_t>& idx) { out.at(idx) = in.at(map(idx)); });
    return {out.tensor(x.dtype())};
}

}  // namespace

WSDOL_OP_CASES(shape) {
    std::vector<OpCase> cases;
    auto x234 = rand_input({2, 3, 4}, 1);
    cases.push_back(make_case("view", "[2,3,4]->[6,4]", {x234},
                              [](const TensorList& in) -> TensorList { return {in[0].view({6, -1})}; },
                              [](const TensorList& in) -> TensorList {
                                  return gather_ref(in[0], {6, 4}, [](auto i) { return std::vector<int64_t>{i[0] / 3, i[0] % 3, i[1]}; });
                              }));
    cases.push_back(make_case("view", "reshape of a transposed (copies)", {x234},
                              [](const TensorList& in) -> TensorList { return {in[0].transpose(0, 2).reshape({4, 6})}; },
                              [](const TensorList& in) -> TensorList {
                                  return gather_ref(in[0], {4, 6}, [](auto i) { return std::vector<int64_t>{i[1] % 2, i[1] / 2, i[0]}; });
                              }));
    cases.push_back(make_case("view", "squeeze/unsqueeze/flatten", {rand_input({3, 1, 2}, 2)},
                              [](const TensorList& in) -> TensorList { return {in[0].squeeze(1).unsqueeze(0).flatten()}; },
                              [](const TensorList& in) -> TensorList {
                                  return gather_ref(in[0], {6}, [](auto i) { return std::vector<int64_t>{i[0] / 2, 0, i[0] % 2}; });
                              }));
    cases.push_back(make_case("permute", "[2,3,4] (2,0,1)", {x234},
                              [](const TensorList& in) -> TensorList { return {in[0].permute({2, 0, 1})}; },
                              [](const TensorList& in) -> TensorList {
                                  return gather_ref(in[0], {4, 2, 3}, [](auto i) { return std::vector<int64_t>{i[1], i[2], i[0]}; });
                              }));
    cases.push_back(make_case("slice", "dim 2, 1:4:2 and negative bounds", {x234},
                              [](const TensorList& in) -> TensorList { return {in[0].slice(2, 1, 4, 2), in[0].slice(1, -2, -1)}; },
                              [](const TensorList& in) -> TensorList {
                                  TensorList a = gather_ref(in[0], {2, 3, 2}, [](auto i) { return std::vector<int64_t>{i[0], i[1], 1 + 2 * i[2]}; });
                                  TensorList b = gather_ref(in[0], {2, 1, 4}, [](auto i) { return std::vector<int64_t>{i[0], 1, i[2]}; });
                                  return {a[0], b[0]};
                              }));
    cases.push_back(make_case("slice", "narrow to empty", {x234},
                              [](const TensorList& in) -> TensorList { return {in[0].narrow(1, 1, 0)}; },
                              [](const TensorList& in) -> TensorList { return {Tensor::zeros({2, 0, 4}, DType::f64)}; }));
    cases.push_back(make_case("select", "dim 1 index -1", {x234},
                              [](const TensorList& in) -> TensorList { return {in[0].select(1, -1)}; },
                              [](const TensorList& in) -> TensorList {
                                  return gather_ref(in[0], {2, 4}, [](auto i) { return std::vector<int64_t>{i[0], 2, i[1]}; });
                              }));
    cases.push_back(make_case("expand", "[3,1]->[2,3,4]", {rand_input({3, 1}, 3)},
                              [](const TensorList& in) -> TensorList { return {in[0].expand({2, -1, 4})}; },
                              [](const TensorList& in) -> TensorList {
                                  return gather_ref(in[0], {2, 3, 4}, [](auto i) { return std::vector<int64_t>{i[1], 0}; });
                              }));
    cases.push_back(make_case("flip", "dims 0 and 2", {x234},
                              [](const TensorList& in) -> TensorList { return {in[0].flip({0, -1})}; },
                              [](const TensorList& in) -> TensorList {
                                  return gather_ref(in[0], {2, 3, 4}, [](auto i) { return std::vector<int64_t>{1 - i[0], i[1], 3 - i[2]}; });
                              }));
    cases.push_back(make_case("contiguous", "of a permuted view", {x234},
                              [](const TensorList& in) -> TensorList { return {in[0].permute({1, 0, 2}).contiguous()}; },
                              [](const TensorList& in) -> TensorList {
                                  return gather_ref(in[0], {3, 2, 4}, [](auto i) { return std::vector<int64_t>{i[1], i[0], i[2]}; });
                              }));
    cases.push_back(make_case("clone", "[2,3,4]", {x234},
                              [](const TensorList& in) -> TensorList { return {in[0].clone()}; },
                              [](const TensorList& in) -> TensorList { return {in[0]}; }));
    OpCase to32 = make_case("cast", "f64 -> f32 -> f64", {x234},
                            [](const TensorList& in) -> TensorList { return {in[0].to(DType::f32).to(in[0].dtype())}; },
                            [](const TensorList& in) -> TensorList {
                                std::vector<double> v = in[0].to_vector();
                                for (double& e : v) e = static_cast<float>(e);
                                return {Tensor::from_vector(v, in[0].shape(), DType::f64)};
                            });
    // Finite differences through a rounding to f32 need a step far above f32's spacing (~1e-7 relative): with
    // eps = 1e-2 the rounding noise is ~1e-5, well inside 1e-4.
    to32.fd_eps = 1e-2;
    to32.grad_tol = 1e-4;
    cases.push_back(to32);
    return cases;
}

}  // namespace wsdol::test
