// deform_conv.cpp (CPU) — the three kernels of deform_conv2d (engine/ops/deform_conv.cpp), f32 and f64:
// deformable im2col (forward and the weight gradient), its adjoint in the input, and the coordinate kernel for the
// offset and mask gradients. Sampling follows torchvision/mmcv v1 (see conv_pool.h): a point p is 0 outside the
// open square (-1, H) x (-1, W), else bilinear from floor(p) with corners outside the image as 0. Positions are
// formed as torchvision does, the integer part first and then the offset added in the tensor's precision.
// Every work item writes only its own outputs, in a fixed order: results never depend on the thread count.
#include <algorithm>
#include <cmath>

#include "engine/ops/deform_conv.h"
#include "kernels/cpu/parallel.h"

namespace wsdol::cpu {
namespace {

// The four corners of the cell of (py, px) with their bilinear weights; weights of corners outside the image are 0.
template <typename T>
struct Cell {
    bool inside = false;  // the sample lies in the open square (-1, H) x (-1, W)
    int64_t y0 = 0, x0 = 0;
    T ly = 0, lx = 0;     // fractional parts
    bool vy0 = false, vy1 = false, vx0 = false, vx1 = false;  // corner rows/columns inside the image
};

template <typename T>
Cell<T> cell_of(T py, T px, int64_t H, int64_t W) {
    Cell<T> c;
    if (py <= T(-1) || py >= T(H) || px <= T(-1) || px >= T(W)) return c;
    c.inside = true;
    const T fy = std::floor(py), fx = std::floor(px);
    c.y0 = static_cast<int64_t>(fy);
    c.x0 = static_cast<int64_t>(fx);
    c.ly = py - fy;
    c.lx = px - fx;
    c.vy0 = c.y0 >= 0;
    c.vy1 = c.y0 + 1 <= H - 1;
    c.vx0 = c.x0 >= 0;
    c.vx1 = c.x0 + 1 <= W - 1;
    return c;
}

template <typename T>
T corner(const T* plane, int64_t W, const Cell<T>& c, bool vy, bool vx, int64_t dy, int64_t dx) {
    return vy && vx ? plane[(c.y0 + dy) * W + c.x0 + dx] : T(0);
}

template <typename T>
T sample(const T* plane, int64_t W, const Cell<T>& c) {
    if (!c.inside) return T(0);
    const T hy = 1 - c.ly, hx = 1 - c.lx;
    return hy * hx * corner(plane, W, c, c.vy0, c.vx0, 0, 0) + hy * c.lx * corner(plane, W, c, c.vy0, c.vx1, 0, 1) +
           c.ly * hx * corner(plane, W, c, c.vy1, c.vx0, 1, 0) + c.ly * c.lx * corner(plane, W, c, c.vy1, c.vx1, 1, 1);
}

// Per (image, offset group, tap, output position): the sample point and its mask value.
struct Sampler {
    const Window2d& w;
    int64_t G, taps, L;
    template <typename T>
    void point(const T* off, const T* mask, int64_t img, int64_t g, int64_t k, int64_t l, T& py, T& px, T& m) const {
        const int64_t oh = l / w.OW, ow = l % w.OW, ki = k / w.kW, kj = k % w.kW;
        const T* o = off + ((img * G + g) * 2 * taps + 2 * k) * L + l;
        py = T(oh * w.sH - w.pH + ki * w.dH) + o[0];
        px = T(ow * w.sW - w.pW + kj * w.dW) + o[L];
        m = mask ? mask[((img * G + g) * taps + k) * L + l] : T(1);
    }
};

template <typename T>
void deform_im2col_cpu(const Window2d& w, int64_t G, const TensorView& col, const TensorView& x,
                       const TensorView& offset, const TensorView& mask) {
    const int64_t n = x.shape[0], C = x.shape[1], H = w.H, W = w.W, L = w.OH * w.OW, taps = w.kH * w.kW;
    const int64_t ld = n * L, Cg = C / G;
    const Sampler s{w, G, taps, L};
    const T* px_ = x.ptr<T>();
    const T* po = offset.ptr<T>();
    const T* pm = mask.data ? mask.ptr<T>() : nullptr;
    T* pc = col.ptr<T>();
    // One work item = one (image, channel) plane: its kH kW column rows of L entries.
    parallel_for(n * C, taps * L * 8, [&](int64_t begin, int64_t end) {
        for (int64_t item = begin; item < end; ++item) {
            const int64_t img = item / C, c = item % C, g = c / Cg;
            const T* plane = px_ + item * H * W;
            for (int64_t k = 0; k < taps; ++k) {
                T* out = pc + (c * taps + k) * ld + img * L;
                for (int64_t l = 0; l < L; ++l) {
                    T py, pxx, m;
                    s.point(po, pm, img, g, k, l, py, pxx, m);
                    out[l] = m * sample(plane, W, cell_of(py, pxx, H, W));
                }
            }
        }
    });
}

template <typename T>
void deform_col2im_cpu(const Window2d& w, int64_t G, const TensorView& gx, const TensorView& gcol,
                       const TensorView& offset, const TensorView& mask) {
    const int64_t n = gx.shape[0], C = gx.shape[1], H = w.H, W = w.W, L = w.OH * w.OW, taps = w.kH * w.kW;
    const int64_t ld = n * L, Cg = C / G;
    const Sampler s{w, G, taps, L};
    const T* po = offset.ptr<T>();
    const T* pm = mask.data ? mask.ptr<T>() : nullptr;
    const T* pc = gcol.ptr<T>();
    T* pg = gx.ptr<T>();
    parallel_for(n * C, taps * L * 8, [&](int64_t begin, int64_t end) {
        for (int64_t item = begin; item < end; ++item) {
            const int64_t img = item / C, c = item % C, g = c / Cg;
            T* plane = pg + item * H * W;
            std::fill(plane, plane + H * W, T(0));
            for (int64_t k = 0; k < taps; ++k) {
                const T* src = pc + (c * taps + k) * ld + img * L;
                for (int64_t l = 0; l < L; ++l) {
                    T py, pxx, m;
                    s.point(po, pm, img, g, k, l, py, pxx, m);
                    const Cell<T> cl = cell_of(py, pxx, H, W);
                    if (!cl.inside) continue;
                    const T v = m * src[l], hy = 1 - cl.ly, hx = 1 - cl.lx;
                    T* r0 = plane + cl.y0 * W + cl.x0;
                    if (cl.vy0 && cl.vx0) r0[0] += hy * hx * v;
                    if (cl.vy0 && cl.vx1) r0[1] += hy * cl.lx * v;
                    if (cl.vy1 && cl.vx0) r0[W] += cl.ly * hx * v;
                    if (cl.vy1 && cl.vx1) r0[W + 1] += cl.ly * cl.lx * v;
                }
            }
        }
    });
}

template <typename T>
void deform_col2im_coord_cpu(const Window2d& w, int64_t G, const TensorView& goffset, const TensorView& gmask,
                             const TensorView& gcol, const TensorView& x, const TensorView& offset,
                             const TensorView& mask) {
    const int64_t n = x.shape[0], C = x.shape[1], H = w.H, W = w.W, L = w.OH * w.OW, taps = w.kH * w.kW;
    const int64_t ld = n * L, Cg = C / G;
    const Sampler s{w, G, taps, L};
    const T* px_ = x.ptr<T>();
    const T* po = offset.ptr<T>();
    const T* pm = mask.data ? mask.ptr<T>() : nullptr;
    const T* pc = gcol.ptr<T>();
    T* pgo = goffset.ptr<T>();
    T* pgm = gmask.data ? gmask.ptr<T>() : nullptr;
    // One work item = one (image, group, tap, position): its dy, dx (and mask) gradients, summed over the group's
    // channels in order.
    parallel_for(n * G * taps * L, Cg * 16, [&](int64_t begin, int64_t end) {
        for (int64_t item = begin; item < end; ++item) {
            const int64_t l = item % L, k = (item / L) % taps, g = (item / (L * taps)) % G, img = item / (L * taps * G);
            T py, pxx, m;
            s.point(po, pm, img, g, k, l, py, pxx, m);
            const Cell<T> cl = cell_of(py, pxx, H, W);
            double sy = 0, sx = 0, sm = 0;
            if (cl.inside) {
                for (int64_t cc = 0; cc < Cg; ++cc) {
                    const int64_t c = g * Cg + cc;
                    const T* plane = px_ + (img * C + c) * H * W;
                    const T gc = pc[(c * taps + k) * ld + img * L + l];
                    const T v00 = corner(plane, W, cl, cl.vy0, cl.vx0, 0, 0);
                    const T v01 = corner(plane, W, cl, cl.vy0, cl.vx1, 0, 1);
                    const T v10 = corner(plane, W, cl, cl.vy1, cl.vx0, 1, 0);
                    const T v11 = corner(plane, W, cl, cl.vy1, cl.vx1, 1, 1);
                    // d sample / d py on the cell [y0, y0 + 1]: one-sided at integer py (the cell starts there)
                    const T dy = cl.lx * (v11 - v01) + (1 - cl.lx) * (v10 - v00);
                    const T dx = cl.ly * (v11 - v10) + (1 - cl.ly) * (v01 - v00);
                    sy += static_cast<double>(m * dy * gc);
                    sx += static_cast<double>(m * dx * gc);
                    if (pgm) sm += static_cast<double>(gc * sample(plane, W, cl));
                }
            }
            T* go = pgo + ((img * G + g) * 2 * taps + 2 * k) * L + l;
            go[0] = static_cast<T>(sy);
            go[L] = static_cast<T>(sx);
            if (pgm) pgm[((img * G + g) * taps + k) * L + l] = static_cast<T>(sm);
        }
    });
}

}  // namespace

WSDOL_KERNEL("deform_im2col", cpu, f32, DeformIm2colKernel, &deform_im2col_cpu<float>);
WSDOL_KERNEL("deform_im2col", cpu, f64, DeformIm2colKernel, &deform_im2col_cpu<double>);
WSDOL_KERNEL("deform_col2im", cpu, f32, DeformCol2imKernel, &deform_col2im_cpu<float>);
WSDOL_KERNEL("deform_col2im", cpu, f64, DeformCol2imKernel, &deform_col2im_cpu<double>);
WSDOL_KERNEL("deform_col2im_coord", cpu, f32, DeformCol2imCoordKernel, &deform_col2im_coord_cpu<float>);
WSDOL_KERNEL("deform_col2im_coord", cpu, f64, DeformCol2imCoordKernel, &deform_col2im_coord_cpu<double>);

}  // namespace wsdol::cpu
