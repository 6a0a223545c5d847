// test_autograd.cpp — the tape rules written in engine/autograd/autograd.h, one test per rule.
#include <gtest/gtest.h>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"

namespace wsdol {
namespace {

Tensor leaf(std::vector<double> v) {
    Tensor t = Tensor::from_vector(v, {static_cast<int64_t>(v.size())}, DType::f64);
    t.set_requires_grad(true);
    return t;
}

TEST(Autograd, Rule1RecordsOnlyWhenNeeded) {
    Tensor a = Tensor::ones({2}), b = Tensor::ones({2});
    EXPECT_FALSE(add(a, b).requires_grad());
    EXPECT_EQ(add(a, b).grad_fn(), nullptr);
    a.set_requires_grad(true);
    Tensor c = add(a, b);
    ASSERT_NE(c.grad_fn(), nullptr);
    EXPECT_EQ(c.grad_fn()->op, "add");
    EXPECT_FALSE(c.is_leaf());
    EXPECT_THROW(c.set_requires_grad(true), Error);
    EXPECT_THROW(Tensor::zeros({2}, DType::i64).set_requires_grad(true), Error);
}

TEST(Autograd, Rule3LeafGradsAccumulateUntilZeroed) {
    Tensor x = leaf({1, 2, 3});
    sum(mul(x, x)).backward();
    EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{2, 4, 6}));
    sum(mul(x, x)).backward();
    EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{4, 8, 12}));
    x.zero_grad();
    EXPECT_FALSE(x.grad().defined());
    sum(x).backward();
    EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{1, 1, 1}));
}

TEST(Autograd, Rule4IntermediateGradsFreedUnlessRetained) {
    Tensor x = leaf({1, 2});
    Tensor y = mul(x, 3.0);
    Tensor z = mul(x, 5.0);
    z.retain_grad();
    sum(add(mul(y, y), z)).backward();
    EXPECT_FALSE(y.grad().defined());
    ASSERT_TRUE(z.grad().defined());
    EXPECT_EQ(z.grad().to_vector(), (std::vector<double>{1, 1}));
    EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{18 * 1 + 5, 18 * 2 + 5}));
}

TEST(Autograd, HooksSeeAndReplaceGradients) {
    Tensor x = leaf({1, 2});
    Tensor y = mul(x, 2.0);
    Tensor seen;
    y.register_hook([&](const Tensor& g) { seen = g; return mul(g, 10.0); });
    x.register_hook([](const Tensor& g) { return add(g, 1.0); });
    sum(y).backward();
    EXPECT_EQ(seen.to_vector(), (std::vector<double>{1, 1}));
    EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{21, 21}));
}

TEST(Autograd, Rule5SecondBackwardThroughFreedGraphIsAnError) {
    Tensor x = leaf({1, 2});
    Tensor loss = sum(mul(x, x));
    loss.backward();
    try {
        loss.backward();
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("retain_graph"), std::string::npos) << e.what();
    }
    Tensor x2 = leaf({1, 2});
    Tensor loss2 = sum(mul(x2, x2));
    loss2.backward(Tensor(), /*retain_graph=*/true);
    loss2.backward();
    EXPECT_EQ(x2.grad().to_vector(), (std::vector<double>{4, 8}));
}

TEST(Autograd, Rule6DeepGraphsDoNotOverflowTheStack) {
    Tensor x = leaf({1.0});
    Tensor y = x;
    for (int i = 0; i < 200000; ++i) y = add(y, 1e-6);
    y.backward(Tensor::ones({1}, DType::f64));
    EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{1.0}));
}

TEST(Autograd, Rule6DiamondSumsBranches) {
    Tensor x = leaf({2.0});
    Tensor a = mul(x, 3.0), b = mul(x, x);
    Tensor c = mul(a, b);  // 3x^3 -> 9x^2 = 36
    c.backward(Tensor::ones({1}, DType::f64));
    EXPECT_DOUBLE_EQ(x.grad().item(), 36.0);
}

TEST(Autograd, Rule7NoGradAndDetach) {
    Tensor x = leaf({1, 2});
    {
        NoGradGuard guard;
        EXPECT_FALSE(grad_enabled());
        Tensor y = mul(x, 2.0);
        EXPECT_FALSE(y.requires_grad());
    }
    EXPECT_TRUE(grad_enabled());
    Tensor d = x.detach();
    EXPECT_FALSE(d.requires_grad());
    EXPECT_EQ(d.storage(), x.storage());
    EXPECT_THROW(sum(d).backward(), Error);
}

TEST(Autograd, GradOfIntermediatesLeavesLeavesAlone) {
    Tensor x = leaf({1, 2, 3});
    Tensor y = mul(x, 2.0);
    Tensor loss = sum(mul(y, y));
    TensorList g = grad({loss}, {y, x});
    EXPECT_EQ(g[0].to_vector(), (std::vector<double>{4, 8, 12}));
    EXPECT_EQ(g[1].to_vector(), (std::vector<double>{8, 16, 24}));
    EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, NonScalarBackwardNeedsAGradient) {
    Tensor x = leaf({1, 2});
    Tensor y = mul(x, 2.0);
    EXPECT_THROW(y.backward(), Error);
    EXPECT_THROW(y.backward(Tensor::ones({3}, DType::f64)), Error);
    y.backward(Tensor::from_vector({1, 10}, {2}, DType::f64));
    EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{2, 20}));
}

TEST(Autograd, ViewsPropagateGradients) {
    Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, DType::f64);
    x.set_requires_grad(true);
    Tensor y = x.t().slice(0, 1, 3).reshape({4});  // columns 1..2
    sum(mul(y, y)).backward();
    EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{0, 4, 6, 0, 10, 12}));
}

TEST(Autograd, FrozenOperandsGetNoGradientAndOthersAreUnchanged) {
    Generator gen(5);
    Tensor x = Tensor::randn({3, 4}, DType::f64, &gen), w = Tensor::randn({2, 4}, DType::f64, &gen);
    Tensor b = Tensor::randn({2}, DType::f64, &gen);
    // reference: everything trainable
    Tensor x1 = x.clone().set_requires_grad(true), w1 = w.clone().set_requires_grad(true);
    Tensor b1 = b.clone().set_requires_grad(true);
    sum(mul(linear(x1, w1, b1), linear(x1, w1, b1))).backward();
    sum(matmul(x1, w1.t())).backward();
    // frozen weight and bias (a frozen backbone): x's gradient is the same, the frozen ones get none
    Tensor x2 = x.clone().set_requires_grad(true);
    sum(mul(linear(x2, w, b), linear(x2, w, b))).backward();
    sum(matmul(x2, w.t())).backward();
    EXPECT_EQ(x2.grad().to_vector(), x1.grad().to_vector());
    EXPECT_FALSE(w.grad().defined());
    // frozen input: the weight still learns
    Tensor w3 = w.clone().set_requires_grad(true);
    sum(matmul(x, w3.t())).backward();
    sum(mul(linear(x, w3, b), linear(x, w3, b))).backward();
    ASSERT_TRUE(w3.grad().defined());
    EXPECT_EQ(w3.grad().to_vector(), w1.grad().to_vector());
}

}  // namespace
}  // namespace wsdol
