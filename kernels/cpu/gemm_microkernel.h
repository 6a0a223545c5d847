// gemm_microkernel.h (CPU) — the register-blocked inner kernels of the packed GEMM (gemm.cpp) and the one
// arithmetic rule every GEMM path shares.
//
// A micro-kernel multiplies one packed MR x kc panel of op(A) by one packed kc x NR panel of op(B) into an
// MR x NR tile of accumulators held in registers, then applies the epilogue to C:
//   packed A panel: a[p * MR + r] = op(A)[row r][p]   (MR consecutive rows, zero-padded past the matrix edge)
//   packed B panel: b[p * NR + c] = op(B)[p][col c]   (NR consecutive columns, zero-padded, 64-byte aligned)
//
// THE ARITHMETIC RULE (identical in every path of gemm.cpp, so results never depend on threads or on which
// path/tile a C element falls in):
//   k is cut into fixed chunks (k_chunk in gemm.cpp: a function of K only). For each chunk, in order,
//     acc = 0;  for p in chunk (ascending): acc = madd(op(A)[i][p], op(B)[p][j], acc)
//     C[i][j] = alpha * acc + beta_eff * C[i][j]      (beta_eff = beta for the first chunk, 1 after it)
//   with "beta_eff == 0" meaning C[i][j] = alpha * acc (old C ignored, NaNs included, as BLAS and PyTorch do),
//   and the products alpha*acc / beta_eff*C rounded separately before the add (no fused epilogue).
// madd is a fused multiply-add at the AVX2 and AVX-512 levels (one rounding per step; the build keeps
// -ffp-contract=off so plain code is never fused behind our back, the FMA here is explicit) and a*b+c
// otherwise. Results therefore differ from a plain `acc += a*b` loop by FMA rounding; exact tests use
// small-integer-valued inputs, for which every partial sum is exact either way.
//
// LEVELS. This header is part of gemm_impl.h, compiled once per SIMD level (WSDOL_GEMM_LEVEL: 0 scalar,
// 1 AVX2+FMA, 2 AVX-512) inside the level's namespace WSDOL_GEMM_NS. The level, not the build flags, decides
// madd: fused at levels 1 and 2, a * b + c at level 0 (even in a -march=native build).
#pragma once
#include <algorithm>
#include <cstdint>

#if WSDOL_GEMM_LEVEL >= 1
#include <immintrin.h>
#endif

namespace wsdol::cpu::WSDOL_GEMM_NS {

// One multiply-add step of the k loop (see the rule above). The builtins, not std::fma: std::fma is an inline
// function shared by every file, and the copy the linker keeps must not be one compiled for FMA.
inline float madd(float a, float b, float c) {
#if WSDOL_GEMM_LEVEL >= 1
    return __builtin_fmaf(a, b, c);  // a vfmadd instruction (the level's file is compiled with -mfma)
#else
    return a * b + c;
#endif
}
inline double madd(double a, double b, double c) {
#if WSDOL_GEMM_LEVEL >= 1
    return __builtin_fma(a, b, c);
#else
    return a * b + c;
#endif
}

// The epilogue for one element: alpha * acc + beta * c, with beta == 0 ignoring c. Multiplying by 1 is exact,
// so skipping it does not change bits.
template <typename T>
inline T epilogue(T acc, T c, T alpha, T beta) {
    const T v = alpha == T(1) ? acc : alpha * acc;
    if (beta == T(0)) return v;
    return v + (beta == T(1) ? c : beta * c);
}

// Register tile and cache blocking per element type (and level).
//   MR x NR   register tile (f32 6x16: 12 ymm accumulators + 2 B vectors + 1 broadcast = 15 of 16 registers;
//             AVX-512 f32 12x32: 24 zmm accumulators + 2 B vectors + 1 broadcast = 27 of 32 registers)
//   KC        k-chunk: a packed B micro-panel (KC x NR) stays in L1 (256*16*4 = 16 KiB of 32 KiB on Zen 3;
//             AVX-512: 256*32*4 = 32 KiB of 48 KiB on Zen 4/5 and Sapphire Rapids). KC is part of the
//             arithmetic rule (the k-chunks), so it is the same at every level: that keeps AVX2 and AVX-512
//             bit-identical. Only MR/NR/MC/NC (which change no arithmetic) are tuned per level.
//   MC        rows of the packed A block, kept in L2 (144*256*4 = 144 KiB of 512 KiB; AVX-512: 288*256*4 =
//             288 KiB of 1-2 MiB)
//   NC        columns of the packed B block, kept in L3 (256*4080*4 = 4 MiB)
template <typename T> struct Blocking;
#if WSDOL_GEMM_LEVEL >= 2
template <> struct Blocking<float> {
    static constexpr int MR = 12, NR = 32;
    static constexpr int64_t KC = 256, MC = 288, NC = 4096;
};
#else
template <> struct Blocking<float> {
    static constexpr int MR = 6, NR = 16;
    static constexpr int64_t KC = 256, MC = 144, NC = 4080;
};
#endif
template <> struct Blocking<double> {
    static constexpr int MR = 6, NR = 8;
    static constexpr int64_t KC = 256, MC = 72, NC = 2040;
};

// Writes an MR x NR accumulator tile (row-major, `acc`) to the mr x nr valid corner of C.
template <typename T, int MR, int NR>
inline void store_tile_scalar(const T* acc, T* c, int64_t ldc, T alpha, T beta, int mr, int nr) {
    for (int r = 0; r < mr; ++r)
        for (int j = 0; j < nr; ++j) c[r * ldc + j] = epilogue(acc[r * NR + j], c[r * ldc + j], alpha, beta);
}

// Portable micro-kernel: plain loops (vectorizable across the NR columns), same arithmetic rule.
template <typename T>
inline void microkernel_scalar(int64_t kc, const T* __restrict a, const T* __restrict b, T* c, int64_t ldc,
                               T alpha, T beta, int mr, int nr) {
    constexpr int MR = Blocking<T>::MR, NR = Blocking<T>::NR;
    T acc[MR * NR] = {};
    for (int64_t p = 0; p < kc; ++p) {
        const T* ap = a + p * MR;
        const T* bp = b + p * NR;
        for (int r = 0; r < MR; ++r)
            for (int j = 0; j < NR; ++j) acc[r * NR + j] = madd(ap[r], bp[j], acc[r * NR + j]);
    }
    store_tile_scalar<T, MR, NR>(acc, c, ldc, alpha, beta, mr, nr);
}

#if WSDOL_GEMM_LEVEL >= 1

// Vector epilogue for one 8-wide row segment, the same operations as epilogue() lane by lane.
inline __m256 epilogue_ps(__m256 acc, const float* c, __m256 alpha, bool alpha_one, float beta) {
    const __m256 v = alpha_one ? acc : _mm256_mul_ps(alpha, acc);
    if (beta == 0.0f) return v;
    const __m256 old = _mm256_loadu_ps(c);
    return _mm256_add_ps(v, beta == 1.0f ? old : _mm256_mul_ps(_mm256_set1_ps(beta), old));
}
inline __m256d epilogue_pd(__m256d acc, const double* c, __m256d alpha, bool alpha_one, double beta) {
    const __m256d v = alpha_one ? acc : _mm256_mul_pd(alpha, acc);
    if (beta == 0.0) return v;
    const __m256d old = _mm256_loadu_pd(c);
    return _mm256_add_pd(v, beta == 1.0 ? old : _mm256_mul_pd(_mm256_set1_pd(beta), old));
}

// Stores one MR-row tile of accumulators (two 8-wide vectors per row) through the epilogue.
inline void store_rows_ps(const __m256* acc, float* c, int64_t ldc, float alpha, float beta, int mr, int nr) {
    if (mr == 6 && nr == 16) {
        const __m256 va = _mm256_set1_ps(alpha);
        const bool alpha_one = alpha == 1.0f;
        for (int r = 0; r < 6; ++r) {
            float* cr = c + r * ldc;
            _mm256_storeu_ps(cr, epilogue_ps(acc[2 * r], cr, va, alpha_one, beta));
            _mm256_storeu_ps(cr + 8, epilogue_ps(acc[2 * r + 1], cr + 8, va, alpha_one, beta));
        }
        return;
    }
    alignas(32) float tile[6 * 16];
    for (int i = 0; i < 12; ++i) _mm256_store_ps(tile + 8 * i, acc[i]);
    store_tile_scalar<float, 6, 16>(tile, c, ldc, alpha, beta, mr, nr);
}

// f32 6x16 AVX2+FMA micro-kernel: per k step, two aligned B loads, six broadcasts of A, twelve FMAs.
// Kept out of line so that its 12 accumulators get registers of their own (inlined into the driver loops, GCC
// spilled some of them to the stack, which halved the speed).
__attribute__((noinline)) inline void microkernel_f32_avx2(int64_t kc, const float* __restrict a,
                                                           const float* __restrict b, float* c, int64_t ldc,
                                                           float alpha, float beta, int mr, int nr) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (int r = 0; r < mr; ++r) {  // warm the C tile while the k loop runs
        _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + nr - 1), _MM_HINT_T0);
    }
    for (int64_t p = 0; p < kc; ++p) {
        const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
        __m256 av = _mm256_broadcast_ss(a + 0);
        c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01);
        av = _mm256_broadcast_ss(a + 1);
        c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11);
        av = _mm256_broadcast_ss(a + 2);
        c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21);
        av = _mm256_broadcast_ss(a + 3);
        c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31);
        av = _mm256_broadcast_ss(a + 4);
        c40 = _mm256_fmadd_ps(av, b0, c40); c41 = _mm256_fmadd_ps(av, b1, c41);
        av = _mm256_broadcast_ss(a + 5);
        c50 = _mm256_fmadd_ps(av, b0, c50); c51 = _mm256_fmadd_ps(av, b1, c51);
        a += 6;
        b += 16;
    }
    const __m256 acc[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
    store_rows_ps(acc, c, ldc, alpha, beta, mr, nr);
}

// The same f32 6x16 kernel reading A in place instead of from a packed panel: element (r, p) of the tile's
// rows is a[r * rs + p * cs] (rs = lda, cs = 1 for A as stored; rs = 1, cs = lda for A transposed). Used when
// op(B) has few columns, so that each A element is used by only a few column panels and packing A would cost
// a large share of the work. Rows past mr are never read (their pointers repeat the last row). Same arithmetic,
// so the same bits as the packed kernel.
__attribute__((noinline)) inline void microkernel_f32_avx2_unpacked_a(int64_t kc, const float* a, int64_t rs,
                                                                      int64_t cs, const float* __restrict b,
                                                                      float* c, int64_t ldc, float alpha, float beta,
                                                                      int mr, int nr) {
    const float* a0 = a;
    const float* a1 = a + std::min(1, mr - 1) * rs;
    const float* a2 = a + std::min(2, mr - 1) * rs;
    const float* a3 = a + std::min(3, mr - 1) * rs;
    const float* a4 = a + std::min(4, mr - 1) * rs;
    const float* a5 = a + std::min(5, mr - 1) * rs;
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (int r = 0; r < mr; ++r) {
        _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + nr - 1), _MM_HINT_T0);
    }
    int64_t off = 0;
    for (int64_t p = 0; p < kc; ++p, off += cs) {
        const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
        __m256 av = _mm256_broadcast_ss(a0 + off);
        c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01);
        av = _mm256_broadcast_ss(a1 + off);
        c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11);
        av = _mm256_broadcast_ss(a2 + off);
        c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21);
        av = _mm256_broadcast_ss(a3 + off);
        c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31);
        av = _mm256_broadcast_ss(a4 + off);
        c40 = _mm256_fmadd_ps(av, b0, c40); c41 = _mm256_fmadd_ps(av, b1, c41);
        av = _mm256_broadcast_ss(a5 + off);
        c50 = _mm256_fmadd_ps(av, b0, c50); c51 = _mm256_fmadd_ps(av, b1, c51);
        b += 16;
    }
    const __m256 acc[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
    store_rows_ps(acc, c, ldc, alpha, beta, mr, nr);
}

// f64 6x8 AVX2+FMA micro-kernel (same shape in registers: 12 accumulators of 4 doubles).
__attribute__((noinline)) inline void microkernel_f64_avx2(int64_t kc, const double* __restrict a,
                                                           const double* __restrict b, double* c, int64_t ldc,
                                                           double alpha, double beta, int mr, int nr) {
    __m256d c00 = _mm256_setzero_pd(), c01 = _mm256_setzero_pd(), c10 = _mm256_setzero_pd(), c11 = _mm256_setzero_pd();
    __m256d c20 = _mm256_setzero_pd(), c21 = _mm256_setzero_pd(), c30 = _mm256_setzero_pd(), c31 = _mm256_setzero_pd();
    __m256d c40 = _mm256_setzero_pd(), c41 = _mm256_setzero_pd(), c50 = _mm256_setzero_pd(), c51 = _mm256_setzero_pd();
    for (int64_t p = 0; p < kc; ++p) {
        const __m256d b0 = _mm256_load_pd(b), b1 = _mm256_load_pd(b + 4);
        __m256d av = _mm256_broadcast_sd(a + 0);
        c00 = _mm256_fmadd_pd(av, b0, c00); c01 = _mm256_fmadd_pd(av, b1, c01);
        av = _mm256_broadcast_sd(a + 1);
        c10 = _mm256_fmadd_pd(av, b0, c10); c11 = _mm256_fmadd_pd(av, b1, c11);
        av = _mm256_broadcast_sd(a + 2);
        c20 = _mm256_fmadd_pd(av, b0, c20); c21 = _mm256_fmadd_pd(av, b1, c21);
        av = _mm256_broadcast_sd(a + 3);
        c30 = _mm256_fmadd_pd(av, b0, c30); c31 = _mm256_fmadd_pd(av, b1, c31);
        av = _mm256_broadcast_sd(a + 4);
        c40 = _mm256_fmadd_pd(av, b0, c40); c41 = _mm256_fmadd_pd(av, b1, c41);
        av = _mm256_broadcast_sd(a + 5);
        c50 = _mm256_fmadd_pd(av, b0, c50); c51 = _mm256_fmadd_pd(av, b1, c51);
        a += 6;
        b += 8;
    }
    const __m256d acc[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
    if (mr == 6 && nr == 8) {
        const __m256d va = _mm256_set1_pd(alpha);
        const bool alpha_one = alpha == 1.0;
        for (int r = 0; r < 6; ++r) {
            double* cr = c + r * ldc;
            _mm256_storeu_pd(cr, epilogue_pd(acc[2 * r], cr, va, alpha_one, beta));
            _mm256_storeu_pd(cr + 4, epilogue_pd(acc[2 * r + 1], cr + 4, va, alpha_one, beta));
        }
        return;
    }
    alignas(32) double tile[6 * 8];
    for (int i = 0; i < 12; ++i) _mm256_store_pd(tile + 4 * i, acc[i]);
    store_tile_scalar<double, 6, 8>(tile, c, ldc, alpha, beta, mr, nr);
}

#endif  // WSDOL_GEMM_LEVEL >= 1

#if WSDOL_GEMM_LEVEL >= 2

// Vector epilogue for one 16-wide row segment under a lane mask (the same operations as epilogue() lane by lane;
// masked-off lanes are neither read nor written).
inline void store_epilogue_ps512(float* c, __m512 acc, __mmask16 m, __m512 alpha, bool alpha_one, float beta) {
    __m512 v = alpha_one ? acc : _mm512_mul_ps(alpha, acc);
    if (beta != 0.0f) {
        const __m512 old = _mm512_maskz_loadu_ps(m, c);
        v = _mm512_add_ps(v, beta == 1.0f ? old : _mm512_mul_ps(_mm512_set1_ps(beta), old));
    }
    _mm512_mask_storeu_ps(c, m, v);
}

// f32 MR x 32 AVX-512 micro-kernel (MR = 12: 24 zmm accumulators): per k step two aligned B loads, MR
// broadcasts of A (folded into the FMAs as {1to16} memory operands), 2 * MR FMAs. Out of line for the same
// reason as the AVX2 kernel; the loops over r are fully unrolled, so the accumulator arrays live in registers.
template <int MR>
__attribute__((noinline)) void microkernel_f32_avx512(int64_t kc, const float* __restrict a,
                                                      const float* __restrict b, float* c, int64_t ldc, float alpha,
                                                      float beta, int mr, int nr) {
    __m512 acc0[MR], acc1[MR];
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) acc0[r] = acc1[r] = _mm512_setzero_ps();
    for (int r = 0; r < mr; ++r) {  // warm the C tile while the k loop runs
        _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + nr - 1), _MM_HINT_T0);
    }
    for (int64_t p = 0; p < kc; ++p) {
        const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 16
        for (int r = 0; r < MR; ++r) {
            const __m512 av = _mm512_set1_ps(a[r]);
            acc0[r] = _mm512_fmadd_ps(av, b0, acc0[r]);
            acc1[r] = _mm512_fmadd_ps(av, b1, acc1[r]);
        }
        a += MR;
        b += 32;
    }
    const __m512 va = _mm512_set1_ps(alpha);
    const bool alpha_one = alpha == 1.0f;
    const __mmask16 m0 = nr >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << nr) - 1);
    const __mmask16 m1 = nr >= 32 ? __mmask16(0xFFFF) : nr <= 16 ? __mmask16(0) : __mmask16((1u << (nr - 16)) - 1);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
        if (r >= mr) break;
        store_epilogue_ps512(c + r * ldc, acc0[r], m0, va, alpha_one, beta);
        if (m1) store_epilogue_ps512(c + r * ldc + 16, acc1[r], m1, va, alpha_one, beta);
    }
}

#endif  // WSDOL_GEMM_LEVEL >= 2

// The micro-kernel the driver calls for each element type.
inline void microkernel(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float alpha, float beta,
                        int mr, int nr) {
#if WSDOL_GEMM_LEVEL >= 2
    microkernel_f32_avx512<Blocking<float>::MR>(kc, a, b, c, ldc, alpha, beta, mr, nr);
#elif WSDOL_GEMM_LEVEL >= 1
    microkernel_f32_avx2(kc, a, b, c, ldc, alpha, beta, mr, nr);
#else

    microkernel_scalar<float>(kc, a, b, c, ldc, alpha, beta, mr, nr);
#endif
}
inline void microkernel(int64_t kc, const double* a, const double* b, double* c, int64_t ldc, double alpha,
                        double beta, int mr, int nr) {
#if WSDOL_GEMM_LEVEL >= 1
    microkernel_f64_avx2(kc, a, b, c, ldc, alpha, beta, mr, nr);
#else
    microkernel_scalar<double>(kc, a, b, c, ldc, alpha, beta, mr, nr);
#endif
}

}  // namespace wsdol::cpu::WSDOL_GEMM_NS
