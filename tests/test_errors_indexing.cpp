// test_errors_indexing.cpp — bad input to the indexing, join and random ops throws wsdol::Error with a message
// naming the op, the bad value and the valid range or shapes.
#include <gtest/gtest.h>

#include <string>

#include "engine/ops/ops.h"
#include "tests/error_matchers.h"

namespace wsdol {
namespace {

using test::expect_error;

Tensor ids(const std::vector<double>& v, const Shape& s) { return Tensor::from_vector(v, s, DType::i64); }

TEST(IndexingErrors, GatherOutOfRange) {
    Tensor x = Tensor::zeros({2, 5});
    expect_error([&] { gather(x, 1, ids({0, 7, 1, 2}, {2, 2})); },
                 {"gather:", "index 7", "dim 1 of size 5", "[0, 5)"});
    expect_error([&] { gather(x, 1, ids({0, -1, 1, 2}, {2, 2})); }, {"gather:", "index -1", "dim 1 of size 5", "[0, 5)"});
    expect_error([&] { gather(x, 0, ids({2, 0}, {1, 2})); }, {"gather:", "index 2", "dim 0 of size 2", "[0, 2)"});
}

TEST(IndexingErrors, GatherBadIndexShapeOrDtype) {
    Tensor x = Tensor::zeros({2, 5});
    expect_error([&] { gather(x, 1, ids({0, 1, 2}, {3, 1})); }, {"gather:", "[3, 1]", "[2, 5]", "dim 0"});
    expect_error([&] { gather(x, 1, ids({0, 1}, {2})); }, {"gather:", "same number of dims"});
    expect_error([&] { gather(x, 1, Tensor::zeros({2, 2}, DType::i32)); }, {"gather:", "must be int64", "int32"});
    expect_error([&] { gather(x, 2, ids({0}, {1, 1})); }, {"gather:", "dim 2 out of range"});
}

TEST(IndexingErrors, ScatterOutOfRange) {
    Tensor x = Tensor::zeros({3, 4});
    Tensor src = Tensor::ones({3, 4});
    expect_error([&] { scatter(x, 1, ids({0, 4}, {1, 2}), src); }, {"scatter:", "index 4", "dim 1 of size 4", "[0, 4)"});
    expect_error([&] { scatter(x, 0, ids({-2, 1}, {1, 2}), src); }, {"scatter:", "index -2", "dim 0 of size 3", "[0, 3)"});
    expect_error([&] { scatter_add(x, 0, ids({3}, {1, 1}), src); },
                 {"scatter_add:", "index 3", "dim 0 of size 3", "[0, 3)"});
}

TEST(IndexingErrors, ScatterBadShapesOrDtypes) {
    Tensor x = Tensor::zeros({3, 4});
    expect_error([&] { scatter(x, 1, ids({0, 1, 2, 3}, {1, 4}), Tensor::ones({1, 3})); },
                 {"scatter:", "larger than src", "[1, 3]"});
    expect_error([&] { scatter_add(x, 1, ids({0}, {1, 1}), Tensor::ones({1, 1}, DType::f64)); },
                 {"scatter_add:", "src dtype float64", "float32"});
    expect_error([&] { scatter(x, 1, ids({0, 0, 0, 0, 0}, {5, 1}), Tensor::ones({5, 1})); },
                 {"scatter:", "larger than the input", "dim 0"});
}

TEST(IndexingErrors, IndexSelectOutOfRange) {
    Tensor x = Tensor::zeros({4, 3});
    expect_error([&] { index_select(x, 0, ids({0, 4}, {2})); },
                 {"index_select:", "index 4", "dim 0 of size 4", "[0, 4)"});
    expect_error([&] { index_select(x, 1, ids({-1}, {1})); },
                 {"index_select:", "index -1", "dim 1 of size 3", "[0, 3)"});
    expect_error([&] { index_select(x, 0, ids({0, 1}, {1, 2})); }, {"index_select:", "1-D", "[1, 2]"});
}

TEST(IndexingErrors, EmbeddingOutOfRange) {
    Tensor w = Tensor::zeros({10, 4});
    expect_error([&] { embedding(w, ids({3, 10, 2}, {3})); }, {"embedding:", "id 10", "[10, 4]", "[0, 10)"});
    expect_error([&] { embedding(w, ids({-3, 1}, {1, 2})); }, {"embedding:", "id -3", "[0, 10)"});
    expect_error([&] { embedding(Tensor::zeros({10}), ids({1}, {1})); }, {"embedding:", "(num_embeddings, dim)", "[10]"});
    expect_error([&] { embedding(w, Tensor::zeros({2})); }, {"embedding:", "ids must be int64", "float32"});
}

TEST(IndexingErrors, OneHot) {
    expect_error([&] { one_hot(ids({0, 3}, {2}), 3); }, {"one_hot:", "class value 3", "num_classes 3", "[0, 3)"});
    expect_error([&] { one_hot(ids({0, -1}, {2}), 3); }, {"one_hot:", "class value -1"});
    expect_error([&] { one_hot(ids({}, {0}), -1); }, {"one_hot:", "empty"});
}

TEST(IndexingErrors, CatMismatch) {
    expect_error([&] { cat({Tensor::zeros({2, 3}), Tensor::zeros({3, 3})}, 1); },
                 {"cat:", "tensor 1", "[3, 3]", "[2, 3]", "except in dim 1"});
    expect_error([&] { cat({Tensor::zeros({2, 3}), Tensor::zeros({2, 3, 1})}, 0); }, {"cat:", "tensor 1", "[2, 3, 1]"});
    expect_error([&] { cat({Tensor::zeros({2, 3}), Tensor::zeros({2, 3}, DType::f64)}, 0); },
                 {"cat:", "tensor 1", "dtype float64", "float32"});
    expect_error([&] { cat({}, 0); }, {"cat:", "non-empty"});
    expect_error([&] { cat({Tensor::zeros({2}), Tensor::scalar(1.0)}, 0); }, {"cat:", "tensor 1", "0-dim"});
}

TEST(IndexingErrors, StackMismatch) {
    expect_error([&] { stack({Tensor::zeros({2, 3}), Tensor::zeros({2, 4})}, 0); },
                 {"stack:", "tensor 1", "[2, 4]", "[2, 3]", "equal"});
    expect_error([&] { stack({Tensor::zeros({2}), Tensor::zeros({2}, DType::i64)}, 0); }, {"stack:", "dtype int64"});
    expect_error([&] { stack({Tensor::zeros({2})}, 2); }, {"stack:", "dim 2 out of range"});
}

TEST(IndexingErrors, SplitChunk) {
    Tensor x = Tensor::zeros({5, 2});
    expect_error([&] { split(x, std::vector<int64_t>{2, 2}, 0); }, {"split:", "add up to 4", "size 5"});
    expect_error([&] { split(x, int64_t{0}, 0); }, {"split:", "split_size", "0"});
    expect_error([&] { chunk(x, 0, 0); }, {"chunk:", "chunks must be positive"});
}

TEST(IndexingErrors, MaskedFillNonBoolMask) {
    Tensor x = Tensor::zeros({2, 3});
    expect_error([&] { masked_fill(x, Tensor::ones({2, 3}), 1.0); }, {"masked_fill:", "mask must be bool", "float32"});
    expect_error([&] { masked_fill(x, Tensor::ones({4}, DType::boolean), 1.0); }, {"masked_fill", "[2, 3]", "[4]"});
}

TEST(IndexingErrors, TopkBadK) {
    Tensor x = Tensor::zeros({2, 3});
    expect_error([&] { topk(x, 5, 1); }, {"topk:", "k 5", "dim 1 of size 3"});
    expect_error([&] { topk(x, -1, 0); }, {"topk:", "k -1", "dim 0 of size 2"});
    expect_error([&] { sort(x, 3); }, {"sort:", "dim 3 out of range"});
}

TEST(IndexingErrors, DropoutBadP) {
    Tensor x = Tensor::zeros({2, 3});
    expect_error([&] { dropout(x, 1.5, true); }, {"dropout:", "[0, 1]", "1.5"});
    expect_error([&] { drop_path(x, -0.1, true); }, {"drop_path:", "[0, 1]", "-0.1"});
    expect_error([&] { dropout(Tensor::zeros({2}, DType::i64), 0.5, true); }, {"dropout:", "floating", "int64"});
    expect_error([&] { dropout2d(Tensor::zeros({2, 3, 4}), 0.5, true); }, {"dropout2d:", "(N, C, H, W)", "[2, 3, 4]"});
}

}  // namespace
}  // namespace wsdol
