// test_errors_linalg.cpp — bad inputs to matmul, bmm and linear throw wsdol::Error naming the op and the shapes.
#include <gtest/gtest.h>

#include <string>

#include "engine/ops/ops.h"
#include "tests/error_matchers.h"

namespace wsdol {
namespace {

using test::expect_error;

Tensor f32(const Shape& s) { return Tensor::zeros(s, DType::f32); }

TEST(LinalgErrors, MatmulInnerDimMismatch) {
    expect_error([] { matmul(f32({2, 3}), f32({4, 5})); }, {"matmul", "[2, 3]", "[4, 5]", "3 vs 4"});
    expect_error([] { matmul(f32({7, 2, 3}), f32({2, 5})); }, {"matmul", "[7, 2, 3]", "[2, 5]"});
    // 1-D operands follow torch.matmul: the vector's length must match the inner dimension.
    expect_error([] { matmul(f32({4}), f32({3, 2})); }, {"matmul", "[3, 2]"});
}

TEST(LinalgErrors, MatmulBatchDimsNotBroadcastable) {
    expect_error([] { matmul(f32({2, 4, 3}), f32({5, 3, 6})); }, {"matmul", "[2, 4, 3]", "[5, 3, 6]", "broadcast"});
}

TEST(LinalgErrors, MatmulZeroDimOperand) {
    expect_error([] { matmul(Tensor::scalar(1.0), f32({3, 2})); }, {"matmul", "[]", "[3, 2]"});
}

TEST(LinalgErrors, DtypeMismatch) {
    const Tensor a = f32({2, 3}), b = Tensor::zeros({3, 4}, DType::f64);
    expect_error([&] { matmul(a, b); }, {"matmul", "dtype", "[2, 3]", "float32", "[3, 4]", "float64"});
    expect_error([&] { bmm(a.unsqueeze(0), b.unsqueeze(0)); }, {"bmm", "dtype", "[1, 2, 3]", "[1, 3, 4]"});
    expect_error([&] { linear(a, Tensor::zeros({4, 3}, DType::f64)); }, {"linear", "dtype", "[2, 3]", "[4, 3]"});
    expect_error([&] { linear(a, f32({4, 3}), Tensor::zeros({4}, DType::f64)); },
                 {"linear", "bias", "[4]", "float64", "[4, 3]"});
}

TEST(LinalgErrors, IntegerOperands) {
    const Tensor a = Tensor::zeros({2, 3}, DType::i64), b = Tensor::zeros({3, 4}, DType::i64);
    expect_error([&] { matmul(a, b); }, {"matmul", "floating", "int64", "[2, 3]", "[3, 4]"});
    expect_error([&] { bmm(a.unsqueeze(0), b.unsqueeze(0)); }, {"bmm", "floating", "[1, 2, 3]", "[1, 3, 4]"});
    expect_error([&] { linear(Tensor::zeros({2, 3}, DType::i32), Tensor::zeros({4, 3}, DType::i32)); },
                 {"linear", "floating", "int32", "[2, 3]", "[4, 3]"});
}

TEST(LinalgErrors, BmmShapes) {
    expect_error([] { bmm(f32({2, 3, 4}), f32({3, 4, 5})); }, {"bmm", "[2, 3, 4]", "[3, 4, 5]"});  // batch differs
    expect_error([] { bmm(f32({2, 3, 4}), f32({2, 5, 6})); }, {"bmm", "[2, 3, 4]", "[2, 5, 6]"});  // inner differs
    expect_error([] { bmm(f32({3, 4}), f32({4, 5})); }, {"bmm", "[3, 4]", "[4, 5]"});              // not 3-D
}

TEST(LinalgErrors, LinearShapes) {
    expect_error([] { linear(f32({2, 5}), f32({4, 3})); }, {"linear", "[2, 5]", "[4, 3]"});        // in_features
    expect_error([] { linear(f32({2, 3}), f32({4, 3, 1})); }, {"linear", "weight", "[4, 3, 1]"});  // weight not 2-D
    expect_error([] { linear(f32({2, 3}), f32({4, 3}), f32({5})); }, {"linear", "bias", "[5]", "[4, 3]"});
    expect_error([] { linear(f32({2, 3}), f32({4, 3}), f32({4, 1})); }, {"linear", "bias", "[4, 1]"});
}

}  // namespace
}  // namespace wsdol
