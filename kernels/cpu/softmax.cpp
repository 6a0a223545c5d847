// softmax.cpp (CPU) — fused softmax / log_softmax forward and backward kernels, for f32 and f64.
//
// Layout: contiguous (outer, D, inner), softmax along D. inner == 1 (the usual last-dim case, e.g. attention rows)
// walks contiguous rows; otherwise each work item takes a chunk of kChunk inner columns of one outer index and
// keeps per-column max/sum arrays, so every inner loop is unit-stride.
//
// Numerics. Stable: each row is shifted by its max before exp, so exp() <= 1 and nothing overflows. For f32 the
// exponential is exp_nonpositive() of vec_math.h (max error < 1 ulp on [-87, 0], measured against double exp),
// written as plain arithmetic so the loops around it vectorize (a call to expf blocks vectorization: this is the
// op's cost); for f64 it is std::exp. The row sums (sum of exp for the forward, sum(g*y) or sum(g) for the
// backward) accumulate in DOUBLE even for f32: a row may be thousands of elements long, and an f32 running sum
// would lose ~log2(D) bits; in double the sum is exact to ~1e-16 relative, for one convert per element. The sums
// use kLanes fixed accumulators (lane_sum.h: vectorizable without reassociation, same bits every run). The final
// scaling (multiply by 1/sum, or subtract log(sum)) is done in double and rounded once to the element type.
// Every row/column is computed by one thread in a fixed order: results do not depend on the thread count.
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "engine/ops/softmax_norm.h"
#include "kernels/cpu/lane_sum.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vec_math.h"

namespace wsdol::cpu {
namespace {

constexpr int64_t kChunk = 128;  // inner columns per work item when the softmax dim is not the last

template <typename T>
inline T exp_of(T x) {
    if constexpr (std::is_same_v<T, float>) return exp_nonpositive(x);
    else return std::exp(x);
}

template <typename T>
T row_max(const T* x, int64_t n) {  // NaNs are skipped here; they still poison the sum (so the row) below
    T lane[kLanes];
    for (int k = 0; k < kLanes; ++k) lane[k] = -std::numeric_limits<T>::infinity();
    int64_t j = 0;
    for (; j + kLanes <= n; j += kLanes)
        for (int k = 0; k < kLanes; ++k) lane[k] = x[j + k] > lane[k] ? x[j + k] : lane[k];
    for (int k = 0; j < n; ++j, ++k) lane[k] = x[j] > lane[k] ? x[j] : lane[k];
    T m = lane[0];
    for (int k = 1; k < kLanes; ++k) m = lane[k] > m ? lane[k] : m;
    return m;
}

template <typename T>
void softmax_forward_cpu(const TensorView& yv, const TensorView& xv, int64_t outer, int64_t D, int64_t inner, bool log) {
    const T* x = xv.ptr<T>();
    T* y = yv.ptr<T>();
    if (inner == 1) {
        parallel_for(outer, 16 * D, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
                const T* xr = x + r * D;
                T* yr = y + r * D;
                const T m = row_max(xr, D);
                for (int64_t j = 0; j < D; ++j) yr[j] = exp_of<T>(xr[j] - m);  // log_softmax: scratch for the sum
                const double sum = lane_sum(yr, D);
                if (!log) {
                    const double inv = 1.0 / sum;
                    for (int64_t j = 0; j < D; ++j) yr[j] = static_cast<T>(static_cast<double>(yr[j]) * inv);
                } else {
                    const double log_sum = std::log(sum);
                    for (int64_t j = 0; j < D; ++j) yr[j] = static_cast<T>(static_cast<double>(xr[j] - m) - log_sum);
                }
            }
        });
        return;
    }
    const int64_t chunks = (inner + kChunk - 1) / kChunk;
    parallel_for(outer * chunks, 16 * D * std::min(inner, kChunk), [&](int64_t w0, int64_t w1) {
        T m[kChunk];
        double sum[kChunk];
        for (int64_t w = w0; w < w1; ++w) {
            const int64_t o = w / chunks, k0 = (w % chunks) * kChunk, width = std::min(kChunk, inner - k0);
            const T* xb = x + o * D * inner + k0;  // column k of row i: xb[i * inner + k]
            T* yb = y + o * D * inner + k0;
            for (int64_t k = 0; k < width; ++k) {
                m[k] = -std::numeric_limits<T>::infinity();
                sum[k] = 0.0;
            }
            for (int64_t i = 0; i < D; ++i)
                for (int64_t k = 0; k < width; ++k) m[k] = xb[i * inner + k] > m[k] ? xb[i * inner + k] : m[k];
            for (int64_t i = 0; i < D; ++i)
                for (int64_t k = 0; k < width; ++k) {
                    const T e = exp_of<T>(xb[i * inner + k] - m[k]);
                    if (!log) yb[i * inner + k] = e;
                    sum[k] += static_cast<double>(e);
                }
            if (!log) {
                for (int64_t k = 0; k < width; ++k) sum[k] = 1.0 / sum[k];
                for (int64_t i = 0; i < D; ++i)
                    for (int64_t k = 0; k < width; ++k)
                        yb[i * inner + k] = static_cast<T>(static_cast<double>(yb[i * inner + k]) * sum[k]);
            } else {
                for (int64_t k = 0; k < width; ++k) sum[k] = std::log(sum[k]);
                for (int64_t i = 0; i < D; ++i)
                    for (int64_t k = 0; k < width; ++k)
                        yb[i * inner + k] = static_cast<T>(static_cast<double>(xb[i * inner + k] - m[k]) - sum[k]);
            }
        }
    });
}

// softmax:     grad_x = y * (g - sum(g * y))
// log_softmax: grad_x = g - exp(y) * sum(g)
template <typename T>
void softmax_backward_cpu(const TensorView& gxv, const TensorView& gv, const TensorView& yv, int64_t outer, int64_t D,
                          int64_t inner, bool log) {
    const T* g = gv.ptr<T>();
    const T* y = yv.ptr<T>();
    T* gx = gxv.ptr<T>();
    if (inner == 1) {
        parallel_for(outer, 8 * D, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
                const T* gr = g + r * D;
                const T* yr = y + r * D;
                T* out = gx + r * D;
                if (!log) {
                    const double s = lane_dot(gr, yr, D);
                    for (int64_t j = 0; j < D; ++j)
                        out[j] = static_cast<T>(static_cast<double>(yr[j]) * (static_cast<double>(gr[j]) - s));
                } else {
                    const double s = lane_sum(gr, D);
                    for (int64_t j = 0; j < D; ++j)
                        out[j] = static_cast<T>(static_cast<double>(gr[j]) - static_cast<double>(exp_of<T>(yr[j])) * s);
                }
            }
        });
        return;
    }
    const int64_t chunks = (inner + kChunk - 1) / kChunk;
    parallel_for(outer * chunks, 8 * D * std::min(inner, kChunk), [&](int64_t w0, int64_t w1) {
        double s[kChunk];
        for (int64_t w = w0; w < w1; ++w) {
            const int64_t o = w / chunks, k0 = (w % chunks) * kChunk, width = std::min(kChunk, inner - k0);
            const int64_t base = o * D * inner + k0;
            const T* gb = g + base;
            const T* yb = y + base;
            T* ob = gx + base;
            for (int64_t k = 0; k < width; ++k) s[k] = 0.0;
            for (int64_t i = 0; i < D; ++i)
                for (int64_t k = 0; k < width; ++k)
                    s[k] += log ? static_cast<double>(gb[i * inner + k])
                                : static_cast<double>(gb[i * inner + k]) * static_cast<double>(yb[i * inner + k]);
            for (int64_t i = 0; i < D; ++i)
                for (int64_t k = 0; k < width; ++k) {
                    const double gk = static_cast<double>(gb[i * inner + k]);
                    ob[i * inner + k] = log ? static_cast<T>(gk - static_cast<double>(exp_of<T>(yb[i * inner + k])) * s[k])
                                            : static_cast<T>(static_cast<double>(yb[i * inner + k]) * (gk - s[k]));
                }
        }
    });
}

}  // namespace

WSDOL_KERNEL("softmax", cpu, f32, SoftmaxKernel, &softmax_forward_cpu<float>);
WSDOL_KERNEL("softmax", cpu, f64, SoftmaxKernel, &softmax_forward_cpu<double>);
WSDOL_KERNEL("softmax_backward", cpu, f32, SoftmaxBackwardKernel, &softmax_backward_cpu<float>);
WSDOL_KERNEL("softmax_backward", cpu, f64, SoftmaxBackwardKernel, &softmax_backward_cpu<double>);

}  // namespace wsdol::cpu
