// conv.cpp (CPU) — im2col and col2im for conv2d, f32 and f64.
//
// For a kernel offset (ki, kj) the output columns ow that read inside the input form one range [ow_lo, ow_hi),
// computed once per row, so the inner loops carry no bounds test: a copy (stride 1) or a strided gather.
#include <algorithm>

#include "engine/ops/conv_pool.h"
#include "kernels/cpu/parallel.h"

namespace wsdol::cpu {
namespace {

int64_t ceil_div(int64_t a, int64_t b) {  // b > 0; exact for negative a
    return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

// Columns ow in [lo, hi) read input column ow * sW + offset inside [0, W).
struct ValidRange {
    int64_t lo, hi;
};
ValidRange valid_columns(int64_t offset, int64_t W, int64_t sW, int64_t OW) {
    const int64_t lo = std::clamp<int64_t>(ceil_div(-offset, sW), 0, OW);
    const int64_t hi = std::clamp<int64_t>(ceil_div(W - offset, sW), lo, OW);
    return {lo, hi};
}

// x: (n, C, H, W) contiguous -> col: (C kH kW, n OH OW) contiguous.
template <typename T>
void im2col_cpu(const Window2d& w, const TensorView& col, const TensorView& x) {
    const int64_t n = x.shape[0], C = x.shape[1], H = w.H, W = w.W, OH = w.OH, OW = w.OW, L = OH * OW;
    const int64_t rows = C * w.kH * w.kW, ld = n * L;
    const T* px = x.ptr<T>();
    T* pc = col.ptr<T>();
    // One work item = one (image, row) segment of L columns: written by one thread, no sharing. Image-major
    // order, so consecutive rows (c, ki, kj), (c, ki, kj + 1), ... re-read the same input lines while cached
    // (with kernel = stride, e.g. a patch embedding, each input line is read by kW consecutive items).
    parallel_for(rows * n, L, [&](int64_t begin, int64_t end) {
        for (int64_t item = begin; item < end; ++item) {
            const int64_t img = item / rows, r = item % rows;
            const int64_t c = r / (w.kH * w.kW), ki = (r / w.kW) % w.kH, kj = r % w.kW;
            const T* plane = px + (img * C + c) * H * W;
            T* out = pc + r * ld + img * L;
            const int64_t col_offset = kj * w.dW - w.pW;
            const ValidRange v = valid_columns(col_offset, W, w.sW, OW);
            for (int64_t oh = 0; oh < OH; ++oh) {
                T* o = out + oh * OW;
                const int64_t ih = oh * w.sH - w.pH + ki * w.dH;
                if (ih < 0 || ih >= H) {
                    std::fill(o, o + OW, T(0));
                    continue;
                }
                const T* row = plane + ih * W;
                std::fill(o, o + v.lo, T(0));
                if (w.sW == 1) {
                    for (int64_t ow = v.lo; ow < v.hi; ++ow) o[ow] = row[ow + col_offset];
                } else {
                    const int64_t s = w.sW;
                    for (int64_t ow = v.lo; ow < v.hi; ++ow) o[ow] = row[ow * s + col_offset];
                }
                std::fill(o + v.hi, o + OW, T(0));
            }
        }
    });
}

// col: (C kH kW, n OH OW) -> gx: (n, C, H, W), overwritten. One (image, channel) plane per work item, summed in
// the fixed order (ki, kj, oh, ow): deterministic for any thread count.
template <typename T>
void col2im_cpu(const Window2d& w, const TensorView& gx, const TensorView& col) {
    const int64_t n = gx.shape[0], C = gx.shape[1], H = w.H, W = w.W, OH = w.OH, OW = w.OW, L = OH * OW;
    const int64_t ld = n * L;
    const T* pc = col.ptr<T>();
    T* pg = gx.ptr<T>();
    parallel_for(n * C, w.kH * w.kW * L, [&](int64_t begin, int64_t end) {
        for (int64_t p = begin; p < end; ++p) {
            const int64_t img = p / C, c = p % C;
            T* plane = pg + p * H * W;
            std::fill(plane, plane + H * W, T(0));
            for (int64_t ki = 0; ki < w.kH; ++ki) {
                for (int64_t kj = 0; kj < w.kW; ++kj) {
                    const int64_t r = (c * w.kH + ki) * w.kW + kj;
                    const T* src = pc + r * ld + img * L;
                    const int64_t col_offset = kj * w.dW - w.pW;
                    const ValidRange v = valid_columns(col_offset, W, w.sW, OW);
                    for (int64_t oh = 0; oh < OH; ++oh) {
                        const int64_t ih = oh * w.sH - w.pH + ki * w.dH;
                        if (ih < 0 || ih >= H) continue;
                        T* row = plane + ih * W;
                        const T* s = src + oh * OW;
                        if (w.sW == 1) {
                            for (int64_t ow = v.lo; ow < v.hi; ++ow) row[ow + col_offset] += s[ow];
                        } else {
                            const int64_t st = w.sW;
                            for (int64_t ow = v.lo; ow < v.hi; ++ow) row[ow * st + col_offset] += s[ow];
                        }
                    }
                }
            }
        }
    });
}

}  // namespace

WSDOL_KERNEL("im2col", cpu, f32, Im2colKernel, &im2col_cpu<float>);
WSDOL_KERNEL("im2col", cpu, f64, Im2colKernel, &im2col_cpu<double>);
WSDOL_KERNEL("col2im", cpu, f32, Col2imKernel, &col2im_cpu<float>);
WSDOL_KERNEL("col2im", cpu, f64, Col2imKernel, &col2im_cpu<double>);

}  // namespace wsdol::cpu
