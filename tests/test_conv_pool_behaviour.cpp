// test_conv_pool_behaviour.cpp — conv/pool/resample behaviour the op cases cannot express: max-pool tie-breaking
// and NaN rules (with their gradients), bit-identical results for any thread count, an exact integer-valued
// ViT patch embedding (kernel = stride = 16) checked against direct loops, and the worked examples printed in
// PyTorch's torch.nn.Upsample documentation (4 decimals there).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"
#include "kernels/cpu/parallel.h"

namespace wsdol {
namespace {

Tensor leaf(const std::vector<double>& v, const Shape& s, DType dtype = DType::f64) {
    Tensor t = Tensor::from_vector(v, s, dtype);
    t.set_requires_grad(true);
    return t;
}

// x (1, 1, 3, 3) with tied maxima in every 2x2 window.
const std::vector<double> kTied = {1, 5, 5,
                                   5, 2, 5,
                                   0, 5, 1};

TEST(MaxPoolSemantics, FirstMaximumWinsTiesAndGetsTheGradient) {
    Tensor x = leaf(kTied, {1, 1, 3, 3});
    Tensor idx;
    Tensor y = max_pool2d(x, {2, 2}, {1, 1}, {0, 0}, {1, 1}, false, &idx);
    EXPECT_EQ(y.to_vector(), (std::vector<double>{5, 5, 5, 5}));
    // Windows in row-major scan order: the first 5 of each is at flat h*W+w = 1, 1, 3, 5.
    EXPECT_EQ(idx.to_vector(), (std::vector<double>{1, 1, 3, 5}));
    sum(y).backward();
    EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{0, 2, 0, 1, 0, 1, 0, 0, 0}));
}

TEST(MaxPoolSemantics, AdaptiveMaxFirstMaximumWinsTies) {
    Tensor x = leaf(kTied, {1, 1, 3, 3});
    Tensor idx;
    Tensor y = adaptive_max_pool2d(x, {1, 1}, &idx);
    EXPECT_EQ(y.item(), 5.0);
    EXPECT_EQ(idx.item(), 1.0);
    sum(y).backward();
    EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{0, 1, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(MaxPoolSemantics, NaNPropagatesAndIsTheArgmax) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    Tensor x = Tensor::from_vector({1, nan, 3, 4}, {1, 1, 2, 2}, DType::f32);
    Tensor idx;
    Tensor y = max_pool2d(x, {2, 2}, {2, 2}, {0, 0}, {1, 1}, false, &idx);
    EXPECT_TRUE(std::isnan(y.item()));
    EXPECT_EQ(idx.item(), 1.0);
    Tensor ai;
    EXPECT_TRUE(std::isnan(adaptive_max_pool2d(x, {1, 1}, &ai).item()));
    EXPECT_EQ(ai.item(), 1.0);
}

TEST(MaxPoolSemantics, PaddingIsMinusInfinity) {
    // All inputs negative: zero padding would win; PyTorch's -inf padding never does.
    Tensor x = Tensor::from_vector({-3, -2, -1, -4}, {1, 1, 2, 2}, DType::f32);
    Tensor idx;
    Tensor y = max_pool2d(x, {3, 3}, {1, 1}, {1, 1}, {1, 1}, false, &idx);
    EXPECT_EQ(y.to_vector(), (std::vector<double>{-1, -1, -1, -1}));
    EXPECT_EQ(idx.to_vector(), (std::vector<double>{2, 2, 2, 2}));
}

// Runs fn (forward + backward, returning every tensor to compare) with 1, 2 and 3 threads: all bit-identical.
void expect_thread_invariant(const std::function<TensorList()>& fn) {
    const int saved = cpu::num_threads();
    std::vector<std::vector<double>> first;
    for (int threads : {1, 2, 3}) {
        cpu::set_num_threads(threads);
        TensorList outs = fn();
        std::vector<std::vector<double>> values;
        for (const Tensor& t : outs) values.push_back(t.to_vector());
        if (first.empty()) {
            first = values;
            continue;
        }
        ASSERT_EQ(values.size(), first.size());
        for (size_t k = 0; k < values.size(); ++k) {
            ASSERT_EQ(values[k].size(), first[k].size());
            for (size_t i = 0; i < values[k].size(); ++i)
                ASSERT_EQ(values[k][i], first[k][i]) << "output " << k << "[" << i << "] differs with " << threads << " threads";
        }
    }
    cpu::set_num_threads(saved);
}

// Random f32 leaf (fixed seed).
Tensor random_leaf(const Shape& s, uint64_t seed) {
    Generator g(seed);
    Tensor t = Tensor::uniform(s, -1.0, 1.0, DType::f32, &g);
    t.set_requires_grad(true);
    return t;
}

TEST(ConvPoolDeterminism, Conv2dForwardAndBackward) {
    expect_thread_invariant([] {
        Tensor x = random_leaf({3, 8, 24, 24}, 1), w = random_leaf({16, 4, 3, 3}, 2), b = random_leaf({16}, 3);
        Tensor y = conv2d(x, w, b, {1, 2}, {1, 1}, {2, 1}, 2);
        TensorList g = grad({sum(mul(y, y))}, {x, w, b});
        return TensorList{y, g[0], g[1], g[2]};
    });
}

TEST(ConvPoolDeterminism, PoolsBackward) {
    expect_thread_invariant([] {
        Tensor x = random_leaf({2, 16, 32, 32}, 4);
        Tensor a = max_pool2d(x, {3, 3}, {2, 2}, {1, 1}, {1, 1}, true);
        Tensor b = avg_pool2d(x, {3, 3}, {1, 1}, {1, 1}, false, false);
        Tensor c = adaptive_avg_pool2d(x, {5, 7});
        Tensor d = adaptive_max_pool2d(x, {9, 6});
        Tensor loss = add(add(sum(mul(a, a)), sum(mul(b, b))), add(sum(mul(c, c)), sum(mul(d, d))));
        return TensorList{a, b, c, d, grad({loss}, {x})[0]};
    });
}

TEST(ConvPoolDeterminism, InterpolateAndPadBackward) {
    expect_thread_invariant([] {
        Tensor x = random_leaf({2, 16, 20, 24}, 5);
        Tensor a = interpolate(x, 45, 37, InterpMode::bicubic, false);
        Tensor b = interpolate(x, 0, 0, InterpMode::bilinear, false, 1.7, 0.6);
        Tensor c = interpolate(x, 7, 50, InterpMode::nearest);
        Tensor d = pad(x, {3, -2, 4, 5}, PadMode::replicate);
        Tensor loss = add(add(sum(mul(a, a)), sum(mul(b, b))), add(sum(mul(c, c)), sum(mul(d, d))));
        return TensorList{a, b, c, d, grad({loss}, {x})[0]};
    });
}

// conv2d keeps x only for the weight gradient and the weight only for the input gradient: each partial request
// must give the same gradients as the full one (pointwise and im2col paths).
TEST(Conv2dPartialGrad, OnlyInputOrOnlyWeight) {
    for (const Shape& ws : {Shape{6, 4, 3, 3}, Shape{6, 4, 1, 1}}) {
        Tensor x = random_leaf({2, 4, 7, 6}, 11), w = random_leaf(ws, 12), b = random_leaf({6}, 13);
        const Int2 pad = ws[2] == 3 ? Int2{1, 1} : Int2{0, 0};
        auto loss = [&](const Tensor& xi, const Tensor& wi, const Tensor& bi) {
            Tensor y = conv2d(xi, wi, bi, {1, 1}, pad);
            return sum(mul(y, y));
        };
        const TensorList full = grad({loss(x, w, b)}, {x, w, b});
        const Tensor gx_only = grad({loss(x, w.detach(), b.detach())}, {x})[0];
        const Tensor gw_only = grad({loss(x.detach(), w, b.detach())}, {w})[0];
        const Tensor gb_only = grad({loss(x.detach(), w.detach(), b)}, {b})[0];
        EXPECT_EQ(gx_only.to_vector(), full[0].to_vector());
        EXPECT_EQ(gw_only.to_vector(), full[1].to_vector());
        EXPECT_EQ(gb_only.to_vector(), full[2].to_vector());
    }
}

// ViT-B/16-style patch embedding with small integers: every product and sum is exact in f32, so the result must
// equal the direct loops bit for bit, whatever the blocking of im2col and gemm.
TEST(Conv2dExact, PatchEmbeddingIntegerValued) {
    Generator g(7);
    const int64_t N = 2, C = 3, H = 48, W = 32, Co = 12, P = 16;
    Tensor x = Tensor::randint(-3, 4, {N, C, H, W}, DType::i64, &g).to(DType::f32);
    Tensor w = Tensor::randint(-2, 3, {Co, C, P, P}, DType::i64, &g).to(DType::f32);
    Tensor b = Tensor::randint(-5, 6, {Co}, DType::i64, &g).to(DType::f32);
    const std::vector<double> xv = x.to_vector(), wv = w.to_vector(), bv = b.to_vector();
    const int64_t OH = H / P, OW = W / P;
    std::vector<double> want(N * Co * OH * OW);
    for (int64_t n = 0; n < N; ++n)
        for (int64_t co = 0; co < Co; ++co)
            for (int64_t oh = 0; oh < OH; ++oh)
                for (int64_t ow = 0; ow < OW; ++ow) {
                    double acc = bv[co];
                    for (int64_t c = 0; c < C; ++c)
                        for (int64_t i = 0; i < P; ++i)
                            for (int64_t j = 0; j < P; ++j)
                                acc += xv[((n * C + c) * H + oh * P + i) * W + ow * P + j] * wv[((co * C + c) * P + i) * P + j];
                    want[((n * Co + co) * OH + oh) * OW + ow] = acc;
                }
    Tensor y = conv2d(x, w, b, {P, P});
    ASSERT_EQ(y.shape(), (Shape{N, Co, OH, OW}));
    EXPECT_EQ(y.to_vector(), want);
    // The same with a column budget of one image: chunked im2col, same bits.
    const int64_t saved = conv2d_column_budget();
    set_conv2d_column_budget(1);
    EXPECT_EQ(conv2d(x, w, b, {P, P}).to_vector(), want);
    set_conv2d_column_budget(saved);
}

// torch.nn.Upsample docstring: input [[1, 2], [3, 4]] and the same in the top-left of a 3x3 of zeros,
// scale_factor=2. The printed values are rounded to 4 decimals, hence the tolerance.
void expect_near_all(const Tensor& got, const std::vector<double>& want) {
    const std::vector<double> v = got.to_vector();
    ASSERT_EQ(v.size(), want.size());
    for (size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(v[i], want[i], 6e-5) << "element " << i;
}

TEST(InterpolatePyTorchDocs, UpsampleExamples) {
    const Tensor x = Tensor::from_vector({1, 2, 3, 4}, {1, 1, 2, 2});
    expect_near_all(interpolate(x, 0, 0, InterpMode::nearest, false, 2, 2),
                    {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
    expect_near_all(interpolate(x, 0, 0, InterpMode::bilinear, false, 2, 2),
                    {1.0, 1.25, 1.75, 2.0, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3.0, 3.25, 3.75, 4.0});
    expect_near_all(interpolate(x, 4, 4, InterpMode::bilinear, true),
                    {1.0, 1.3333, 1.6667, 2.0, 1.6667, 2.0, 2.3333, 2.6667, 2.3333, 2.6667, 3.0, 3.3333, 3.0, 3.3333,
                     3.6667, 4.0});
    const Tensor x3 = Tensor::from_vector({1, 2, 0, 3, 4, 0, 0, 0, 0}, {1, 1, 3, 3});
    expect_near_all(interpolate(x3, 0, 0, InterpMode::bilinear, false, 2, 2),
                    {1.0000, 1.2500, 1.7500, 1.5000, 0.5000, 0.0000,  //
                     1.5000, 1.7500, 2.2500, 1.8750, 0.6250, 0.0000,  //
                     2.5000, 2.7500, 3.2500, 2.6250, 0.8750, 0.0000,  //
                     2.2500, 2.4375, 2.8125, 2.2500, 0.7500, 0.0000,  //
                     0.7500, 0.8125, 0.9375, 0.7500, 0.2500, 0.0000,  //
                     0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000});
    expect_near_all(interpolate(x3, 6, 6, InterpMode::bilinear, true),
                    {1.0000, 1.4000, 1.8000, 1.6000, 0.8000, 0.0000,  //
                     1.8000, 2.2000, 2.6000, 2.2400, 1.1200, 0.0000,  //
                     2.6000, 3.0000, 3.4000, 2.8800, 1.4400, 0.0000,  //
                     2.4000, 2.7200, 3.0400, 2.5600, 1.2800, 0.0000,  //
                     1.2000, 1.3600, 1.5200, 1.2800, 0.6400, 0.0000,  //
                     0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000});
}

}  // namespace
}  // namespace wsdol
