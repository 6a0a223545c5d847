// test_errors_nn.cpp — bad-input errors of the attention op, the losses and the nn modules: each throws
// wsdol::Error with a message naming the op, the argument and the shapes or values.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "engine/nn/attention.h"
#include "engine/nn/conv.h"
#include "engine/nn/linear.h"
#include "engine/nn/norm.h"
#include "engine/ops/attention.h"
#include "engine/ops/ops.h"
#include "tests/error_matchers.h"

namespace wsdol {
namespace {

using test::expect_error;

Tensor f(const Shape& s, DType d = DType::f32) { return Tensor::zeros(s, d); }

TEST(AttentionErrors, ShapesDtypesAndMasks) {
    expect_error([] { attention(f({2, 3, 4}), f({2, 3, 4}), f({2, 3, 4})); }, {"attention", "(B, H, T, D)", "[2, 3, 4]"});
    expect_error([] { attention(f({1, 2, 3, 4}), f({1, 2, 5, 8}), f({1, 2, 5, 4})); },
                 {"attention", "q [1, 2, 3, 4]", "k [1, 2, 5, 8]"});
    expect_error([] { attention(f({1, 2, 3, 4}), f({1, 2, 5, 4}), f({1, 2, 6, 4})); }, {"attention", "v [1, 2, 6, 4]"});
    expect_error([] { attention(f({1, 2, 3, 4}), f({1, 3, 5, 4}), f({1, 3, 5, 4})); }, {"attention", "k [1, 3, 5, 4]"});
    expect_error([] { attention(f({1, 2, 3, 4}), f({1, 2, 3, 4}, DType::f64), f({1, 2, 3, 4})); },
                 {"attention", "dtype mismatch", "float64"});
    expect_error([] { attention(f({1, 1, 2, 2}, DType::i64), f({1, 1, 2, 2}, DType::i64), f({1, 1, 2, 2}, DType::i64)); },
                 {"attention", "floating", "int64"});
    expect_error([] { attention(f({1, 2, 3, 4}), f({1, 2, 5, 4}), f({1, 2, 5, 4}), f({3, 4})); },
                 {"attention", "mask [3, 4]", "[1, 2, 3, 5]"});
    expect_error([] { attention(f({1, 2, 3, 4}), f({1, 2, 5, 4}), f({1, 2, 5, 4}), f({3, 5}, DType::boolean)); },
                 {"attention", "mask", "bool"});
}

TEST(LossErrors, CrossEntropy) {
    const Tensor logits = f({4, 3});
    expect_error([&] { cross_entropy(logits, Tensor::zeros({3}, DType::i64)); },
                 {"cross_entropy", "[4, 3]", "target [4]", "[3]"});
    expect_error([&] { cross_entropy(logits, Tensor::from_vector({0, 1, 3, 2}, {4}, DType::i64)); },
                 {"cross_entropy", "target 3 is out of bounds", "3 classes"});
    expect_error([&] { cross_entropy(logits, Tensor::from_vector({0, -1, 1, 2}, {4}, DType::i64)); },
                 {"cross_entropy", "target -1"});
    expect_error([&] { cross_entropy(logits, Tensor::zeros({4}, DType::i32)); }, {"cross_entropy", "int64", "int32"});
    expect_error([&] { cross_entropy(logits, Tensor::zeros({4}, DType::i64), f({4})); },
                 {"cross_entropy", "weight", "(3)", "[4]"});
    expect_error([&] { cross_entropy(logits, Tensor::zeros({4}, DType::i64), Tensor(), -100, Reduction::mean, 1.5); },
                 {"cross_entropy", "label_smoothing", "1.5"});
    expect_error([&] { cross_entropy(f({4, 3}), f({4, 2})); }, {"cross_entropy", "[4, 2]", "[4, 3]"});
    expect_error([&] { cross_entropy(Tensor::zeros({4, 3}, DType::i64), Tensor::zeros({4}, DType::i64)); },
                 {"cross_entropy", "input", "floating"});
}

TEST(LossErrors, BinaryAndRegressionLosses) {
    expect_error([] { binary_cross_entropy_with_logits(f({2, 3}), f({3, 2})); },
                 {"binary_cross_entropy_with_logits", "target size [3, 2]", "input size [2, 3]"});
    expect_error([] { binary_cross_entropy_with_logits(f({2, 3}), f({2, 3}), Tensor(), f({2})); },
                 {"binary_cross_entropy_with_logits", "pos_weight", "[2]"});
    expect_error([] { binary_cross_entropy(Tensor::full({2}, 1.5), f({2})); },
                 {"binary_cross_entropy", "between 0 and 1", "1.5"});
    expect_error([] { binary_cross_entropy(f({2}), f({2}, DType::f64)); }, {"binary_cross_entropy", "dtype"});
    expect_error([] { multilabel_soft_margin_loss(f({2, 3, 4}), f({2, 3, 4})); },
                 {"multilabel_soft_margin_loss", "(N, C)", "[2, 3, 4]"});
    expect_error([] { mse_loss(f({2, 3}), f({4})); }, {"mse_loss"});
    expect_error([] { l1_loss(f({2}), Tensor::zeros({2}, DType::i64)); }, {"l1_loss", "target", "floating"});
    expect_error([] { cosine_similarity(f({2, 3}), f({2, 3}), 2); }, {"cosine_similarity", "dim 2", "[2, 3]"});
    expect_error([] { normalize(Tensor::zeros({2}, DType::i64)); }, {"normalize", "floating"});
}

TEST(NnErrors, ModuleInputs) {
    using namespace nn;
    expect_error([] { Attention(10, 3); }, {"Attention", "dim 10", "num_heads 3"});
    expect_error([] { MultiheadAttention(8, 3); }, {"MultiheadAttention", "embed_dim 8", "num_heads 3"});
    expect_error([] { Attention(8, 2).forward(f({2, 4, 6})); }, {"Attention", "(B, N, 8)", "[2, 4, 6]"});
    expect_error([] { MultiheadAttention(8, 2).forward(f({2, 4, 6})); }, {"MultiheadAttention", "(T, B, 8)", "[2, 4, 6]"});
    expect_error([] { MultiheadAttention(8, 2).forward(f({3, 2, 8}), f({1, 5, 3, 3})); },
                 {"attention", "mask [1, 5, 3, 3]"});
    expect_error([] { MultiheadAttention(8, 2).forward(f({3, 2, 8}), f({5, 3, 3})); },
                 {"MultiheadAttention", "(B * num_heads, Tq, Tk)", "[5, 3, 3]"});
    expect_error([] { BatchNorm2d(4).forward(f({2, 4, 3})); }, {"BatchNorm2d", "4D", "[2, 4, 3]"});
    expect_error([] { BatchNorm2d(4).forward(f({2, 3, 2, 2})); }, {"BatchNorm2d", "3 channels", "expected 4"});
    expect_error([] { Conv2d(6, 4, 3, 1, 0, 1, 4); }, {"Conv2d", "divisible by groups 4"});
    expect_error([] { GroupNorm(3, 8); }, {"GroupNorm", "num_channels 8", "num_groups 3"});
    expect_error([] { Linear(4, 2).load_state_dict(std::map<std::string, Tensor>{{"weight", f({2, 4})}}); },
                 {"load_state_dict", "missing keys", "bias"});
}

}  // namespace
}  // namespace wsdol
