// deform_conv.cpp — deform_conv2d (torchvision.ops.deform_conv2d / mmcv v1 DeformConv2d): shape rule, forward
// (deformable im2col + gemm) and backward (gemm + deformable col2im for x, a coordinate kernel for offset and
// mask, gemm for the weight, a sum for the bias), laid out as conv2d (conv.cpp):
//   col     (C_in kH kW, n L), L = OH OW, row (c, ki, kj), column (image, oh, ow); rows of weight group g are the
//           block [g K_g, (g+1) K_g), K_g = C_in / groups kH kW
//   forward      y[img, g]  (Cg_out, L)  = W_g (Cg_out, K_g) @ col_g[:, img L ..]                 (batched over img)
//   grad columns gcol_g[:, img L ..]     = W_g^T (K_g, Cg_out) @ gy[img, g]                       (batched)
//   grad weight  gW_g                   += gyp_g (Cg_out, n L) @ col_g^T                          (one product)
// The column matrix is rebuilt in backward (not saved): it is kH kW times the input. Images are chunked by
// conv2d_column_budget() alone, never by the thread count, so results are bit-identical for any thread count.
#include <algorithm>

#include "engine/autograd/autograd.h"
#include "engine/ops/conv_args.h"
#include "engine/ops/deform_conv.h"
#include "engine/ops/ops.h"

namespace wsdol {

WSDOL_OP(deform_conv2d, "deform_conv", true);

namespace {

struct DeformGeometry : ConvArgs {  // N, C_in, C_out, groups, win: the checked arguments
    int64_t offset_groups = 1;
    int64_t Cg_in = 0, Cg_out = 0, K_g = 0, L = 0;
    int64_t chunk = 1;
};

void* element_at(const Tensor& t, int64_t elements) {
    return static_cast<char*>(t.data_ptr()) + elements * static_cast<int64_t>(dtype_size(t.dtype()));
}

TensorView view_or_empty(const Tensor& t) { return t.defined() ? view_of(t) : TensorView{}; }

// x_chunk (n, C_in, H, W), offset_chunk, mask_chunk (or undefined), all contiguous -> col (C_in kH kW, n L).
Tensor deform_im2col(const DeformGeometry& c, const Tensor& x_chunk, const Tensor& offset_chunk,
                     const Tensor& mask_chunk) {
    Tensor col = Tensor::empty({c.C_in * c.win.kH * c.win.kW, x_chunk.size(0) * c.L}, x_chunk.dtype(),
                               x_chunk.device());
    if (col.numel() > 0)
        find_kernel<DeformIm2colKernel>("deform_im2col", x_chunk.device(), x_chunk.dtype())(
            c.win, c.offset_groups, view_of(col), view_of(x_chunk), view_of(offset_chunk), view_or_empty(mask_chunk));
    return col;
}

Tensor narrow_or_empty(const Tensor& t, int64_t n0, int64_t n) { return t.defined() ? t.narrow(0, n0, n) : Tensor(); }

// All inputs contiguous; no recording.
Tensor deform_forward(const DeformGeometry& c, const Tensor& x, const Tensor& offset, const Tensor& w,
                      const Tensor& bias, const Tensor& mask) {
    Tensor y = Tensor::empty({c.N, c.C_out, c.win.OH, c.win.OW}, x.dtype(), x.device());
    if (y.numel() == 0) return y;
    if (bias.defined()) y.copy_(bias.reshape({c.C_out, 1, 1}));
    else y.zero_();
    if (c.K_g == 0) return y;
    GemmKernel* gemm = find_kernel<GemmKernel>("gemm", x.device(), x.dtype());
    for (int64_t n0 = 0; n0 < c.N; n0 += c.chunk) {
        const int64_t n = std::min(c.chunk, c.N - n0);
        Tensor col = deform_im2col(c, x.narrow(0, n0, n), offset.narrow(0, n0, n), narrow_or_empty(mask, n0, n));
        for (int64_t g = 0; g < c.groups; ++g) {
            GemmArgs a;
            a.m = c.Cg_out; a.n = c.L; a.k = c.K_g;
            a.a = element_at(w, g * c.Cg_out * c.K_g); a.lda = c.K_g; a.stride_a = 0;
            a.b = element_at(col, g * c.K_g * n * c.L); a.ldb = n * c.L; a.stride_b = c.L;
            a.c = element_at(y, (n0 * c.C_out + g * c.Cg_out) * c.L); a.ldc = c.L; a.stride_c = c.C_out * c.L;
            a.batch = n;
            a.beta = 1.0;  // onto the bias (or zeros)
            gemm(a);
        }
    }
    return y;
}

struct DeformNeeds {
    bool x = false, offset = false, w = false, b = false, mask = false;
};

// gy (N, C_out, OH, OW); returns {gx, goffset, gw, gmask, gb}, undefined where not needed. No recording.
TensorList deform_backward(const DeformGeometry& c, const Tensor& gy_in, const Tensor& x, const Tensor& offset,
                           const Tensor& w, const Tensor& mask, DeformNeeds need) {
    Tensor gy = gy_in.contiguous();
    Tensor gx, goff, gw, gmask, gb;
    if (need.b) gb = sum(gy, {0, 2, 3});
    if (need.x) gx = Tensor::zeros({c.N, c.C_in, c.win.H, c.win.W}, gy.dtype(), gy.device());
    if (need.offset) goff = Tensor::zeros(offset.shape(), gy.dtype(), gy.device());
    if (need.mask) gmask = Tensor::zeros(mask.shape(), gy.dtype(), gy.device());
    if (need.w) gw = Tensor::zeros(w.shape(), gy.dtype(), gy.device());
    if (gy.numel() == 0 || c.K_g == 0) return {gx, goff, gw, gmask, gb};
    const bool need_cols_grad = need.x || need.offset || need.mask;
    GemmKernel* gemm = find_kernel<GemmKernel>("gemm", gy.device(), gy.dtype());
    for (int64_t n0 = 0; n0 < c.N; n0 += c.chunk) {
        const int64_t n = std::min(c.chunk, c.N - n0);
        const Tensor gy_chunk = gy.narrow(0, n0, n), x_chunk = x.narrow(0, n0, n), off_chunk = offset.narrow(0, n0, n);
        const Tensor mask_chunk = narrow_or_empty(mask, n0, n);
        if (need.w) {
            Tensor col = deform_im2col(c, x_chunk, off_chunk, mask_chunk);
            Tensor gyp = gy_chunk.reshape({n, c.C_out, c.L}).permute({1, 0, 2}).contiguous();  // (C_out, n, L)
            for (int64_t g = 0; g < c.groups; ++g) {
                GemmArgs a;
                a.trans_b = true;
                a.m = c.Cg_out; a.n = c.K_g; a.k = n * c.L;
                a.a = element_at(gyp, g * c.Cg_out * n * c.L); a.lda = n * c.L;
                a.b = element_at(col, g * c.K_g * n * c.L); a.ldb = n * c.L;
                a.c = element_at(gw, g * c.Cg_out * c.K_g); a.ldc = c.K_g;
                a.beta = n0 == 0 ? 0.0 : 1.0;  // chunks accumulate in a fixed order
                gemm(a);
            }
        }
        if (!need_cols_grad) continue;
        Tensor gcol = Tensor::empty({c.C_in * c.win.kH * c.win.kW, n * c.L}, gy.dtype(), gy.device());
        for (int64_t g = 0; g < c.groups; ++g) {
            GemmArgs a;
            a.trans_a = true;
            a.m = c.K_g; a.n = c.L; a.k = c.Cg_out;
            a.a = element_at(w, g * c.Cg_out * c.K_g); a.lda = c.K_g; a.stride_a = 0;
            a.b = element_at(gy_chunk, g * c.Cg_out * c.L); a.ldb = c.L; a.stride_b = c.C_out * c.L;
            a.c = element_at(gcol, g * c.K_g * n * c.L); a.ldc = n * c.L; a.stride_c = c.L;
            a.batch = n;
            gemm(a);
        }
        if (need.x)
            find_kernel<DeformCol2imKernel>("deform_col2im", gy.device(), gy.dtype())(
                c.win, c.offset_groups, view_of(gx.narrow(0, n0, n)), view_of(gcol), view_of(off_chunk),
                view_or_empty(mask_chunk));
        if (need.offset || need.mask) {
            // The coordinate kernel writes both; a scratch offset gradient when only the mask's is wanted.
            Tensor go = need.offset ? goff.narrow(0, n0, n) : Tensor::empty(off_chunk.shape(), gy.dtype(), gy.device());
            find_kernel<DeformCol2imCoordKernel>("deform_col2im_coord", gy.device(), gy.dtype())(
                c.win, c.offset_groups, view_of(go), need.mask ? view_of(gmask.narrow(0, n0, n)) : TensorView{},
                view_of(gcol), view_of(x_chunk), view_of(off_chunk), view_or_empty(mask_chunk));
        }
    }
    return {gx, goff, gw, gmask, gb};
}

}  // namespace

Tensor deform_conv2d(const Tensor& x_in, const Tensor& offset_in, const Tensor& weight_in, const Tensor& bias,
                     Int2 stride, Int2 padding, Int2 dilation, const Tensor& mask_in) {
    WSDOL_CHECK(x_in.defined() && offset_in.defined() && weight_in.defined(),
                "deform_conv2d: undefined input, offset or weight");
    const ConvArgs a = check_conv_args("deform_conv2d", x_in, weight_in, bias, stride, padding, dilation, std::nullopt);
    WSDOL_CHECK(offset_in.dim() == 4, "deform_conv2d: offset must be 4-D (N, 2 G kH kW, OH, OW), got ",
                shape_str(offset_in.shape()));
    check_like_input("deform_conv2d", offset_in, "offset", x_in);
    if (mask_in.defined()) check_like_input("deform_conv2d", mask_in, "mask", x_in);
    DeformGeometry c;
    static_cast<ConvArgs&>(c) = a;
    const Window2d& win = c.win;
    const int64_t taps = win.kH * win.kW;
    WSDOL_CHECK(offset_in.size(0) == c.N && offset_in.size(2) == win.OH && offset_in.size(3) == win.OW &&
                    offset_in.size(1) >= 2 * taps && offset_in.size(1) % (2 * taps) == 0,
                "deform_conv2d: offset ", shape_str(offset_in.shape()), " must be (", c.N, ", 2 G ", win.kH, " ",
                win.kW, ", ", win.OH, ", ", win.OW, ") for input ", shape_str(x_in.shape()), " and weight ",
                shape_str(weight_in.shape()));
    c.offset_groups = offset_in.size(1) / (2 * taps);
    WSDOL_CHECK(c.C_in % c.offset_groups == 0, "deform_conv2d: ", c.offset_groups, " offset groups (offset ",
                shape_str(offset_in.shape()), ") do not divide the ", c.C_in, " input channels");
    if (mask_in.defined())
        WSDOL_CHECK(mask_in.dim() == 4 && mask_in.size(0) == c.N && mask_in.size(1) == c.offset_groups * taps &&
                        mask_in.size(2) == win.OH && mask_in.size(3) == win.OW,
                    "deform_conv2d: mask ", shape_str(mask_in.shape()), " must be (", c.N, ", ",
                    c.offset_groups * taps, ", ", win.OH, ", ", win.OW, ") for offset ", shape_str(offset_in.shape()));
    c.Cg_in = c.C_in / c.groups;
    c.Cg_out = c.C_out / c.groups;
    c.K_g = c.Cg_in * taps;
    c.L = win.OH * win.OW;
    const int64_t per_image = std::max<int64_t>(1, c.C_in * taps * c.L);
    c.chunk = std::clamp<int64_t>(conv2d_column_budget() / per_image, 1, std::max<int64_t>(c.N, 1));

    Tensor x, off, w, m, y;
    {
        NoGradGuard no_grad;
        x = x_in.contiguous();
        off = offset_in.contiguous();
        w = weight_in.contiguous();
        m = mask_in.defined() ? mask_in.contiguous() : Tensor();
        y = deform_forward(c, x, off, w, bias, m);
    }
    DeformNeeds need;
    need.x = x_in.requires_grad();
    need.offset = offset_in.requires_grad();
    need.w = weight_in.requires_grad();
    need.mask = mask_in.defined() && mask_in.requires_grad();
    need.b = bias.defined() && bias.requires_grad();
    record("deform_conv2d", {x_in, offset_in, weight_in, mask_in, bias}, {y},
           [c, sx = saved(x), soff = saved(off), sw = saved(w), sm = saved(m), need](const TensorList& g) -> TensorList {
               TensorList r = deform_backward(c, g[0], sx, soff, sw, sm, need);
               return {r[0], r[1], r[2], r[3], r[4]};
           });
    return y;
}

}  // namespace wsdol
