// resample.cpp (CPU) — interpolate (nearest, bilinear, bicubic) forward and backward, and pad, f32 and f64.
//
// Interpolation is separable: each output row oh reads `taps` input rows with weights, each output column ow
// `taps` input columns; forward and backward run as two 1-D passes through a (planes, H, OW) buffer. The taps of each axis are computed once per call, exactly as PyTorch's CPU kernels
// compute them (UpSample.h: area_pixel_compute_scale / area_pixel_compute_source_index / guard_index_and_lambda /
// get_cubic_upsample_coefficients), in the same precision: the kernel's type for bilinear and bicubic (float for
// f32, as PyTorch's opmath), float for nearest whatever the dtype (PyTorch's nearest index uses a float scale).
#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/ops/resample.h"
#include "kernels/cpu/parallel.h"

namespace wsdol::cpu {
namespace {

template <typename T>
struct AxisTaps {
    int taps = 1;                // 1 nearest, 2 bilinear, 4 bicubic
    std::vector<int64_t> index;  // out * taps source indices, clamped into [0, in)
    std::vector<T> weight;       // out * taps weights
};

// PyTorch's cubic convolution kernel with a = -0.75: |x| <= 1 and 1 < |x| < 2 pieces.
template <typename T> T cubic_inner(T x, T a) { return ((a + T(2)) * x - (a + T(3))) * x * x + T(1); }
template <typename T> T cubic_outer(T x, T a) { return ((a * x - T(5) * a) * x + T(8) * a) * x - T(4) * a; }

template <typename T>
AxisTaps<T> axis_taps(InterpMode mode, bool align_corners, double scale_factor, int64_t in, int64_t out) {
    AxisTaps<T> t;
    t.taps = mode == InterpMode::nearest ? 1 : mode == InterpMode::bilinear ? 2 : 4;
    t.index.resize(out * t.taps);
    t.weight.resize(out * t.taps);
    if (mode == InterpMode::nearest) {
        // src = min(floor(dst * scale), in - 1), scale = 1 / scale_factor or in / out, all in float (PyTorch).
        const float scale = scale_factor > 0 ? static_cast<float>(1.0 / scale_factor)
                                             : static_cast<float>(in) / static_cast<float>(out);
        for (int64_t i = 0; i < out; ++i) {
            t.index[i] = std::min(static_cast<int64_t>(std::floor(static_cast<float>(i) * scale)), in - 1);
            t.weight[i] = T(1);
        }
        return t;
    }
    // area_pixel_compute_scale: (in - 1) / (out - 1) with align_corners (0 for a single output), else
    // 1 / scale_factor when the caller gave one, else in / out.
    const T scale = align_corners ? (out > 1 ? static_cast<T>(in - 1) / static_cast<T>(out - 1) : T(0))
                                  : (scale_factor > 0 ? static_cast<T>(1.0 / scale_factor)
                                                      : static_cast<T>(in) / static_cast<T>(out));
    const bool cubic = mode == InterpMode::bicubic;
    for (int64_t i = 0; i < out; ++i) {
        // area_pixel_compute_source_index: half-pixel centres unless align_corners; linear clamps a negative
        // source to 0, cubic keeps it (its taps are clamped instead).
        T src = align_corners ? scale * static_cast<T>(i) : scale * (static_cast<T>(i) + T(0.5)) - T(0.5);
        if (!align_corners && !cubic && src < T(0)) src = T(0);
        // guard_index_and_lambda
        const int64_t i0 = std::min(static_cast<int64_t>(std::floor(src)), in - 1);
        const T lambda = std::min(std::max(src - static_cast<T>(i0), T(0)), T(1));
        int64_t* idx = &t.index[i * t.taps];
        T* w = &t.weight[i * t.taps];
        if (!cubic) {
            idx[0] = i0;
            idx[1] = i0 + (i0 < in - 1 ? 1 : 0);
            w[0] = T(1) - lambda;
            w[1] = lambda;
        } else {
            const T a = T(-0.75);
            w[0] = cubic_outer(lambda + T(1), a);
            w[1] = cubic_inner(lambda, a);
            w[2] = cubic_inner(T(1) - lambda, a);
            w[3] = cubic_outer(T(1) - lambda + T(1), a);
            for (int j = 0; j < 4; ++j) idx[j] = std::clamp<int64_t>(i0 - 1 + j, 0, in - 1);
        }
    }
    return t;
}

// Two separable passes, each parallel: (1) every input row that some output row reads is interpolated along W
// into tmp (planes, H, OW); (2) output rows combine NT rows of tmp. Per output element this performs exactly the
// operations of the direct 2-D sum  sum_a wh[a] (sum_b ww[b] x[rows[a], cols[b]])  in the same order, so the
// result is the same bits, at NT (H OW + OH OW) instead of NT^2 OH OW multiply-adds.
template <typename T, int NT>
void interpolate_forward(const AxisTaps<T>& th, const AxisTaps<T>& tw, const TensorView& out, const TensorView& x) {
    const int64_t planes = x.shape[0] * x.shape[1], H = x.shape[2], W = x.shape[3];
    const int64_t OH = out.shape[2], OW = out.shape[3];
    const T* px = x.ptr<T>();
    T* po = out.ptr<T>();
    std::vector<char> row_used(H, 0);
    for (int64_t r : th.index) row_used[r] = 1;
    std::vector<T> tmp(planes * H * OW);
    parallel_for(planes * H, OW * NT, [&](int64_t begin, int64_t end) {
        for (int64_t item = begin; item < end; ++item) {
            if (!row_used[item % H]) continue;
            const T* row = px + item * W;
            T* t = tmp.data() + item * OW;
            for (int64_t ow = 0; ow < OW; ++ow) {
                const int64_t* cols = &tw.index[ow * NT];
                const T* col_w = &tw.weight[ow * NT];
                T r = 0;
                for (int b = 0; b < NT; ++b) r += col_w[b] * row[cols[b]];
                t[ow] = r;
            }
        }
    });
    parallel_for(planes * OH, OW * NT, [&](int64_t begin, int64_t end) {
        for (int64_t item = begin; item < end; ++item) {
            const int64_t plane = item / OH, oh = item % OH;
            const int64_t* rows = &th.index[oh * NT];
            const T* row_w = &th.weight[oh * NT];
            const T* t[NT];
            for (int a = 0; a < NT; ++a) t[a] = tmp.data() + (plane * H + rows[a]) * OW;
            T* o = po + item * OW;
            for (int64_t ow = 0; ow < OW; ++ow) {
                T acc = 0;
                for (int a = 0; a < NT; ++a) acc += row_w[a] * t[a][ow];
                o[ow] = acc;
            }
        }
    });
}

// The adjoint in two passes: (1) per plane, gy rows are spread onto tmp (H, OW) with the row weights (one thread
// per plane, output-row order); (2) per input row, tmp is spread along W with the column weights (one thread per
// row). Every accumulation has a fixed order, independent of the thread count.
template <typename T, int NT>
void interpolate_backward(const AxisTaps<T>& th, const AxisTaps<T>& tw, const TensorView& gx, const TensorView& gy) {
    const int64_t planes = gx.shape[0] * gx.shape[1], H = gx.shape[2], W = gx.shape[3];
    const int64_t OH = gy.shape[2], OW = gy.shape[3];
    const T* pg = gy.ptr<T>();
    T* px = gx.ptr<T>();
    std::vector<T> tmp(planes * H * OW);
    parallel_for(planes, (H + OH * NT) * OW, [&](int64_t begin, int64_t end) {
        for (int64_t p = begin; p < end; ++p) {
            T* t = tmp.data() + p * H * OW;
            std::fill(t, t + H * OW, T(0));
            for (int64_t oh = 0; oh < OH; ++oh) {
                const T* g = pg + (p * OH + oh) * OW;
                for (int a = 0; a < NT; ++a) {
                    T* trow = t + th.index[oh * NT + a] * OW;
                    const T wa = th.weight[oh * NT + a];
                    for (int64_t ow = 0; ow < OW; ++ow) trow[ow] += wa * g[ow];
                }
            }
        }
    });
    parallel_for(planes * H, W + OW * NT, [&](int64_t begin, int64_t end) {
        for (int64_t item = begin; item < end; ++item) {
            T* row = px + item * W;
            std::fill(row, row + W, T(0));
            const T* t = tmp.data() + item * OW;
            for (int64_t ow = 0; ow < OW; ++ow)
                for (int b = 0; b < NT; ++b) row[tw.index[ow * NT + b]] += tw.weight[ow * NT + b] * t[ow];
        }
    });
}

// Calls body.template operator()<NT>() with NT the mode's tap count.
template <typename T, typename Fwd>
void with_taps(const InterpParams& p, int64_t in_h, int64_t in_w, int64_t out_h, int64_t out_w, Fwd&& body) {
    const AxisTaps<T> th = axis_taps<T>(p.mode, p.align_corners, p.scale_h, in_h, out_h);
    const AxisTaps<T> tw = axis_taps<T>(p.mode, p.align_corners, p.scale_w, in_w, out_w);
    switch (p.mode) {
        case InterpMode::nearest: return body.template operator()<1>(th, tw);
        case InterpMode::bilinear: return body.template operator()<2>(th, tw);
        case InterpMode::bicubic: return body.template operator()<4>(th, tw);
    }
}

template <typename T>
void interpolate_cpu(const InterpParams& p, const TensorView& out, const TensorView& x) {
    with_taps<T>(p, x.shape[2], x.shape[3], out.shape[2], out.shape[3],
                 [&]<int NT>(const AxisTaps<T>& th, const AxisTaps<T>& tw) { interpolate_forward<T, NT>(th, tw, out, x); });
}

template <typename T>
void interpolate_backward_cpu(const InterpParams& p, const TensorView& gx, const TensorView& gy) {
    with_taps<T>(p, gx.shape[2], gx.shape[3], gy.shape[2], gy.shape[3],
                 [&]<int NT>(const AxisTaps<T>& th, const AxisTaps<T>& tw) { interpolate_backward<T, NT>(th, tw, gx, gy); });
}

// out row by row (all dims but the last): the source row is found per row, then the last dim is three runs:
// left fill, copy, right fill (constant value, or the edge element for replicate).
template <typename T>
void pad_cpu(PadMode mode, double value, const int64_t* before, const TensorView& out, const TensorView& x) {
    const int nd = out.ndim;
    const int64_t out_w = out.shape[nd - 1], in_w = x.shape[nd - 1], left = before[nd - 1];
    const int64_t rows = out.numel() / out_w;
    const T fill = static_cast<T>(value);
    const T* px = x.ptr<T>();
    T* po = out.ptr<T>();
    const bool constant = mode == PadMode::constant;
    parallel_for(rows, out_w, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
            T* o = po + r * out_w;
            int64_t rest = r, offset = 0;
            bool inside = true;
            for (int d = nd - 2; d >= 0; --d) {
                const int64_t od = rest % out.shape[d];
                rest /= out.shape[d];
                int64_t id = od - before[d];
                if (id < 0 || id >= x.shape[d]) {
                    if (constant) inside = false;
                    id = std::clamp<int64_t>(id, 0, x.shape[d] - 1);
                }
                offset += id * x.strides[d];
            }
            if (!inside) {
                std::fill(o, o + out_w, fill);
                continue;
            }
            const T* row = px + offset;
            const int64_t lo = std::clamp<int64_t>(left, 0, out_w), hi = std::clamp<int64_t>(left + in_w, lo, out_w);
            std::fill(o, o + lo, constant ? fill : row[0]);
            for (int64_t j = lo; j < hi; ++j) o[j] = row[j - left];
            std::fill(o + hi, o + out_w, constant ? fill : row[in_w - 1]);
        }
    });
}

template <typename T>
void pad_replicate_backward_cpu(int padded_dims, const int64_t* before, const TensorView& gx, const TensorView& gy) {
    const int nd = gx.ndim;
    const bool two = padded_dims == 2;
    const int64_t IH = two ? gx.shape[nd - 2] : 1, OH = two ? gy.shape[nd - 2] : 1, top = two ? before[nd - 2] : 0;
    const int64_t IW = gx.shape[nd - 1], OW = gy.shape[nd - 1], left = before[nd - 1];
    const int64_t planes = gx.numel() / (IH * IW);
    const T* pg = gy.ptr<T>();
    T* px = gx.ptr<T>();
    parallel_for(planes, IH * IW + OH * OW, [&](int64_t begin, int64_t end) {
        for (int64_t p = begin; p < end; ++p) {
            T* plane = px + p * IH * IW;
            std::fill(plane, plane + IH * IW, T(0));
            const T* g = pg + p * OH * OW;
            for (int64_t oh = 0; oh < OH; ++oh) {
                T* row = plane + std::clamp<int64_t>(oh - top, 0, IH - 1) * IW;
                for (int64_t ow = 0; ow < OW; ++ow) row[std::clamp<int64_t>(ow - left, 0, IW - 1)] += g[oh * OW + ow];
            }
        }
    });
}

}  // namespace

WSDOL_KERNEL("interpolate", cpu, f32, InterpolateKernel, &interpolate_cpu<float>);
WSDOL_KERNEL("interpolate", cpu, f64, InterpolateKernel, &interpolate_cpu<double>);
WSDOL_KERNEL("interpolate_backward", cpu, f32, InterpolateBackwardKernel, &interpolate_backward_cpu<float>);
WSDOL_KERNEL("interpolate_backward", cpu, f64, InterpolateBackwardKernel, &interpolate_backward_cpu<double>);
WSDOL_KERNEL("pad", cpu, f32, PadKernel, &pad_cpu<float>);
WSDOL_KERNEL("pad", cpu, f64, PadKernel, &pad_cpu<double>);
WSDOL_KERNEL("pad", cpu, i32, PadKernel, &pad_cpu<int32_t>);  // padding label maps and masks
WSDOL_KERNEL("pad", cpu, i64, PadKernel, &pad_cpu<int64_t>);
WSDOL_KERNEL("pad", cpu, u8, PadKernel, &pad_cpu<uint8_t>);
WSDOL_KERNEL("pad", cpu, boolean, PadKernel, &pad_cpu<bool>);
WSDOL_KERNEL("pad_replicate_backward", cpu, f32, PadReplicateBackwardKernel, &pad_replicate_backward_cpu<float>);
WSDOL_KERNEL("pad_replicate_backward", cpu, f64, PadReplicateBackwardKernel, &pad_replicate_backward_cpu<double>);

}  // namespace wsdol::cpu
