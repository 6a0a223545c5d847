// test_errors_conv.cpp — bad inputs to conv2d, the pools, interpolate and pad throw wsdol::Error with a message
// that names the op and the offending shapes or values.
#include <gtest/gtest.h>

#include <string>

#include "engine/ops/ops.h"
#include "tests/error_matchers.h"

namespace wsdol {
namespace {

using test::expect_error;

Tensor zeros(const Shape& s) { return Tensor::zeros(s); }

TEST(ConvErrors, ChannelMismatch) {
    expect_error([] { conv2d(zeros({2, 3, 8, 8}), zeros({4, 5, 3, 3}), Tensor()); },
                 {"conv2d", "[2, 3, 8, 8]", "[4, 5, 3, 3]", "3 channels", "expects 5"});
    expect_error([] { conv2d(zeros({2, 4, 8, 8}), zeros({4, 1, 3, 3}), Tensor(), {1, 1}, {0, 0}, {1, 1}, 2); },
                 {"conv2d", "[2, 4, 8, 8]", "[4, 1, 3, 3]", "groups=2", "expects 2"});
}

TEST(ConvErrors, GroupsMustDivideChannels) {
    expect_error([] { conv2d(zeros({2, 6, 8, 8}), zeros({4, 2, 3, 3}), Tensor(), {1, 1}, {0, 0}, {1, 1}, 4); },
                 {"conv2d", "groups=4", "6 input channels", "[2, 6, 8, 8]"});
    expect_error([] { conv2d(zeros({2, 4, 8, 8}), zeros({6, 1, 3, 3}), Tensor(), {1, 1}, {0, 0}, {1, 1}, 4); },
                 {"conv2d", "groups=4", "6 output channels", "[6, 1, 3, 3]"});
    expect_error([] { conv2d(zeros({2, 4, 8, 8}), zeros({4, 4, 3, 3}), Tensor(), {1, 1}, {0, 0}, {1, 1}, 0); },
                 {"conv2d", "groups must be positive", "0"});
}

TEST(ConvErrors, KernelLargerThanPaddedInput) {
    expect_error([] { conv2d(zeros({1, 3, 4, 4}), zeros({2, 3, 5, 5}), Tensor()); },
                 {"conv2d", "kernel 5x5", "padded input 4x4", "[1, 3, 4, 4]", "[2, 3, 5, 5]"});
    expect_error([] { conv2d(zeros({1, 3, 4, 4}), zeros({2, 3, 3, 3}), Tensor(), {1, 1}, {1, 1}, {3, 3}); },
                 {"conv2d", "dilated 7x7", "padded input 6x6"});
}

TEST(ConvErrors, WrongRanks) {
    expect_error([] { conv2d(zeros({3, 8}), zeros({2, 3, 3, 3}), Tensor()); }, {"conv2d", "4-D", "[3, 8]"});
    expect_error([] { conv2d(zeros({1, 1, 3, 8, 8}), zeros({2, 3, 3, 3}), Tensor()); }, {"conv2d", "[1, 1, 3, 8, 8]"});
    expect_error([] { conv2d(zeros({1, 3, 8, 8}), zeros({2, 3, 3}), Tensor()); }, {"conv2d", "weight", "[2, 3, 3]"});
}

TEST(ConvErrors, BiasDtypeAndHyperparameters) {
    expect_error([] { conv2d(zeros({1, 3, 8, 8}), zeros({2, 3, 3, 3}), zeros({3})); },
                 {"conv2d", "bias [3]", "2 output channels"});
    expect_error([] { conv2d(zeros({1, 3, 8, 8}), Tensor::zeros({2, 3, 3, 3}, DType::f64), Tensor()); },
                 {"conv2d", "float32", "float64"});
    expect_error([] { conv2d(zeros({1, 3, 8, 8}), zeros({2, 3, 3, 3}), Tensor(), {0, 1}); }, {"conv2d", "stride", "[0, 1]"});
    expect_error([] { conv2d(zeros({1, 3, 8, 8}), zeros({2, 3, 3, 3}), Tensor(), {1, 1}, {-1, 0}); },
                 {"conv2d", "padding", "[-1, 0]"});
}

TEST(PoolErrors, WindowLargerThanInput) {
    expect_error([] { max_pool2d(zeros({1, 1, 2, 2}), {3, 3}, {1, 1}); },
                 {"max_pool2d", "window [3, 3]", "larger than the input [1, 1, 2, 2]"});
    expect_error([] { avg_pool2d(zeros({1, 1, 4, 2}), {3, 3}, {1, 1}); },
                 {"avg_pool2d", "window [3, 3]", "larger than the input [1, 1, 4, 2]"});
    expect_error([] { max_pool2d(zeros({1, 1, 5, 5}), {3, 3}, {1, 1}, {0, 0}, {3, 3}); },
                 {"max_pool2d", "dilation [3, 3]", "[1, 1, 5, 5]"});
}

TEST(PoolErrors, PaddingAndRanks) {
    expect_error([] { max_pool2d(zeros({1, 1, 8, 8}), {3, 3}, {1, 1}, {2, 1}); },
                 {"max_pool2d", "padding [2, 1]", "half of kernel [3, 3]"});
    expect_error([] { avg_pool2d(zeros({1, 1, 8, 8}), {2, 2}, {1, 1}, {2, 2}); }, {"avg_pool2d", "padding [2, 2]"});
    expect_error([] { max_pool2d(zeros({8, 8}), {2, 2}, {2, 2}); }, {"max_pool2d", "4-D", "[8, 8]"});
    expect_error([] { avg_pool2d(zeros({1, 1, 1, 8, 8}), {2, 2}, {2, 2}); }, {"avg_pool2d", "[1, 1, 1, 8, 8]"});
    expect_error([] { max_pool2d(zeros({1, 1, 8, 8}), {0, 2}, {1, 1}); }, {"max_pool2d", "kernel", "[0, 2]"});
    expect_error([] { adaptive_avg_pool2d(zeros({1, 2, 0, 4}), {2, 2}); },
                 {"adaptive_avg_pool2d", "[1, 2, 0, 4]", "empty"});
    expect_error([] { adaptive_max_pool2d(zeros({2, 4}), {2, 2}); }, {"adaptive_max_pool2d", "[2, 4]"});
    expect_error([] { adaptive_avg_pool2d(zeros({1, 1, 4, 4}), {-1, 2}); }, {"adaptive_avg_pool2d", "[-1, 2]"});
    expect_error([] { max_pool2d(Tensor::zeros({1, 1, 4, 4}, DType::i64), {2, 2}, {2, 2}); }, {"max_pool2d", "int64"});
}

TEST(ResampleErrors, InterpolateNeeds4D) {
    expect_error([] { interpolate(zeros({1, 4, 4}), 8, 8, InterpMode::bilinear); },
                 {"interpolate", "bilinear", "4-D", "[1, 4, 4]"});
    expect_error([] { interpolate(zeros({1, 1, 1, 4, 4}), 8, 8, InterpMode::nearest); },
                 {"interpolate", "nearest", "[1, 1, 1, 4, 4]"});
    expect_error([] { interpolate(zeros({1, 1, 4, 4}), 0, 8, InterpMode::bicubic); },
                 {"interpolate", "bicubic", "positive", "[1, 1, 4, 4]", "0x8"});
    expect_error([] { interpolate(zeros({1, 1, 4, 0}), 4, 4, InterpMode::bilinear); }, {"interpolate", "[1, 1, 4, 0]"});
}

TEST(ResampleErrors, PadArguments) {
    expect_error([] { pad(zeros({2, 3}), {1, 2, 3}); }, {"pad", "{1, 2, 3}", "[2, 3]"});
    expect_error([] { pad(zeros({2, 3}), {1, 1, 1, 1, 1, 1}); }, {"pad", "6 pad values", "[2, 3]"});
    expect_error([] { pad(zeros({2, 3}), {-2, -2}); }, {"pad", "[2, 3]", "{-2, -2}", "negative size -1"});
    expect_error([] { pad(zeros({1, 2, 3, 4, 5}), {1, 1, 1, 1, 1, 1}, PadMode::replicate); },
                 {"pad", "replicate", "last 1 or 2 dims"});
    expect_error([] { pad(zeros({3, 4}), {1, 1, 1, 1}, PadMode::replicate); }, {"pad", "replicate", "3-D or 4-D", "[3, 4]"});
    expect_error([] { pad(zeros({1, 2, 3, 4}), {1, 1}, PadMode::replicate); }, {"pad", "replicate", "2-D or 3-D", "[1, 2, 3, 4]"});
    expect_error([] { pad(zeros({2, 3}), {-2, -1}, PadMode::replicate); }, {"pad", "replicate", "[2, 3]", "output size 0"});
}

}  // namespace
}  // namespace wsdol
