// pool.cpp (CPU) — max, average and adaptive pooling kernels and their backward scatters, f32 and f64.
//
// Forward kernels split work by output rows (each output element is computed by one thread). Backward kernels
// accumulate into shared input pixels, so they split by (n, c) plane: each plane is summed by one thread in
// output order, and the result does not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "engine/ops/conv_pool.h"
#include "kernels/cpu/parallel.h"

namespace wsdol::cpu {
namespace {

int64_t planes_of(const TensorView& t) { return t.shape[0] * t.shape[1]; }

// Kernel taps k in [lo, hi) whose position start + k * dilation lies inside [0, size).
struct KernelRange {
    int64_t lo, hi;
};
KernelRange kernel_range(int64_t start, int64_t dilation, int64_t kernel, int64_t size) {
    const int64_t lo = start >= 0 ? 0 : (-start + dilation - 1) / dilation;
    const int64_t hi = start >= size ? 0 : std::min<int64_t>(kernel, (size - start + dilation - 1) / dilation);
    return {lo, std::max(lo, hi)};
}

// PyTorch's adaptive window along one dim: [floor(i In / Out), ceil((i + 1) In / Out)).
int64_t adaptive_start(int64_t i, int64_t in, int64_t out) { return (i * in) / out; }
int64_t adaptive_end(int64_t i, int64_t in, int64_t out) { return ((i + 1) * in + out - 1) / out; }

// x: (N, C, H, W) -> out, indices: (N, C, OH, OW). Padding never wins: the max starts at -inf over the valid
// window positions only, its index at the first valid position (PyTorch). `v > best || isnan(v)`: the first of
// tied maxima is kept, and a NaN wins (the last NaN, as PyTorch's CPU kernel).
template <typename T>
void max_pool2d_cpu(const Window2d& w, const TensorView& out, const TensorView& indices, const TensorView& x) {
    const T* px = x.ptr<T>();
    T* po = out.ptr<T>();
    int64_t* pi = indices.ptr<int64_t>();
    const int64_t H = w.H, W = w.W, OH = w.OH, OW = w.OW;
    std::vector<KernelRange> col_ranges(OW);  // computed once: the divisions are not free per window
    for (int64_t ow = 0; ow < OW; ++ow) col_ranges[ow] = kernel_range(ow * w.sW - w.pW, w.dW, w.kW, W);
    parallel_for(planes_of(x) * OH, OW * w.kH * w.kW, [&](int64_t begin, int64_t end) {
        for (int64_t item = begin; item < end; ++item) {
            const int64_t plane = item / OH, oh = item % OH;
            const T* in = px + plane * H * W;
            const int64_t ih0 = oh * w.sH - w.pH;
            const KernelRange kh = kernel_range(ih0, w.dH, w.kH, H);
            for (int64_t ow = 0; ow < OW; ++ow) {
                const int64_t iw0 = ow * w.sW - w.pW;
                const KernelRange kw = col_ranges[ow];
                // PyTorch: start from -inf at the first valid position (kept if every value is -inf).
                T best = -std::numeric_limits<T>::infinity();
                int64_t best_index = (ih0 + kh.lo * w.dH) * W + iw0 + kw.lo * w.dW;
                for (int64_t ki = kh.lo; ki < kh.hi; ++ki) {
                    const int64_t row = (ih0 + ki * w.dH) * W;
                    for (int64_t kj = kw.lo; kj < kw.hi; ++kj) {
                        const int64_t index = row + iw0 + kj * w.dW;
                        const T v = in[index];
                        const bool take = v > best || v != v;  // v != v: NaN. Selects, not branches (random data)
                        best = take ? v : best;
                        best_index = take ? index : best_index;
                    }
                }
                po[item * OW + ow] = best;
                pi[item * OW + ow] = best_index;
            }
        }
    });
}

// gx: (N, C, H, W) = 0, then gx[plane, indices[o]] += gy[o].
template <typename T>
void max_pool2d_backward_cpu(const TensorView& gx, const TensorView& gy, const TensorView& indices) {
    const int64_t HW = gx.shape[2] * gx.shape[3], L = gy.shape[2] * gy.shape[3];
    const T* pg = gy.ptr<T>();
    const int64_t* pi = indices.ptr<int64_t>();
    T* px = gx.ptr<T>();
    parallel_for(planes_of(gx), HW + L, [&](int64_t begin, int64_t end) {
        for (int64_t p = begin; p < end; ++p) {
            T* plane = px + p * HW;
            std::fill(plane, plane + HW, T(0));
            const T* g = pg + p * L;
            const int64_t* idx = pi + p * L;
            for (int64_t o = 0; o < L; ++o)
                if (idx[o] >= 0 && idx[o] < HW) plane[idx[o]] += g[o];
        }
    });
}

// PyTorch's avg_pool2d window: [start, min(start + k, In + pad)) gives the count_include_pad divisor; clipped to
// [0, In) it gives the summed elements and the other divisor. A window entirely in padding averages to 0.
struct AvgWindow {
    int64_t h0, h1, w0, w1;  // clipped to the input
    int64_t divisor;
};
AvgWindow avg_window(const Window2d& w, bool count_include_pad, int64_t oh, int64_t ow) {
    int64_t h0 = oh * w.sH - w.pH, w0 = ow * w.sW - w.pW;
    int64_t h1 = std::min(h0 + w.kH, w.H + w.pH), w1 = std::min(w0 + w.kW, w.W + w.pW);
    const int64_t padded_size = (h1 - h0) * (w1 - w0);
    h0 = std::max<int64_t>(h0, 0);
    w0 = std::max<int64_t>(w0, 0);
    h1 = std::min(h1, w.H);
    w1 = std::min(w1, w.W);
    const int64_t divisor = count_include_pad ? padded_size : (h1 - h0) * (w1 - w0);
    return {h0, h1, w0, w1, divisor};
}

template <typename T>
void avg_pool2d_cpu(const Window2d& w, bool count_include_pad, const TensorView& out, const TensorView& x) {
    const T* px = x.ptr<T>();
    T* po = out.ptr<T>();
    const int64_t H = w.H, W = w.W, OH = w.OH, OW = w.OW;
    parallel_for(planes_of(x) * OH, OW * w.kH * w.kW, [&](int64_t begin, int64_t end) {
        for (int64_t item = begin; item < end; ++item) {
            const int64_t plane = item / OH, oh = item % OH;
            const T* in = px + plane * H * W;
            for (int64_t ow = 0; ow < OW; ++ow) {
                const AvgWindow a = avg_window(w, count_include_pad, oh, ow);
                if (a.h0 >= a.h1 || a.w0 >= a.w1) {
                    po[item * OW + ow] = T(0);
                    continue;
                }
                T total = 0;
                for (int64_t ih = a.h0; ih < a.h1; ++ih)
                    for (int64_t iw = a.w0; iw < a.w1; ++iw) total += in[ih * W + iw];
                po[item * OW + ow] = total / T(a.divisor);
            }
        }
    });
}

template <typename T>
void avg_pool2d_backward_cpu(const Window2d& w, bool count_include_pad, const TensorView& gx, const TensorView& gy) {
    const T* pg = gy.ptr<T>();
    T* px = gx.ptr<T>();
    const int64_t H = w.H, W = w.W, OH = w.OH, OW = w.OW;
    parallel_for(planes_of(gx), H * W + OH * OW * w.kH * w.kW, [&](int64_t begin, int64_t end) {
        for (int64_t p = begin; p < end; ++p) {
            T* plane = px + p * H * W;
            std::fill(plane, plane + H * W, T(0));
            const T* g = pg + p * OH * OW;
            for (int64_t oh = 0; oh < OH; ++oh) {
                for (int64_t ow = 0; ow < OW; ++ow) {
                    const AvgWindow a = avg_window(w, count_include_pad, oh, ow);
                    if (a.h0 >= a.h1 || a.w0 >= a.w1) continue;
                    const T share = g[oh * OW + ow] / T(a.divisor);
                    for (int64_t ih = a.h0; ih < a.h1; ++ih)
                        for (int64_t iw = a.w0; iw < a.w1; ++iw) plane[ih * W + iw] += share;
                }
            }
        }
    });
}

// x: (N, C, H, W) -> out (N, C, OH, OW): average or max (with flat argmax indices) over the adaptive windows.
template <typename T>
void adaptive_pool2d_cpu(AdaptivePool mode, const TensorView& out, const TensorView& indices, const TensorView& x) {
    const T* px = x.ptr<T>();
    T* po = out.ptr<T>();
    int64_t* pi = mode == AdaptivePool::max ? indices.ptr<int64_t>() : nullptr;
    const int64_t H = x.shape[2], W = x.shape[3], OH = out.shape[2], OW = out.shape[3];
    const int64_t cost = OW * ((H + OH - 1) / std::max<int64_t>(OH, 1) + 1) * ((W + OW - 1) / std::max<int64_t>(OW, 1) + 1);
    parallel_for(planes_of(x) * OH, cost, [&](int64_t begin, int64_t end) {
        for (int64_t item = begin; item < end; ++item) {
            const int64_t plane = item / OH, oh = item % OH;
            const T* in = px + plane * H * W;
            const int64_t h0 = adaptive_start(oh, H, OH), h1 = adaptive_end(oh, H, OH);
            for (int64_t ow = 0; ow < OW; ++ow) {
                const int64_t w0 = adaptive_start(ow, W, OW), w1 = adaptive_end(ow, W, OW);
                if (mode == AdaptivePool::avg) {
                    T total = 0;
                    for (int64_t ih = h0; ih < h1; ++ih)
                        for (int64_t iw = w0; iw < w1; ++iw) total += in[ih * W + iw];
                    po[item * OW + ow] = total / T(h1 - h0) / T(w1 - w0);  // PyTorch divides twice
                } else {  // same rule as max_pool2d: first max among ties, NaN wins
                    T best = -std::numeric_limits<T>::infinity();
                    int64_t best_index = h0 * W + w0;
                    for (int64_t ih = h0; ih < h1; ++ih) {
                        for (int64_t iw = w0; iw < w1; ++iw) {
                            const T v = in[ih * W + iw];
                            if (v > best || std::isnan(v)) {
                                best = v;
                                best_index = ih * W + iw;
                            }
                        }
                    }
                    po[item * OW + ow] = best;
                    pi[item * OW + ow] = best_index;
                }
            }
        }
    });
}

template <typename T>
void adaptive_avg_pool2d_backward_cpu(const TensorView& gx, const TensorView& gy) {
    const T* pg = gy.ptr<T>();
    T* px = gx.ptr<T>();
    const int64_t H = gx.shape[2], W = gx.shape[3], OH = gy.shape[2], OW = gy.shape[3];
    parallel_for(planes_of(gx), H * W + OH * OW, [&](int64_t begin, int64_t end) {
        for (int64_t p = begin; p < end; ++p) {
            T* plane = px + p * H * W;
            std::fill(plane, plane + H * W, T(0));
            const T* g = pg + p * OH * OW;
            for (int64_t oh = 0; oh < OH; ++oh) {
                const int64_t h0 = adaptive_start(oh, H, OH), h1 = adaptive_end(oh, H, OH);
                for (int64_t ow = 0; ow < OW; ++ow) {
                    const int64_t w0 = adaptive_start(ow, W, OW), w1 = adaptive_end(ow, W, OW);
                    const T share = g[oh * OW + ow] / T(h1 - h0) / T(w1 - w0);
                    for (int64_t ih = h0; ih < h1; ++ih)
                        for (int64_t iw = w0; iw < w1; ++iw) plane[ih * W + iw] += share;
                }
            }
        }
    });
}

}  // namespace

WSDOL_KERNEL("max_pool2d", cpu, f32, MaxPool2dKernel, &max_pool2d_cpu<float>);
WSDOL_KERNEL("max_pool2d", cpu, f64, MaxPool2dKernel, &max_pool2d_cpu<double>);
WSDOL_KERNEL("max_pool2d_backward", cpu, f32, MaxPool2dBackwardKernel, &max_pool2d_backward_cpu<float>);
WSDOL_KERNEL("max_pool2d_backward", cpu, f64, MaxPool2dBackwardKernel, &max_pool2d_backward_cpu<double>);
WSDOL_KERNEL("avg_pool2d", cpu, f32, AvgPool2dKernel, &avg_pool2d_cpu<float>);
WSDOL_KERNEL("avg_pool2d", cpu, f64, AvgPool2dKernel, &avg_pool2d_cpu<double>);
WSDOL_KERNEL("avg_pool2d_backward", cpu, f32, AvgPool2dBackwardKernel, &avg_pool2d_backward_cpu<float>);
WSDOL_KERNEL("avg_pool2d_backward", cpu, f64, AvgPool2dBackwardKernel, &avg_pool2d_backward_cpu<double>);
WSDOL_KERNEL("adaptive_pool2d", cpu, f32, AdaptivePool2dKernel, &adaptive_pool2d_cpu<float>);
WSDOL_KERNEL("adaptive_pool2d", cpu, f64, AdaptivePool2dKernel, &adaptive_pool2d_cpu<double>);
WSDOL_KERNEL("adaptive_avg_pool2d_backward", cpu, f32, AdaptiveAvgPool2dBackwardKernel,
             &adaptive_avg_pool2d_backward_cpu<float>);
WSDOL_KERNEL("adaptive_avg_pool2d_backward", cpu, f64, AdaptiveAvgPool2dBackwardKernel,
             &adaptive_avg_pool2d_backward_cpu<double>);

}  // namespace wsdol::cpu
