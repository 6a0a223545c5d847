// test_gemm.cpp — the CPU "gemm" kernel (kernels/cpu/gemm.cpp) called directly through GemmArgs.
//
// Exact checks use small-integer-valued inputs: every product and partial sum is an integer below 2^24, so the
// f32 result is exact whatever the summation order or FMA use, and must equal a plain double loop bit for bit.
// Random-float checks use an error bound of the sequential-summation kind: |err| <= (k + 4) u sum_p |a||b|.
// Determinism checks compare bits across thread counts and across the kernel's internal paths. The GemmSimd
// tests run every check at each SIMD level this machine can run (kernels/cpu/simd.h) and compare levels; ctest
// also reruns the whole file with WSDOL_SIMD=avx2 and =scalar (CMakeLists.txt).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "engine/ops/linalg.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/simd.h"
#include "tests/cli_test_util.h"

namespace wsdol {
namespace {

template <typename T>
GemmKernel* gemm_kernel() {
    return find_kernel<GemmKernel>("gemm", Device::cpu(), dtype_of<T>::value);
}

// One call's layout: sizes, transposes, padding of the leading dims, batch and which operands repeat.
struct Layout {
    bool ta = false, tb = false;
    int64_t m = 1, n = 1, k = 1;
    int64_t pad_a = 0, pad_b = 0, pad_c = 0;  // leading dim = row width + pad
    int64_t batch = 1;
    bool repeat_a = false, repeat_b = false;  // batch stride 0
    double alpha = 1.0, beta = 0.0;
};

std::string describe(const Layout& L) {
    return str("m=", L.m, " n=", L.n, " k=", L.k, " ta=", L.ta, " tb=", L.tb, " pads=", L.pad_a, "/", L.pad_b, "/",
               L.pad_c, " batch=", L.batch, " repeat=", L.repeat_a, L.repeat_b, " alpha=", L.alpha,
               " beta=", L.beta);
}

// Operand storage for a Layout, filled by `gen`, and the matching GemmArgs.
template <typename T>
struct Operands {
    Layout L;
    int64_t lda, ldb, ldc, stride_a, stride_b, stride_c;
    std::vector<T> a, b, c;
    template <typename Gen>
    Operands(const Layout& layout, Gen&& gen, T c_fill_nan = T(0)) : L(layout) {
        const int64_t a_rows = L.ta ? L.k : L.m, a_cols = L.ta ? L.m : L.k;
        const int64_t b_rows = L.tb ? L.n : L.k, b_cols = L.tb ? L.k : L.n;
        lda = a_cols + L.pad_a;
        ldb = b_cols + L.pad_b;
        ldc = L.n + L.pad_c;
        stride_a = L.repeat_a ? 0 : a_rows * lda;
        stride_b = L.repeat_b ? 0 : b_rows * ldb;
        stride_c = L.m * ldc;
        a.resize((L.repeat_a ? 1 : L.batch) * a_rows * lda);
        b.resize((L.repeat_b ? 1 : L.batch) * b_rows * ldb);
        c.resize(L.batch * L.m * ldc);
        for (auto& v : a) v = gen();
        for (auto& v : b) v = gen();
        for (auto& v : c) v = gen();
        if (c_fill_nan != T(0))
            for (auto& v : c) v = c_fill_nan;
    }
    T op_a(int64_t bi, int64_t i, int64_t p) const {
        return a[bi * stride_a + (L.ta ? p * lda + i : i * lda + p)];
    }
    T op_b(int64_t bi, int64_t p, int64_t j) const {
        return b[bi * stride_b + (L.tb ? j * ldb + p : p * ldb + j)];
    }
    GemmArgs args(std::vector<T>& out) const {
        GemmArgs g;
        g.trans_a = L.ta;
        g.trans_b = L.tb;
        g.m = L.m; g.n = L.n; g.k = L.k;
        g.a = a.data(); g.lda = lda; g.stride_a = stride_a;
        g.b = b.data(); g.ldb = ldb; g.stride_b = stride_b;
        g.c = out.data(); g.ldc = ldc; g.stride_c = stride_c;
        g.batch = L.batch;
        g.alpha = L.alpha;
        g.beta = L.beta;
        return g;
    }
    std::vector<T> run() const {
        std::vector<T> out = c;
        gemm_kernel<T>()(args(out));
        return out;
    }
    // Plain loop in double. Returns the expected C (padding columns keep their old values) and, per element,
    // alpha-scaled sum |a||b| + |beta c| for error bounds.
    std::vector<double> reference(std::vector<double>* magnitude = nullptr) const {
        std::vector<double> want(c.begin(), c.end());
        if (magnitude) magnitude->assign(c.size(), 0.0);
        for (int64_t bi = 0; bi < L.batch; ++bi)
            for (int64_t i = 0; i < L.m; ++i)
                for (int64_t j = 0; j < L.n; ++j) {
                    double acc = 0, mag = 0;
                    for (int64_t p = 0; p < L.k; ++p) {
                        const double x = op_a(bi, i, p), y = op_b(bi, p, j);
                        acc += x * y;
                        mag += std::fabs(x * y);
                    }
                    const int64_t at = bi * stride_c + i * ldc + j;
                    const double old = c[at];
                    want[at] = L.alpha * acc + (L.beta == 0.0 ? 0.0 : L.beta * old);
                    if (magnitude) (*magnitude)[at] = std::fabs(L.alpha) * mag + std::fabs(L.beta * old);
                }
        return want;
    }
};

// Small integers in [-4, 4]: products <= 16, sums of up to 2^20 terms stay exact in f32.
struct IntGen {
    std::mt19937 rng;
    std::uniform_int_distribution<int> d{-4, 4};
    explicit IntGen(uint32_t seed) : rng(seed) {}
    double operator()() { return d(rng); }
};
struct FloatGen {
    std::mt19937 rng;
    std::uniform_real_distribution<double> d{-1.0, 1.0};
    explicit FloatGen(uint32_t seed) : rng(seed) {}
    double operator()() { return d(rng); }
};

template <typename T>
bool same_bits(T x, T y) {
    return std::memcmp(&x, &y, sizeof(T)) == 0;
}

// Exact check: every element of C (padding included) equals the reference exactly. (Compared with ==, so the
// sign of an exact zero may differ: it depends on the summation order, which is the kernel's to choose.)
template <typename T>
void expect_exact(const Layout& L, uint32_t seed) {
    IntGen gen(seed);
    Operands<T> ops(L, [&] { return static_cast<T>(gen()); });
    const std::vector<T> got = ops.run();
    const std::vector<double> want = ops.reference();
    for (size_t i = 0; i < got.size(); ++i) {
        if (!(got[i] == static_cast<T>(want[i]))) {
            ADD_FAILURE() << describe(L) << ": C[" << i << "] = " << got[i] << ", expected " << want[i];
            return;
        }
    }
}

const std::vector<int64_t> kOddSizes = {1, 2, 3, 5, 6, 7, 11, 16, 17, 31, 37, 64, 70};

TEST(Gemm, ExactSmallSizesAllTransposesF32) {
    uint32_t seed = 1;
    for (int t = 0; t < 4; ++t)
        for (int64_t m : kOddSizes)
            for (int64_t n : kOddSizes)
                for (int64_t k : kOddSizes) {
                    Layout L;
                    L.ta = t & 1;
                    L.tb = t & 2;
                    L.m = m; L.n = n; L.k = k;
                    expect_exact<float>(L, seed++);
                }
}

TEST(Gemm, ExactEverySizeOneToSeventyF32) {
    // Each of m, n, k swept over 1..70 with the others fixed at odd values: every residue of the 6x16 tile.
    uint32_t seed = 100;
    for (int t = 0; t < 4; ++t)
        for (int64_t s = 1; s <= 70; ++s) {
            for (int which = 0; which < 3; ++which) {
                Layout L;
                L.ta = t & 1;
                L.tb = t & 2;
                L.m = which == 0 ? s : 29;
                L.n = which == 1 ? s : 23;
                L.k = which == 2 ? s : 19;
                expect_exact<float>(L, seed++);
            }
        }
}

TEST(Gemm, ExactLargeF32) {
    // Several MC/NC blocks, and k beyond one k-chunk (KC = 256): 300 -> 2 chunks, 700 -> 3 chunks.
    const int64_t shapes[][3] = {{257, 511, 130}, {130, 257, 511}, {300, 200, 700}, {149, 4100, 37}};
    uint32_t seed = 500;
    for (auto& s : shapes)
        for (int t = 0; t < 4; ++t) {
            Layout L;
            L.ta = t & 1;
            L.tb = t & 2;
            L.m = s[0]; L.n = s[1]; L.k = s[2];
            expect_exact<float>(L, seed++);
        }
}

TEST(Gemm, ExactPaddedLeadingDimsAlphaBeta) {
    // lda/ldb/ldc wider than the rows; C's padding columns must keep their old values (checked exactly).
    const double alphas[] = {1.0, 2.0, -0.5};
    const double betas[] = {0.0, 1.0, -2.0, 0.25};
    uint32_t seed = 900;
    for (int t = 0; t < 4; ++t)
        for (double alpha : alphas)
            for (double beta : betas)
                for (int64_t size : {5, 33, 97}) {
                    Layout L;
                    L.ta = t & 1;
                    L.tb = t & 2;
                    L.m = size; L.n = size + 4; L.k = size * 3 + 1;
                    L.pad_a = 3; L.pad_b = 7; L.pad_c = 5;
                    L.alpha = alpha;
                    L.beta = beta;
                    expect_exact<float>(L, seed++);
                }
}

TEST(Gemm, ExactBatchedWithRepeatedOperands) {
    uint32_t seed = 1300;
    for (int t = 0; t < 4; ++t)
        for (int repeat = 0; repeat < 4; ++repeat)
            for (int64_t batch : {1, 2, 3, 9, 24})
                for (int64_t size : {4, 19, 80}) {
                    Layout L;
                    L.ta = t & 1;
                    L.tb = t & 2;
                    L.m = size; L.n = size + 3; L.k = size + 1;
                    L.batch = batch;
                    L.repeat_a = repeat & 1;
                    L.repeat_b = repeat & 2;
                    L.pad_c = repeat == 3 ? 2 : 0;
                    L.beta = repeat == 1 ? 1.0 : 0.0;
                    expect_exact<float>(L, seed++);
                }
}

TEST(Gemm, ExactF64) {
    uint32_t seed = 1700;
    for (int t = 0; t < 4; ++t)
        for (int64_t m : {1, 5, 6, 13, 70})
            for (int64_t n : {1, 7, 8, 9, 33})
                for (int64_t k : {1, 4, 37, 300}) {
                    Layout L;
                    L.ta = t & 1;
                    L.tb = t & 2;
                    L.m = m; L.n = n; L.k = k;
                    L.pad_b = 1;
                    L.alpha = 2.0;
                    L.beta = m == 5 ? -1.0 : 0.0;
                    expect_exact<double>(L, seed++);
                }
    Layout big;
    big.m = 257; big.n = 211; big.k = 130;
    big.tb = true;
    expect_exact<double>(big, seed++);
}

TEST(Gemm, BetaZeroIgnoresNanInC) {
    for (int64_t size : {1, 3, 20, 150}) {
        for (int t = 0; t < 4; ++t) {
            Layout L;
            L.ta = t & 1;
            L.tb = t & 2;
            L.m = size; L.n = size + 1; L.k = 2 * size + 300;  // two k-chunks for the large ones
            IntGen gen(7 + size);
            Operands<float> ops(L, [&] { return static_cast<float>(gen()); }, std::numeric_limits<float>::quiet_NaN());
            const std::vector<float> got = ops.run();
            const std::vector<double> want = ops.reference();
            for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], want[i]) << describe(L) << " at " << i;
        }
    }
    // And the k == 0 and alpha == 0 shortcuts: C = beta * C, zeros for beta == 0, even over NaN.
    for (double alpha : {0.0, 1.0}) {
        Layout L;
        L.m = 4; L.n = 5; L.k = alpha == 0.0 ? 3 : 0;
        L.alpha = alpha;
        Operands<float> ops(L, [] { return std::numeric_limits<float>::quiet_NaN(); });
        for (float v : ops.run()) EXPECT_EQ(v, 0.0f);
    }
}

TEST(Gemm, RandomFloatsWithinErrorBound) {
    const int64_t shapes[][3] = {{1, 1000, 300}, {2, 77, 513}, {13, 17, 19}, {100, 120, 140}, {257, 65, 600}};
    uint32_t seed = 2000;
    for (auto& s : shapes)
        for (int t = 0; t < 4; ++t) {
            Layout L;
            L.ta = t & 1;
            L.tb = t & 2;
            L.m = s[0]; L.n = s[1]; L.k = s[2];
            L.alpha = 0.75;
            L.beta = -1.5;
            FloatGen gen(seed++);
            Operands<float> ops(L, [&] { return static_cast<float>(gen()); });
            const std::vector<float> got = ops.run();
            std::vector<double> mag;
            const std::vector<double> want = ops.reference(&mag);
            const double u = std::ldexp(1.0, -24);
            for (size_t i = 0; i < got.size(); ++i) {
                const double bound = (L.k + 4) * u * mag[i] + 1e-30;
                ASSERT_LE(std::fabs(got[i] - want[i]), bound) << describe(L) << " at " << i;
            }
        }
}

// Runs the same call at several thread counts; the outputs must be bit-identical.
template <typename T>
void expect_thread_independent(const Layout& L, uint32_t seed) {
    FloatGen gen(seed);
    Operands<T> ops(L, [&] { return static_cast<T>(gen()); });
    const int saved = cpu::num_threads();
    cpu::set_num_threads(1);
    const std::vector<T> one = ops.run();
    for (int threads : {2, 3, 4}) {
        cpu::set_num_threads(threads);
        const std::vector<T> many = ops.run();
        ASSERT_EQ(std::memcmp(one.data(), many.data(), one.size() * sizeof(T)), 0)
            << describe(L) << ": bits differ between 1 and " << threads << " threads";
    }
    cpu::set_num_threads(saved);
}

TEST(Gemm, BitsIndependentOfThreadCount) {
    uint32_t seed = 3000;
    const int64_t shapes[][4] = {  // m, n, k, batch
        {257, 511, 130, 1}, {600, 300, 700, 1}, {12, 3000, 260, 1}, {2, 5000, 300, 1}, {97, 64, 64, 24},
        {197, 197, 64, 6}, {300, 40, 520, 3}};
    for (auto& s : shapes)
        for (int t = 0; t < 4; ++t) {
            Layout L;
            L.ta = t & 1;
            L.tb = t & 2;
            L.m = s[0]; L.n = s[1]; L.k = s[2];
            L.batch = s[3];
            L.beta = 0.5;
            expect_thread_independent<float>(L, seed++);
            if (t == 0) expect_thread_independent<double>(L, seed++);
        }
}

TEST(Gemm, BitsIndependentOfPath) {
    // A row computed alone (direct path, M = 1) equals the same row of a full packed product (n = 70: packed A;
    // n = 50: A read in place); a batch of matrices sharing B equals the folded tall product computed matrix by
    // matrix.
    for (int t = 0; t < 8; ++t) {
        Layout L;
        L.ta = t & 1;
        L.tb = t & 2;
        L.m = 50; L.n = t & 4 ? 50 : 70; L.k = 600;
        L.beta = 1.0;
        FloatGen gen(4000 + t);
        Operands<float> ops(L, [&] { return static_cast<float>(gen()); });
        const std::vector<float> full = ops.run();
        for (int64_t i : {0, 7, 49}) {
            std::vector<float> row(ops.c.begin() + i * ops.ldc, ops.c.begin() + (i + 1) * ops.ldc);
            GemmArgs g = ops.args(row);
            g.m = 1;
            g.a = ops.a.data() + (L.ta ? i : i * ops.lda);
            gemm_kernel<float>()(g);
            for (int64_t j = 0; j < L.n; ++j)
                ASSERT_TRUE(same_bits(row[j], full[i * ops.ldc + j])) << describe(L) << " row " << i << " col " << j;
        }
    }
    Layout L;
    L.m = 40; L.n = 33; L.k = 300;
    L.batch = 5;
    L.repeat_b = true;
    FloatGen gen(4100);
    Operands<float> ops(L, [&] { return static_cast<float>(gen()); });
    const std::vector<float> folded = ops.run();
    std::vector<float> single = ops.c;
    for (int64_t bi = 0; bi < L.batch; ++bi) {
        GemmArgs g = ops.args(single);
        g.batch = 1;
        g.a = ops.a.data() + bi * ops.stride_a;
        g.c = single.data() + bi * ops.stride_c;
        gemm_kernel<float>()(g);
    }
    ASSERT_EQ(std::memcmp(folded.data(), single.data(), folded.size() * sizeof(float)), 0);
}

TEST(Gemm, MatmulUsesKernelExactly) {
    // The op level: a transposed view and a batched product, integer inputs, exact against a plain loop.
    Tensor a = Tensor::randint(-4, 5, {3, 70, 45}, DType::i64).to(DType::f32);
    Tensor b = Tensor::randint(-4, 5, {3, 33, 45}, DType::i64).to(DType::f32);
    Tensor c = matmul(a, b.transpose(-1, -2));  // (3, 70, 33)
    std::vector<double> va = a.to_vector(), vb = b.to_vector(), vc = c.to_vector();
    for (int64_t bi = 0; bi < 3; ++bi)
        for (int64_t i = 0; i < 70; ++i)
            for (int64_t j = 0; j < 33; ++j) {
                double acc = 0;
                for (int64_t p = 0; p < 45; ++p) acc += va[(bi * 70 + i) * 45 + p] * vb[(bi * 33 + j) * 45 + p];
                ASSERT_EQ(vc[(bi * 70 + i) * 33 + j], acc);
            }
}

// ---- SIMD levels ----------------------------------------------------------------------------------------------

// Runs the enclosing scope at one SIMD level and restores the level in use before.
struct ScopedSimdLevel {
    cpu::SimdLevel saved;
    explicit ScopedSimdLevel(cpu::SimdLevel level) : saved(cpu::simd_level()) { cpu::set_simd_level(level); }
    ~ScopedSimdLevel() { cpu::set_simd_level(saved); }
};

std::vector<cpu::SimdLevel> available_levels() {
    std::vector<cpu::SimdLevel> levels;
    for (cpu::SimdLevel l : {cpu::SimdLevel::scalar, cpu::SimdLevel::avx2, cpu::SimdLevel::avx512})
        if (cpu::simd_level_available(l)) levels.push_back(l);
    return levels;
}

TEST(GemmSimd, DetectionAndForcing) {
    EXPECT_TRUE(cpu::simd_level_available(cpu::SimdLevel::scalar));
    EXPECT_TRUE(cpu::simd_level_available(cpu::detected_simd_level()));
    EXPECT_TRUE(cpu::simd_level_available(cpu::simd_level()));
    for (cpu::SimdLevel l : {cpu::SimdLevel::avx2, cpu::SimdLevel::avx512})
        if (!cpu::simd_level_available(l)) EXPECT_THROW(cpu::set_simd_level(l), Error);
    for (cpu::SimdLevel l : available_levels()) {
        ScopedSimdLevel scoped(l);
        EXPECT_EQ(cpu::simd_level(), l);
        EXPECT_NE(cpu::simd_kernels_description(l).find("GEMM f32"), std::string::npos);
    }
}

TEST(GemmSimd, VersionNamesTheKernelsAndBadValuesAreClearErrors) {
    const char* old = std::getenv("WSDOL_SIMD");
    const std::string saved = old ? old : "";
    setenv("WSDOL_SIMD", "scalar", 1);
    test::CliResult r = test::run_wsdol("version");
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("SIMD kernels: scalar (forced by WSDOL_SIMD"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("GEMM f32 6x16 portable"), std::string::npos) << r.output;
    setenv("WSDOL_SIMD", "sse9", 1);
    r = test::run_wsdol("version");
    EXPECT_NE(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("WSDOL_SIMD=sse9: expected one of avx512, avx2, scalar"), std::string::npos) << r.output;
    if (!cpu::simd_level_available(cpu::SimdLevel::avx512)) {
        setenv("WSDOL_SIMD", "avx512", 1);
        r = test::run_wsdol("version");
        EXPECT_NE(r.code, 0) << r.output;
        EXPECT_NE(r.output.find("WSDOL_SIMD=avx512"), std::string::npos) << r.output;
    }
    if (old) setenv("WSDOL_SIMD", saved.c_str(), 1);
    else unsetenv("WSDOL_SIMD");
}

TEST(GemmSimd, EveryLevelExactOnTileEdges) {
    // Sizes around both register tilings (6x16 and 12x32), k across a chunk boundary (KC = 256).
    for (cpu::SimdLevel level : available_levels()) {
        ScopedSimdLevel scoped(level);
        SCOPED_TRACE(cpu::simd_level_name(level));
        uint32_t seed = 5000;
        for (int64_t m : {1, 5, 12, 13, 25, 37})
            for (int64_t n : {3, 16, 31, 32, 33, 65, 97})
                for (int64_t k : {7, 300})
                    for (int t = 0; t < 4; ++t) {
                        Layout L;
                        L.ta = t & 1;
                        L.tb = t & 2;
                        L.m = m; L.n = n; L.k = k;
                        L.pad_c = 3;
                        L.beta = t == 3 ? 2.0 : 0.0;
                        expect_exact<float>(L, seed++);
                        if (t == 0 && m == 13) expect_exact<double>(L, seed++);
                    }
    }
}

TEST(GemmSimd, EveryLevelBitsIndependentOfThreadCount) {
    const int64_t shapes[][4] = {  // m, n, k, batch
        {257, 511, 130, 1}, {600, 300, 700, 1}, {2, 5000, 300, 1}, {197, 197, 64, 6}, {300, 40, 520, 3}};
    for (cpu::SimdLevel level : available_levels()) {
        ScopedSimdLevel scoped(level);
        SCOPED_TRACE(cpu::simd_level_name(level));
        uint32_t seed = 6000;
        for (auto& s : shapes)
            for (int t = 0; t < 4; t += 3) {
                Layout L;
                L.ta = t & 1;
                L.tb = t & 2;
                L.m = s[0]; L.n = s[1]; L.k = s[2];
                L.batch = s[3];
                L.beta = 0.5;
                expect_thread_independent<float>(L, seed++);
                if (t == 0) expect_thread_independent<double>(L, seed++);
            }
    }
}

TEST(GemmSimd, Avx2AndAvx512GiveTheSameBits) {
    // Same fused multiply-adds in the same order with the same k-chunks (gemm_microkernel.h): only the register
    // tiling differs, which changes no arithmetic.
    if (!cpu::simd_level_available(cpu::SimdLevel::avx512)) GTEST_SKIP() << "no AVX-512 on this machine";
    const int64_t shapes[][4] = {{257, 511, 600, 1}, {1, 3000, 300, 1}, {197, 197, 64, 4}, {37, 50, 520, 2}};
    uint32_t seed = 7000;
    for (auto& s : shapes)
        for (int t = 0; t < 4; ++t) {
            Layout L;
            L.ta = t & 1;
            L.tb = t & 2;
            L.m = s[0]; L.n = s[1]; L.k = s[2];
            L.batch = s[3];
            L.alpha = 0.75;
            L.beta = -1.5;
            FloatGen gen(seed++);
            Operands<float> ops(L, [&] { return static_cast<float>(gen()); });
            std::vector<float> avx2, avx512;
            {
                ScopedSimdLevel scoped(cpu::SimdLevel::avx2);
                avx2 = ops.run();
            }
            {
                ScopedSimdLevel scoped(cpu::SimdLevel::avx512);
                avx512 = ops.run();
            }
            ASSERT_EQ(std::memcmp(avx2.data(), avx512.data(), avx2.size() * sizeof(float)), 0) << describe(L);
        }
}

}  // namespace
}  // namespace wsdol
