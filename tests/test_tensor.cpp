// test_tensor.cpp — the Tensor class: factories, views without copies, dtypes and conversions, printing,
// the caching allocator and the RNG.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/ops/ops.h"

namespace wsdol {
namespace {

TEST(Tensor, FactoriesAndMetadata) {
    Tensor z = Tensor::zeros({2, 3});
    EXPECT_EQ(z.shape(), (Shape{2, 3}));
    EXPECT_EQ(z.strides(), (Shape{3, 1}));
    EXPECT_EQ(z.numel(), 6);
    EXPECT_EQ(z.dtype(), DType::f32);
    EXPECT_TRUE(z.device().is_cpu());
    EXPECT_TRUE(z.is_contiguous());
    EXPECT_EQ(Tensor::full({4}, 2.5, DType::f64).to_vector(), (std::vector<double>{2.5, 2.5, 2.5, 2.5}));
    EXPECT_EQ(Tensor::arange(4).to_vector(), (std::vector<double>{0, 1, 2, 3}));
    EXPECT_EQ(Tensor::arange(4).dtype(), DType::i64);
    EXPECT_EQ(Tensor::scalar(3.0).dim(), 0);
    EXPECT_DOUBLE_EQ(Tensor::scalar(3.0).item(), 3.0);
    EXPECT_THROW(Tensor::zeros({2, -1}), Error);
    EXPECT_THROW(Tensor::zeros({1, 1, 1, 1, 1, 1, 1, 1, 1}), Error);  // 9 dims
}

TEST(Tensor, ViewsShareStorage) {
    Tensor x = Tensor::arange(0, 24, 1, DType::f32).view({2, 3, 4});
    Tensor p = x.permute({2, 0, 1});
    EXPECT_EQ(p.storage(), x.storage());
    EXPECT_FALSE(p.is_contiguous());
    EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
    EXPECT_EQ(p.strides(), (Shape{1, 12, 4}));
    Tensor s = x.slice(2, 1, 4, 2);  // elements 1 and 3 of the last dim
    EXPECT_EQ(s.storage(), x.storage());
    EXPECT_EQ(s.to_vector(), (std::vector<double>{1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23}));
    Tensor e = Tensor::arange(0, 3, 1, DType::f32).view({3, 1}).expand({3, 4});
    EXPECT_EQ(e.strides(), (Shape{1, 0}));
    EXPECT_EQ(e.storage()->nbytes(), 3 * sizeof(float));
    // writing through a view changes the base
    x.select(0, 1).select(0, 2).fill_(-1);
    EXPECT_EQ(x.to_vector()[20], -1);
    // reshape of a permuted view copies; view refuses
    EXPECT_THROW(p.view({8, 3}), Error);
    Tensor r = p.reshape({8, 3});
    EXPECT_NE(r.storage(), x.storage());
    EXPECT_TRUE(r.is_contiguous());
    // reshape of a contiguous tensor is a view
    EXPECT_EQ(x.reshape({6, 4}).storage(), x.storage());
    EXPECT_EQ(x.reshape({-1}).shape(), (Shape{24}));
    EXPECT_THROW(x.reshape({5, -1}), Error);
    EXPECT_EQ(x.unsqueeze(1).shape(), (Shape{2, 1, 3, 4}));
    EXPECT_EQ(x.unsqueeze(-1).shape(), (Shape{2, 3, 4, 1}));
    EXPECT_EQ(x.unsqueeze(0).squeeze(0).shape(), x.shape());
    EXPECT_EQ(x.flatten(1).shape(), (Shape{2, 12}));
    EXPECT_THROW(x.select(1, 3), Error);
    EXPECT_THROW(x.permute({0, 0, 1}), Error);
    EXPECT_THROW(x.narrow(2, 3, 2), Error);
}

TEST(Tensor, Flip) {
    Tensor x = Tensor::arange(0, 6, 1, DType::f32).view({2, 3});
    EXPECT_EQ(x.flip({1}).to_vector(), (std::vector<double>{2, 1, 0, 5, 4, 3}));
    EXPECT_EQ(x.flip({0, 1}).to_vector(), (std::vector<double>{5, 4, 3, 2, 1, 0}));
    EXPECT_EQ(x.t().flip({0}).to_vector(), (std::vector<double>{2, 5, 1, 4, 0, 3}));
}

TEST(Tensor, DtypeConversions) {
    Tensor x = Tensor::from_vector({1.5, -2.25, 65504, 1e-8, 3.3}, {5}, DType::f64);
    EXPECT_EQ(x.to(DType::i64).to_vector(), (std::vector<double>{1, -2, 65504, 0, 3}));
    EXPECT_EQ(x.to(DType::boolean).to_vector(), (std::vector<double>{1, 1, 1, 1, 1}));
    // f16: exact for representable values, round-to-nearest-even otherwise
    std::vector<double> h = x.to(DType::f16).to_vector();
    EXPECT_EQ(h[0], 1.5);
    EXPECT_EQ(h[1], -2.25);
    EXPECT_EQ(h[2], 65504);
    EXPECT_NEAR(h[3], 1e-8, 6e-8);  // subnormal range of f16
    EXPECT_EQ(h[4], 3.30078125);    // nearest f16 to 3.3
    std::vector<double> b = x.to(DType::bf16).to_vector();
    EXPECT_EQ(b[0], 1.5);
    EXPECT_EQ(b[4], 3.296875);      // nearest bf16 to 3.3
}

TEST(Tensor, HalfConversionsMatchIeee) {
    // Every f16 bit pattern converts to f32 and back unchanged (NaNs stay NaN).
    for (uint32_t bits = 0; bits < 65536; ++bits) {
        const float f = f16_to_f32(static_cast<uint16_t>(bits));
        const uint16_t back = f32_to_f16(f);
        if (std::isnan(f)) EXPECT_TRUE(std::isnan(f16_to_f32(back)));
        else ASSERT_EQ(back, bits) << "f16 bits " << bits;
    }
    // Ties round to even: 1 + 2^-11 lies halfway between 1 and 1 + 2^-10.
    EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
    EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
    EXPECT_EQ(f32_to_f16(70000.0f), 0x7c00);  // overflow to inf
    EXPECT_EQ(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);  // tie to even
    EXPECT_EQ(bf16_to_f32(f32_to_bf16(3.0f)), 3.0f);
}

TEST(Tensor, HalfTensorsNeedExplicitConversionToCompute) {
    Tensor h = Tensor::ones({3}, DType::f16);
    try {
        add(h, h);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("float16"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("float32"), std::string::npos) << e.what();
    }
    EXPECT_EQ(add(h.to(DType::f32), h.to(DType::f32)).to(DType::f16).to_vector(), (std::vector<double>{2, 2, 2}));
}

TEST(Tensor, PrintingLooksLikePyTorch) {
    Tensor x = Tensor::from_vector({1, 2.5, -3, 4}, {2, 2});
    EXPECT_EQ(x.to_string(), "tensor([[ 1.0000,  2.5000],\n        [-3.0000,  4.0000]], shape=[2, 2], dtype=float32, device=cpu)");
    EXPECT_EQ(Tensor::arange(3).to_string(), "tensor([0, 1, 2], shape=[3], dtype=int64, device=cpu)");
    Tensor big = Tensor::arange(0, 100, 1, DType::f32);
    const std::string s = big.to_string();
    EXPECT_NE(s.find("..."), std::string::npos);
    EXPECT_NE(s.find("99."), std::string::npos);
    Tensor leaf = Tensor::ones({1});
    leaf.set_requires_grad(true);
    EXPECT_NE(leaf.to_string().find("requires_grad=True"), std::string::npos);
    EXPECT_NE(mul(leaf, 2.0).to_string().find("grad_fn=<mul_scalar>"), std::string::npos);
}

TEST(Tensor, CachingAllocatorReusesBlocks) {
    Allocator& a = allocator_for(Device::cpu());
    a.release_cached();
    void* first;
    {
        Tensor t = Tensor::empty({1000});
        first = t.data_ptr();
    }
    EXPECT_GE(a.bytes_cached(), 4000u);
    Tensor u = Tensor::empty({1000});
    EXPECT_EQ(u.data_ptr(), first);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(u.data_ptr()) % 64, 0u);
    EXPECT_THROW(allocator_for(Device::cuda(0)), Error);
}

TEST(Tensor, RandomIsReproducibleAndThreadIndependent) {
    Generator g1(42), g2(42);
    Tensor a = Tensor::randn({1000}, DType::f32, &g1);
    Tensor b = Tensor::randn({1000}, DType::f32, &g2);
    EXPECT_EQ(a.to_vector(), b.to_vector());
    EXPECT_EQ(g1.offset(), 1000u);
    Tensor c = Tensor::randn({1000}, DType::f32, &g1);
    EXPECT_NE(a.to_vector(), c.to_vector());
    // statistics
    Generator g3(7);
    std::vector<double> n = Tensor::randn({100000}, DType::f64, &g3).to_vector();
    double mean = 0, var = 0;
    for (double v : n) mean += v;
    mean /= n.size();
    for (double v : n) var += (v - mean) * (v - mean);
    var /= n.size();
    EXPECT_NEAR(mean, 0.0, 0.02);
    EXPECT_NEAR(var, 1.0, 0.02);
    std::vector<double> u = Tensor::rand({100000}, DType::f32, &g3).to_vector();
    for (double v : u) ASSERT_TRUE(v >= 0.0 && v < 1.0);
    std::vector<double> r = Tensor::randint(3, 7, {1000}, DType::i64, &g3).to_vector();
    for (double v : r) ASSERT_TRUE(v >= 3 && v < 7);
}

TEST(Tensor, ErrorsNameTheProblem) {
    Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4});
    try {
        add(a, b);
        FAIL();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "add: shapes [2, 3] and [4] cannot be broadcast (dim 1: 3 vs 4)");
    }
    try {
        Tensor().shape();
        FAIL();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "use of an undefined tensor");
    }
    EXPECT_THROW(Tensor::zeros({2}).item(), Error);
    EXPECT_THROW(Tensor::zeros({2}).data<double>(), Error);
    EXPECT_THROW(Device::parse("gpu"), Error);
    EXPECT_EQ(Device::parse("cuda:3").name(), "cuda:3");
}

}  // namespace
}  // namespace wsdol
