// norm.cpp (CPU) — the fused layer-norm kernels (f32, f64): forward saving mean and rstd per row, and backward
// producing grad_x, grad_weight and grad_bias in one pass over the rows; and batch_norm's eval-mode per-channel
// affine map (channel_affine).
//
// Numerics. Row statistics accumulate in double with two passes (mean, then the mean of squared deviations: no
// E[x^2] - E[x]^2 cancellation), biased variance and eps inside the sqrt, as PyTorch. Row sums use kLanes
// independent accumulators combined in a fixed tree (lane_sum.h): the compiler can vectorize them without
// reassociating (we build without -ffast-math) and the result does not depend on anything but the row.
//
// Parallelism and determinism (parallel.h). The forward and grad_x are independent per row: any split is fine.
// grad_weight and grad_bias are sums over rows: rows are grouped in FIXED blocks of kRowBlock rows; each block's
// partial sums (double) are formed in row order by one thread, then the blocks are added in block order. The
// bits therefore depend on M and N only, never on the thread count.
#include <cmath>
#include <vector>

#include "engine/ops/softmax_norm.h"
#include "kernels/cpu/lane_sum.h"
#include "kernels/cpu/parallel.h"

namespace wsdol::cpu {
namespace {

constexpr int64_t kRowBlock = 32;  // rows per partial sum of grad_weight / grad_bias (fixed: see above)

template <typename T>
double lane_squared_deviation(const T* p, int64_t n, double mean) {  // sum (p - mean)^2
    double acc[kLanes] = {};
    int64_t j = 0;
    for (; j + kLanes <= n; j += kLanes)
        for (int k = 0; k < kLanes; ++k) {
            const double d = static_cast<double>(p[j + k]) - mean;
            acc[k] += d * d;
        }
    for (int k = 0; j < n; ++j, ++k) {
        const double d = static_cast<double>(p[j]) - mean;
        acc[k] += d * d;
    }
    return combine_lanes(acc);
}

// y = (x - mean) * rstd * weight + bias, row by row. x, y: (M, N); weight, bias: (N) or absent; mean, rstd: (M).
template <typename T>
void layer_norm_cpu(const TensorView& yv, const TensorView& meanv, const TensorView& rstdv, const TensorView& xv,
                    const TensorView& wv, const TensorView& bv, int64_t M, int64_t N, double eps) {
    const T* x = xv.ptr<T>();
    const T* w = wv.ptr<T>();  // may be null
    const T* b = bv.ptr<T>();  // may be null
    T* y = yv.ptr<T>();
    T* mean = meanv.ptr<T>();
    T* rstd = rstdv.ptr<T>();
    parallel_for(M, 4 * N, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            const T* xr = x + r * N;
            T* yr = y + r * N;
            const double mu = lane_sum(xr, N) / static_cast<double>(N);
            const double var = lane_squared_deviation(xr, N, mu) / static_cast<double>(N);
            const T m = static_cast<T>(mu);
            const T rs = static_cast<T>(1.0 / std::sqrt(var + eps));
            mean[r] = m;
            rstd[r] = rs;
            if (w && b) {
                for (int64_t j = 0; j < N; ++j) yr[j] = (xr[j] - m) * rs * w[j] + b[j];
            } else if (w) {
                for (int64_t j = 0; j < N; ++j) yr[j] = (xr[j] - m) * rs * w[j];
            } else if (b) {
                for (int64_t j = 0; j < N; ++j) yr[j] = (xr[j] - m) * rs + b[j];
            } else {
                for (int64_t j = 0; j < N; ++j) yr[j] = (xr[j] - m) * rs;
            }
        }
    });
}

// With xhat = (x - mean) * rstd and dy = g * weight (per row of N):
//   grad_x      = rstd * (dy - mean(dy) - xhat * mean(dy * xhat))
//   grad_weight = sum over rows of g * xhat;  grad_bias = sum over rows of g
template <typename T>
void layer_norm_backward_cpu(const TensorView& gxv, const TensorView& gwv, const TensorView& gbv, const TensorView& gv,
                             const TensorView& xv, const TensorView& meanv, const TensorView& rstdv,
                             const TensorView& wv, int64_t M, int64_t N) {
    const T* g = gv.ptr<T>();
    const T* x = xv.ptr<T>();
    const T* mean = meanv.ptr<T>();
    const T* rstd = rstdv.ptr<T>();
    const T* w = wv.ptr<T>();  // may be null
    T* gx = gxv.ptr<T>();      // each of these may be null: not wanted
    T* gw = gwv.ptr<T>();
    T* gb = gbv.ptr<T>();
    const int64_t blocks = (M + kRowBlock - 1) / kRowBlock;
    std::vector<double> partial_w(gw ? blocks * N : 0), partial_b(gb ? blocks * N : 0);
    const double inv_n = 1.0 / static_cast<double>(N);
    parallel_for(blocks, kRowBlock * N * 8, [&](int64_t blk0, int64_t blk1) {
        std::vector<double> xhat(N), dy(N);
        for (int64_t blk = blk0; blk < blk1; ++blk) {
            double* pw = gw ? partial_w.data() + blk * N : nullptr;
            double* pb = gb ? partial_b.data() + blk * N : nullptr;
            for (int64_t r = blk * kRowBlock; r < std::min(M, (blk + 1) * kRowBlock); ++r) {
                const T* xr = x + r * N;
                const T* gr = g + r * N;
                const double mu = static_cast<double>(mean[r]), rs = static_cast<double>(rstd[r]);
                for (int64_t j = 0; j < N; ++j) xhat[j] = (static_cast<double>(xr[j]) - mu) * rs;
                if (gx) {
                    if (w) {
                        for (int64_t j = 0; j < N; ++j) dy[j] = static_cast<double>(gr[j]) * static_cast<double>(w[j]);
                    } else {
                        for (int64_t j = 0; j < N; ++j) dy[j] = static_cast<double>(gr[j]);
                    }
                    const double mean_dy = lane_sum(dy.data(), N) * inv_n;
                    const double mean_dy_xhat = lane_dot(dy.data(), xhat.data(), N) * inv_n;
                    T* gxr = gx + r * N;
                    for (int64_t j = 0; j < N; ++j)
                        gxr[j] = static_cast<T>(rs * (dy[j] - mean_dy - xhat[j] * mean_dy_xhat));
                }
                if (pw)
                    for (int64_t j = 0; j < N; ++j) pw[j] += static_cast<double>(gr[j]) * xhat[j];
                if (pb)
                    for (int64_t j = 0; j < N; ++j) pb[j] += static_cast<double>(gr[j]);
            }
        }
    });
    // Blocks added in block order, one thread per column range.
    auto combine = [&](const std::vector<double>& partial, T* out) {
        parallel_for(N, blocks, [&](int64_t j0, int64_t j1) {
            std::vector<double> acc(j1 - j0, 0.0);
            for (int64_t blk = 0; blk < blocks; ++blk) {
                const double* p = partial.data() + blk * N + j0;
                for (int64_t j = 0; j < j1 - j0; ++j) acc[j] += p[j];
            }
            for (int64_t j = 0; j < j1 - j0; ++j) out[j0 + j] = static_cast<T>(acc[j]);
        });
    };
    if (gw) combine(partial_w, gw);
    if (gb) combine(partial_b, gb);
}

// y = x * scale[c] + shift[c] over (outer, C, inner), all contiguous; one (outer, c) row of `inner` values per
// work item. With -ffp-contract=off the product and the sum are rounded separately, as mul then add.
template <typename T>
void channel_affine_cpu(const TensorView& y, const TensorView& x, const TensorView& scale, const TensorView& shift,
                        int64_t outer, int64_t C, int64_t inner) {
    const T* px = x.ptr<T>();
    const T* ps = scale.ptr<T>();
    const T* pb = shift.ptr<T>();
    T* py = y.ptr<T>();
    parallel_for(outer * C, inner, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
            const T s = ps[r % C], b = pb[r % C];
            const T* xr = px + r * inner;
            T* yr = py + r * inner;
            for (int64_t i = 0; i < inner; ++i) yr[i] = xr[i] * s + b;
        }
    });
}

}  // namespace

WSDOL_KERNEL("channel_affine", cpu, f32, ChannelAffineKernel, &channel_affine_cpu<float>);
WSDOL_KERNEL("channel_affine", cpu, f64, ChannelAffineKernel, &channel_affine_cpu<double>);
WSDOL_KERNEL("layer_norm", cpu, f32, LayerNormKernel, &layer_norm_cpu<float>);
WSDOL_KERNEL("layer_norm", cpu, f64, LayerNormKernel, &layer_norm_cpu<double>);
WSDOL_KERNEL("layer_norm_backward", cpu, f32, LayerNormBackwardKernel, &layer_norm_backward_cpu<float>);
WSDOL_KERNEL("layer_norm_backward", cpu, f64, LayerNormBackwardKernel, &layer_norm_backward_cpu<double>);

}  // namespace wsdol::cpu
