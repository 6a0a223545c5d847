// gemm_pack.h (CPU) — packing operand blocks of the GEMM (gemm.cpp) into the panel layout of the micro-kernels.
//
// Both operands pack the same way. View the operand as X(i, p), with i the dimension that the micro-kernel
// tiles (rows of op(A) with panel width W = MR, columns of op(B) with W = NR) and p the k dimension. Packing
// X[i0 : i0+count, p0 : p0+kc] writes panels of W consecutive i, each kc x W, p-major:
//   dst[(i / W) * W * kc + p * W + (i % W)]          (i past count zero-filled, so edge tiles compute zeros)
// X is stored either "p-contiguous" (X(i, p) = src[i * ld + p]: A not transposed, B transposed) — the packing
// is a transpose — or "i-contiguous" (X(i, p) = src[p * ld + i]: A transposed, B not transposed) — the packing
// copies W-element runs.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/cpu/gemm_microkernel.h"

namespace wsdol::cpu::WSDOL_GEMM_NS {

// Extra elements a packing buffer needs past its panels: the f32 transpose path writes 8-wide row pieces into
// panels whose width is not a multiple of 8 (A panels: 6 at AVX2, 12 at AVX-512), running up to 4 elements past
// the panel (overwritten by the next panel, or landing here).
constexpr int64_t kPackSlack = 16;

#if WSDOL_GEMM_LEVEL >= 1
// In-register transpose of 8 rows of 8 floats.
inline void transpose8x8(__m256 r[8]) {
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// One full f32 panel of W (6, 16 at AVX2; 12, 32 at AVX-512) p-contiguous rows: 8x8 transposes over p in steps
// of 8; returns how many p were packed (a multiple of 8; the caller finishes the rest).
template <int W>
int64_t pack_panel_transpose_f32(const float* src, int64_t ld, int64_t kc, float* d) {
    static_assert(W % 8 == 0 || 8 - W % 8 <= 4, "a partial group spills 8 - W % 8 elements: must fit kPackSlack");
    int64_t p = 0;
    for (; p + 8 <= kc; p += 8) {
        // Groups of 8 rows, the last (partial) group first: when W is not a multiple of 8, each 8-wide store of
        // that group spills 8 - W % 8 zeros into the start of the next p row, which the full groups' stores
        // (made after it) overwrite; the spill past row p + 7 is overwritten by the next step or lands in the
        // slack.
        for (int g = (W - 1) / 8 * 8; g >= 0; g -= 8) {
            __m256 r[8];
            for (int q = 0; q < 8; ++q)
                r[q] = g + q < W ? _mm256_loadu_ps(src + (g + q) * ld + p) : _mm256_setzero_ps();
            transpose8x8(r);
            for (int q = 0; q < 8; ++q) _mm256_storeu_ps(d + (p + q) * W + g, r[q]);
        }
    }
    return p;
}
#endif

template <typename T, int W>
void pack_panels(const T* src, int64_t ld, bool p_contiguous, int64_t count, int64_t kc, T* dst) {
    for (int64_t i = 0; i < count; i += W) {
        const int n = static_cast<int>(std::min<int64_t>(W, count - i));
        T* d = dst + i * kc;
        if (p_contiguous) {  // a transpose: row i + w of X is a contiguous run over p
            const T* s = src + i * ld;
            int64_t p = 0;
#if WSDOL_GEMM_LEVEL >= 1
            if constexpr (std::is_same_v<T, float>)
                if (n == W) p = pack_panel_transpose_f32<W>(s, ld, kc, d);
#endif
            for (; p < kc; ++p)
                for (int w = 0; w < W; ++w) d[p * W + w] = w < n ? s[w * ld + p] : T(0);
        } else {  // each p gives W contiguous elements
            const T* s = src + i;
            if (n == W) {
                for (int64_t p = 0; p < kc; ++p) std::memcpy(d + p * W, s + p * ld, W * sizeof(T));
            } else {
                for (int64_t p = 0; p < kc; ++p)
                    for (int w = 0; w < W; ++w) d[p * W + w] = w < n ? s[p * ld + w] : T(0);
            }
        }
    }
}

}  // namespace wsdol::cpu::WSDOL_GEMM_NS
