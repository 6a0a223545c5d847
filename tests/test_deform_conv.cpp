// test_deform_conv.cpp — deform_conv2d beyond the op registry: the one-sided offset gradient at integer sample
// positions and on the border (against forward differences and mmcv's zero-outside rule), thread-count
// determinism, chunked columns, bad-input errors, and parity with torchvision.ops.deform_conv2d on fixtures from
// tests/reference/deform/gen_deform.py (forward and every gradient).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "engine/autograd/autograd.h"
#include "engine/ops/deform_conv.h"
#include "engine/ops/ops.h"
#include "kernels/cpu/parallel.h"
#include "tests/error_matchers.h"
#include "tests/parity_util.h"

namespace wsdol {
namespace {

using test::expect_error;

Tensor det_rand(const Shape& s, uint64_t seed, double lo = -1, double hi = 1) {
    std::vector<double> v(shape_numel(s));
    uint64_t z = seed * 0x9E3779B97F4A7C15ull + 1;
    for (double& x : v) {
        z ^= z << 13; z ^= z >> 7; z ^= z << 17;
        x = lo + (hi - lo) * static_cast<double>(z >> 11) / 9007199254740992.0;
    }
    return Tensor::from_vector(v, s, DType::f64);
}

// L = sum(r * deform_conv2d(x, off, w)) for a fixed r.
double objective(const Tensor& x, const Tensor& off, const Tensor& w, const Tensor& r, Int2 pad) {
    NoGradGuard ng;
    return sum(mul(deform_conv2d(x, off, w, Tensor(), {1, 1}, pad), r)).item();
}

// At an integer sample coordinate the offset gradient is the right-hand derivative (the cell [floor(p), floor(p)+1]),
// and 0 when the sample is outside (-1, H) x (-1, W) (mmcv; p = -1 included). Offsets: integers and border values.
TEST(DeformConv, OneSidedOffsetGradientAtIntegersAndBorder) {
    const int64_t H = 4, W = 5;
    const Tensor x = det_rand({1, 2, H, W}, 1), w = det_rand({3, 2, 3, 3}, 2), r = det_rand({1, 3, H, W}, 3);
    const std::vector<double> values{-1.0, 1.0, 0.0, 2.0, -2.0, 1.0, -1.0, 3.0, -3.0, 0.0, 4.0, -4.0, 5.0};
    std::vector<double> ov(18 * H * W);
    for (size_t i = 0; i < ov.size(); ++i) ov[i] = values[(i * 5 + i / 3) % values.size()];
    Tensor off = Tensor::from_vector(ov, {1, 18, H, W}, DType::f64);
    Tensor off_g = off.clone();
    off_g.set_requires_grad(true);
    Tensor y = deform_conv2d(x, off_g, w, Tensor(), {1, 1}, {1, 1});
    sum(mul(y, r)).backward();
    const std::vector<double> g = off_g.grad().to_vector();
    const double base = objective(x, off, w, r, {1, 1});
    const double eps = 1e-7;
    int outside = 0, inside = 0;
    for (int64_t ch = 0; ch < 18; ++ch)
        for (int64_t oh = 0; oh < H; ++oh)
            for (int64_t ow = 0; ow < W; ++ow) {
                const int64_t k = ch / 2, ki = k / 3, kj = k % 3;
                const int64_t iy = ((2 * k) * H + oh) * W + ow, ix = ((2 * k + 1) * H + oh) * W + ow;
                const double py = static_cast<double>(oh - 1 + ki) + ov[iy], px = static_cast<double>(ow - 1 + kj) + ov[ix];
                const int64_t idx = (ch * H + oh) * W + ow;
                if (py <= -1 || py >= H || px <= -1 || px >= W) {
                    EXPECT_EQ(g[idx], 0.0) << "sample (" << py << ", " << px << ") outside: no gradient";
                    ++outside;
                    continue;
                }
                std::vector<double> pv = ov;
                pv[idx] += eps;
                const double fd = (objective(x, Tensor::from_vector(pv, {1, 18, H, W}, DType::f64), w, r, {1, 1}) - base) / eps;
                EXPECT_NEAR(g[idx], fd, 1e-5 * (1 + std::abs(fd))) << "channel " << ch << " at (" << oh << ", " << ow
                                                                  << "), sample (" << py << ", " << px << ")";
                ++inside;
            }
    EXPECT_GT(outside, 20);
    EXPECT_GT(inside, 100);
}

TEST(DeformConv, BitIdenticalForAnyThreadCountAndChunking) {
    const Tensor x = det_rand({3, 4, 6, 5}, 11).to(DType::f32), w = det_rand({5, 4, 3, 3}, 12).to(DType::f32);
    const Tensor off = det_rand({3, 36, 6, 5}, 13, -2.5, 2.5).to(DType::f32);
    const Tensor m = det_rand({3, 18, 6, 5}, 14, 0, 1).to(DType::f32);
    const int previous_threads = cpu::num_threads();
    auto run = [&](int threads, int64_t budget) {
        cpu::set_num_threads(threads);
        const int64_t prev = conv2d_column_budget();
        set_conv2d_column_budget(budget);
        Tensor xs = x.clone(), os = off.clone(), ws = w.clone(), ms = m.clone();
        for (Tensor* t : {&xs, &os, &ws, &ms}) t->set_requires_grad(true);
        Tensor y = deform_conv2d(xs, os, ws, Tensor(), {1, 1}, {1, 1}, {1, 1}, ms);
        sum(mul(y, y)).backward();
        set_conv2d_column_budget(prev);
        return std::vector<Tensor>{y.detach(), xs.grad(), os.grad(), ws.grad(), ms.grad()};
    };
    const auto a = run(1, int64_t(1) << 24), bb = run(2, int64_t(1) << 24);
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].to_vector(), bb[i].to_vector()) << "output " << i;
    // Chunks of one image change the weight gradient's summation order only; everything else is identical.
    const auto c = run(2, 4 * 9 * 30);
    for (size_t i : {0, 1, 2, 4}) EXPECT_EQ(a[i].to_vector(), c[i].to_vector()) << "output " << i;
    EXPECT_LE(test::parity_error_fraction(c[3], a[3], 1e-5), 1.0);
    cpu::set_num_threads(previous_threads);
}

TEST(DeformConv, BadInputsNameTheOpAndShapes) {
    auto z = [](const Shape& s) { return Tensor::zeros(s); };
    expect_error([&] { deform_conv2d(z({1, 3, 5, 5}), z({1, 18, 5, 5}), z({2, 3, 3, 3}), Tensor(), {1, 1}, {0, 0}); },
                 "deform_conv2d", {"offset [1, 18, 5, 5]", "3, 3)"});
    expect_error([&] { deform_conv2d(z({1, 3, 5, 5}), z({1, 36, 5, 5}), z({2, 3, 3, 3}), Tensor(), {1, 1}, {1, 1}); },
                 "deform_conv2d", {"2 offset groups", "3 input channels"});
    expect_error([&] {
        deform_conv2d(z({1, 2, 5, 5}), z({1, 18, 5, 5}), z({2, 2, 3, 3}), Tensor(), {1, 1}, {1, 1}, {1, 1},
                      z({1, 18, 5, 5}));
    }, "deform_conv2d", {"mask [1, 18, 5, 5]", "(1, 9, 5, 5)"});
    expect_error([&] { deform_conv2d(z({1, 4, 5, 5}), z({1, 18, 5, 5}), z({2, 3, 3, 3}), Tensor(), {1, 1}, {1, 1}); },
                 "deform_conv2d", {"weight [2, 3, 3, 3]", "[1, 4, 5, 5]"});
    expect_error([&] { deform_conv2d(z({1, 2, 5, 5}), z({1, 18, 5, 5}), z({2, 2, 3, 3}), z({3}), {1, 1}, {1, 1}); },
                 "deform_conv2d", {"bias [3]", "2 output channels"});
    expect_error([&] { deform_conv2d(z({2, 5, 5}), z({1, 18, 5, 5}), z({2, 2, 3, 3})); }, "deform_conv2d",
                 {"4-D", "[2, 5, 5]"});
}

// Parity with torchvision.ops.deform_conv2d (f64): for each fixture case, y and the gradients of
// L = sum(r * y) for x, offset, weight, bias, mask. The generator applies mmcv's rule where torchvision
// differs (the offset gradient of samples exactly at -1, see gen_deform.py) and stores how often it did.
TEST(DeformConv, MatchesTorchvisionFixtures) {
    const std::string path = std::string(WSDOL_SOURCE_DIR) + "/tests/reference/deform/deform_conv2d.safetensors";
    const test::ParityFixture f(path);
    auto get = [&](const std::string& k) { return f.at(k); };
    const int64_t cases = static_cast<int64_t>(get("num_cases").item());
    ASSERT_GE(cases, 8);
    int64_t corrected = 0;
    for (int64_t i = 0; i < cases; ++i) {
        const std::string p = "case" + std::to_string(i) + ".";
        const std::vector<double> cfg = get(p + "config").to_vector();  // sH sW pH pW dH dW has_bias has_mask
        const Int2 s{int64_t(cfg[0]), int64_t(cfg[1])}, pd{int64_t(cfg[2]), int64_t(cfg[3])},
            dl{int64_t(cfg[4]), int64_t(cfg[5])};
        const bool has_bias = cfg[6] != 0, has_mask = cfg[7] != 0;
        TensorList in{get(p + "x").clone(), get(p + "offset").clone(), get(p + "weight").clone()};
        Tensor b = has_bias ? get(p + "bias").clone() : Tensor(), m = has_mask ? get(p + "mask").clone() : Tensor();
        for (Tensor& t : in) t.set_requires_grad(true);
        if (b.defined()) b.set_requires_grad(true);
        if (m.defined()) m.set_requires_grad(true);
        Tensor y = deform_conv2d(in[0], in[1], in[2], b, s, pd, dl, m);
        sum(mul(y, get(p + "r"))).backward();
        auto near = [&](const Tensor& a, const std::string& k) {
            const Tensor e = get(p + k);
            ASSERT_EQ(a.shape(), e.shape()) << p << k;
            const auto av = a.to_vector(), ev = e.to_vector();
            double worst = 0;
            for (size_t j = 0; j < av.size(); ++j) worst = std::max(worst, std::abs(av[j] - ev[j]) / (1 + std::abs(ev[j])));
            EXPECT_LE(worst, 1e-12) << p << k;
        };
        near(y.detach(), "y");
        near(in[0].grad(), "grad_x");
        near(in[1].grad(), "grad_offset");
        near(in[2].grad(), "grad_weight");
        if (has_bias) near(b.grad(), "grad_bias");
        if (has_mask) near(m.grad(), "grad_mask");
        corrected += static_cast<int64_t>(get(p + "mmcv_corrected").item());
    }
    EXPECT_GT(corrected, 0) << "the fixtures should exercise samples exactly at -1";
}

}  // namespace
}  // namespace wsdol
