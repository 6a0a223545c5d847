// test_indexing.cpp — behaviour of the indexing and random ops beyond the op cases: bit-identical results for
// any thread count (repeated-index accumulation), generator bookkeeping of dropout/drop_path, and gradients that
// flow through split/chunk pieces.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"
#include "kernels/cpu/parallel.h"

namespace wsdol {
namespace {

// Runs fn with 1 and with several threads; the results must agree bit for bit.
void expect_thread_independent(const std::function<Tensor()>& fn) {
    const int before = cpu::num_threads();
    cpu::set_num_threads(1);
    const std::vector<double> one = fn().to_vector();
    for (int threads : {2, 3, 4}) {
        cpu::set_num_threads(threads);
        const std::vector<double> many = fn().to_vector();
        ASSERT_EQ(one.size(), many.size());
        EXPECT_EQ(0, std::memcmp(one.data(), many.data(), one.size() * sizeof(double))) << threads << " threads";
    }
    cpu::set_num_threads(before);
}

TEST(IndexingDeterminism, ScatterAddRepeatedTargets) {
    Generator g(7);
    // dim 0: 512 slices in blocks; 3000 updates per slice onto 10 targets (heavy repetition), f32 rounding.
    Tensor x = Tensor::rand({10, 512}, DType::f32, &g);
    Tensor index = Tensor::randint(0, 10, {3000, 512}, DType::i64, &g);
    Tensor src = Tensor::randn({3000, 512}, DType::f32, &g);
    expect_thread_independent([&] { return scatter_add(x, 0, index, src); });
    // dim last: 64 slices of 5000 updates.
    Tensor x2 = Tensor::rand({64, 7}, DType::f32, &g);
    Tensor i2 = Tensor::randint(0, 7, {64, 5000}, DType::i64, &g);
    Tensor s2 = Tensor::randn({64, 5000}, DType::f32, &g);
    expect_thread_independent([&] { return scatter_add(x2, 1, i2, s2); });
}

TEST(IndexingDeterminism, EmbeddingAndIndexSelectBackward) {
    Generator g(8);
    Tensor w = Tensor::randn({50, 96}, DType::f32, &g);
    Tensor id = Tensor::randint(0, 50, {40, 100}, DType::i64, &g);
    Tensor up = Tensor::randn({40, 100, 96}, DType::f32, &g);
    expect_thread_independent([&] {
        Tensor leaf = w.detach().set_requires_grad(true);
        return grad({sum(mul(embedding(leaf, id), up))}, {leaf})[0];
    });
    Tensor sel = Tensor::randint(0, 50, {4000}, DType::i64, &g);
    Tensor up2 = Tensor::randn({4000, 96}, DType::f32, &g);
    expect_thread_independent([&] {
        Tensor leaf = w.detach().set_requires_grad(true);
        return grad({sum(mul(index_select(leaf, 0, sel), up2))}, {leaf})[0];
    });
}

TEST(IndexingDeterminism, DropoutMask) {
    Tensor x = Tensor::ones({300, 257});
    expect_thread_independent([&] {
        Generator g(3);
        return dropout(x, 0.25, true, &g);
    });
}

TEST(RandomOps, GeneratorAdvancesByMaskSize) {
    Generator g(11);
    dropout(Tensor::ones({3, 4}), 0.5, true, &g);
    EXPECT_EQ(g.offset(), 12u);
    drop_path(Tensor::ones({5, 2, 3}), 0.5, true, &g);
    EXPECT_EQ(g.offset(), 17u);
    dropout2d(Tensor::ones({2, 3, 4, 4}), 0.5, true, &g);
    EXPECT_EQ(g.offset(), 23u);
    // Identity cases draw nothing.
    dropout(Tensor::ones({3, 4}), 0.5, false, &g);
    dropout(Tensor::ones({3, 4}), 0.0, true, &g);
    drop_path(Tensor::ones({3, 4}), 0.3, false, &g);
    EXPECT_EQ(g.offset(), 23u);
}

TEST(RandomOps, KeepRateAndScale) {
    Generator g(5);
    const double p = 0.3;
    const std::vector<double> v = dropout(Tensor::ones({200000}, DType::f64), p, true, &g).to_vector();
    int64_t kept = 0;
    for (double e : v) {
        if (e != 0) {
            EXPECT_DOUBLE_EQ(e, 1.0 / (1.0 - p));
            ++kept;
        }
    }
    // Binomial(200000, 0.7): standard deviation ~205; 5 sigma.
    EXPECT_NEAR(static_cast<double>(kept), 0.7 * 200000, 1025);
    // drop_path keeps or drops whole samples.
    Tensor y = drop_path(Tensor::ones({64, 3, 5}), 0.5, true, &g);
    for (int64_t n = 0; n < 64; ++n) {
        const std::vector<double> s = y.select(0, n).contiguous().to_vector();
        for (double e : s) EXPECT_EQ(e, s[0]);
    }
}

TEST(RandomOps, IdentityReturnsInput) {
    Tensor x = Tensor::ones({2, 2});
    EXPECT_TRUE(dropout(x, 0.5, false).same(x));
    EXPECT_TRUE(drop_path(x, 0.0, true).same(x));
}

TEST(JoinSplit, GradientThroughSplitPieces) {
    Tensor x = Tensor::from_vector({1, 2, 3, 4, 5}, {5}, DType::f64).set_requires_grad(true);
    std::vector<Tensor> parts = split(x, int64_t{2}, 0);
    ASSERT_EQ(parts.size(), 3u);
    Tensor loss = add(add(sum(mul(parts[0], 1.0)), sum(mul(parts[1], 2.0))), sum(mul(parts[2], 3.0)));
    loss.backward();
    EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{1, 1, 2, 2, 3}));
    // chunk pieces are views of the input (no copy).
    std::vector<Tensor> c = chunk(x.detach(), 2, 0);
    ASSERT_EQ(c.size(), 2u);
    EXPECT_EQ(c[1].data<double>(), x.data<double>() + 3);
}

TEST(Indexing, ZeroDimInputs) {
    const Tensor s = Tensor::scalar(3.0);
    const Tensor zero = Tensor::from_vector({0}, {}, DType::i64);
    Tensor idx;
    EXPECT_EQ(sort(s, 0, false, &idx).item(), 3.0);
    EXPECT_EQ(idx.dim(), 0);
    EXPECT_EQ(idx.item(), 0.0);
    EXPECT_EQ(topk(s, 1, -1).item(), 3.0);
    EXPECT_EQ(gather(s, 0, zero).item(), 3.0);
    EXPECT_EQ(scatter(s, 0, zero, Tensor::scalar(5.0)).item(), 5.0);
    EXPECT_EQ(scatter_add(s, 0, zero, Tensor::scalar(5.0)).item(), 8.0);
    Tensor leaf = Tensor::scalar(2.0, DType::f64).set_requires_grad(true);
    EXPECT_EQ(grad({mul(sort(leaf), 4.0)}, {leaf})[0].item(), 4.0);
}

TEST(Indexing, SortIndicesAreStableAndNanLast) {
    const double nan = std::nan("");
    Tensor idx;
    Tensor v = sort(Tensor::from_vector({2, nan, 1, 2, 1}, {5}, DType::f32), 0, false, &idx);
    EXPECT_EQ(idx.to_vector(), (std::vector<double>{2, 4, 0, 3, 1}));
    Tensor vd = sort(Tensor::from_vector({2, nan, 1, 2, 1}, {5}, DType::f32), 0, true, &idx);
    EXPECT_EQ(idx.to_vector(), (std::vector<double>{1, 0, 3, 2, 4}));
    EXPECT_TRUE(std::isnan(vd.to_vector()[0]));
}

}  // namespace
}  // namespace wsdol
