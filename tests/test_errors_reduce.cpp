// test_errors_reduce.cpp — bad inputs to the reductions, softmax family and normalization layers throw
// wsdol::Error with a message naming the op, the argument and the shapes.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/ops/ops.h"
#include "tests/error_matchers.h"

namespace wsdol {
namespace {

using test::expect_error;

Tensor x234() { return Tensor::zeros({2, 3, 4}); }

TEST(ReduceErrors, DimOutOfRangeNamesOpDimAndShape) {
    expect_error([] { sum(x234(), {3}); }, {"sum", "dim 3", "[2, 3, 4]"});
    expect_error([] { mean(x234(), {-4}); }, {"mean", "dim -4", "[2, 3, 4]"});
    expect_error([] { max(x234(), {0, 5}); }, {"max", "dim 5", "[2, 3, 4]"});
    expect_error([] { min(x234(), {7}); }, {"min", "dim 7", "[2, 3, 4]"});
    expect_error([] { argmax(x234(), 3); }, {"argmax", "dim 3", "[2, 3, 4]"});
    expect_error([] { argmin(x234(), -5); }, {"argmin", "dim -5", "[2, 3, 4]"});
    expect_error([] { var(x234(), {3}); }, {"var", "dim 3", "[2, 3, 4]"});
    expect_error([] { std(x234(), {3}); }, {"std", "dim 3", "[2, 3, 4]"});
    expect_error([] { logsumexp(x234(), {9}); }, {"logsumexp", "dim 9", "[2, 3, 4]"});
    expect_error([] { norm(x234(), 2.0, {3}); }, {"norm", "dim 3", "[2, 3, 4]"});
    expect_error([] { cumsum(x234(), 3); }, {"cumsum", "dim 3", "[2, 3, 4]"});
    expect_error([] { softmax(x234(), 3); }, {"softmax", "dim 3", "[2, 3, 4]"});
    expect_error([] { log_softmax(x234(), -4); }, {"log_softmax", "dim -4", "[2, 3, 4]"});
    expect_error([] { softmax(Tensor::scalar(1.0), 1); }, {"softmax", "dim 1", "[]"});
}

TEST(ReduceErrors, RepeatedDim) {
    expect_error([] { sum(x234(), {1, -2}); }, {"sum", "repeated", "[2, 3, 4]"});
}

TEST(ReduceErrors, EmptyReductionWithoutIdentity) {
    const Tensor e = Tensor::zeros({2, 0});
    expect_error([&] { max(e, {1}); }, {"max", "empty", "[2, 0]"});
    expect_error([&] { min(e); }, {"min", "empty", "[2, 0]"});
    expect_error([&] { argmax(e, 1); }, {"argmax", "empty", "[2, 0]"});
    expect_error([&] { norm(e, INFINITY, {1}); }, {"norm", "inf", "[2, 0]"});
}

TEST(ReduceErrors, FloatingOnlyOps) {
    const Tensor i = Tensor::zeros({2, 3}, DType::i64);
    expect_error([&] { mean(i); }, {"mean", "int64", "[2, 3]"});
    expect_error([&] { var(i); }, {"var", "int64"});
    expect_error([&] { logsumexp(i, {0}); }, {"logsumexp", "int64"});
    expect_error([&] { softmax(i, 0); }, {"softmax", "int64"});
    expect_error([&] { layer_norm(i, {3}, Tensor(), Tensor()); }, {"layer_norm", "int64"});
}

TEST(NormErrors, LayerNormShapeMismatch) {
    expect_error([] { layer_norm(x234(), {3}, Tensor(), Tensor()); }, {"layer_norm", "normalized_shape [3]", "[2, 3, 4]"});
    expect_error([] { layer_norm(x234(), {1, 2, 3, 4}, Tensor(), Tensor()); }, {"layer_norm", "[1, 2, 3, 4]", "[2, 3, 4]"});
    expect_error([] { layer_norm(x234(), {}, Tensor(), Tensor()); }, {"layer_norm", "at least one dim"});
    expect_error([] { layer_norm(x234(), {4}, Tensor::ones({3}), Tensor()); }, {"layer_norm", "weight", "[3]", "[4]"});
    expect_error([] { layer_norm(x234(), {3, 4}, Tensor(), Tensor::ones({12})); }, {"layer_norm", "bias", "[12]", "[3, 4]"});
    expect_error([] { layer_norm(x234(), {4}, Tensor::ones({4}, DType::f64), Tensor()); }, {"layer_norm", "weight", "float64"});
}

TEST(NormErrors, BatchNormChannelMismatch) {
    const Tensor x = Tensor::zeros({8, 64, 7, 7});
    const Tensor c32 = Tensor::ones({32}), c64 = Tensor::ones({64});
    expect_error([&] { batch_norm(x, c64, c64, c32, c64, true); }, {"batch_norm", "weight", "[32]", "[8, 64, 7, 7]", "64 channels"});
    expect_error([&] { batch_norm(x, c64, c64, c64, c32, true); }, {"batch_norm", "bias", "[32]"});
    expect_error([&] { batch_norm(x, c32, c64, c64, c64, false); }, {"batch_norm", "running_mean", "[32]"});
    expect_error([&] { batch_norm(x, c64, Tensor::ones({64, 1}), c64, c64, false); }, {"batch_norm", "running_var", "[64, 1]"});
    expect_error([&] { batch_norm(x, Tensor(), Tensor(), c64, c64, false); }, {"batch_norm", "eval mode", "running_mean"});
    expect_error([] { batch_norm(Tensor::zeros({5}), Tensor(), Tensor(), Tensor(), Tensor(), true); }, {"batch_norm", "[5]"});
    expect_error([] { batch_norm(Tensor::zeros({1, 3, 1, 1}), Tensor(), Tensor(), Tensor(), Tensor(), true); },
                 {"batch_norm", "more than 1 value per channel", "[1, 3, 1, 1]"});
}

TEST(NormErrors, GroupNormGroupsMustDivideChannels) {
    const Tensor x = Tensor::zeros({2, 32, 8, 8});
    expect_error([&] { group_norm(x, 5, Tensor(), Tensor()); }, {"group_norm", "32 channels", "5 groups", "[2, 32, 8, 8]"});
    expect_error([&] { group_norm(x, 0, Tensor(), Tensor()); }, {"group_norm", "0 groups"});
    expect_error([&] { group_norm(x, 4, Tensor::ones({16}), Tensor()); }, {"group_norm", "weight", "[16]", "32 channels"});
    expect_error([] { group_norm(Tensor::zeros({6}), 2, Tensor(), Tensor()); }, {"group_norm", "[6]"});
}

}  // namespace
}  // namespace wsdol
