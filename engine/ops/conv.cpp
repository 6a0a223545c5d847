// conv.cpp — conv2d: shape rule, forward (im2col + gemm) and backward (gemm + col2im, gemm, sum), side by side.
//
// How the work is laid out. For a chunk of n images, im2col writes col (C_in kH kW, n L) with L = OH OW: row
// (c, ki, kj), column (image, oh, ow). The rows of group g are the block [g K_g, (g+1) K_g), K_g = C_in/groups kH kW.
// Then, per group g (Cg_in = C_in / groups input and Cg_out = C_out / groups output channels):
//   forward      y[img, g] (Cg_out, L)        = W_g (Cg_out, K_g) @ col_g[:, img L .. (img+1) L]  (batched over img)
//   grad input   gcol_g[:, img L ..]          = W_g^T (K_g, Cg_out) @ gy[img, g] (Cg_out, L)       (batched), col2im
//   grad weight  gW_g (Cg_out, K_g)          += gyp_g (Cg_out, n L) @ col_g^T (n L, K_g)            (one product)
// where gyp is gy permuted to (C_out, n, L), so that a single product sums over images and positions at once.
// A 1x1 kernel with stride 1 and no padding ("pointwise") skips im2col in forward and grad input: x itself,
// (C_in, H W) per image, is the column matrix. A ViT patch embedding (kernel = stride = patch, no padding) goes
// through im2col, which is then a pure rearrangement: every input element is copied exactly once.
// Images are chunked so the column buffer stays under conv2d_column_budget() elements; the chunking depends on
// that number only, never on the thread count, so results are bit-identical for any number of threads.
#include <algorithm>
#include <atomic>

#include "engine/autograd/autograd.h"
#include "engine/ops/conv_pool.h"
#include "engine/ops/conv_args.h"
#include "engine/ops/ops.h"

namespace wsdol {

WSDOL_OP(conv2d, "conv_pool", true);

namespace {

std::atomic<int64_t> g_column_budget{int64_t(1) << 24};  // 16 Mi elements: 64 MiB of f32 columns
// Below this many output positions per image, forward runs one product over a chunk's images (see
// conv2d_forward): a product per image would be too narrow for the gemm micro-kernel.
constexpr int64_t kMergeImagesBelowL = 256;

struct ConvGeometry : ConvArgs {  // N, C_in, C_out, groups, win: the checked arguments
    int64_t Cg_in = 0, Cg_out = 0;  // channels per group
    int64_t K_g = 0;                // rows of the column matrix per group: Cg_in kH kW
    int64_t L = 0;                  // output positions per image: OH OW
    bool pointwise = false;         // 1x1 kernel, stride 1, no padding: x is its own column matrix
    int64_t chunk = 1;              // images per im2col buffer, fixed at forward time (backward uses the same)
};

// Address of element `elements` of a contiguous tensor (for gemm operands that start inside a tensor).
void* element_at(const Tensor& t, int64_t elements) {
    return static_cast<char*>(t.data_ptr()) + elements * static_cast<int64_t>(dtype_size(t.dtype()));
}

int64_t images_per_chunk(const ConvGeometry& c, int64_t budget) {
    const int64_t per_image = std::max<int64_t>(1, c.C_in * c.win.kH * c.win.kW * c.L);
    return std::clamp<int64_t>(budget / per_image, 1, std::max<int64_t>(c.N, 1));
}

// x_chunk: (n, C_in, H, W) contiguous -> col: (C_in kH kW, n L).
Tensor im2col(const ConvGeometry& c, const Tensor& x_chunk) {
    Tensor col = Tensor::empty({c.C_in * c.win.kH * c.win.kW, x_chunk.size(0) * c.L}, x_chunk.dtype(), x_chunk.device());
    if (col.numel() > 0)
        find_kernel<Im2colKernel>("im2col", x_chunk.device(), x_chunk.dtype())(c.win, view_of(col), view_of(x_chunk));
    return col;
}

// x: (N, C_in, H, W), w: (C_out, Cg_in, kH, kW), both contiguous; bias: (C_out) or undefined. No recording.
Tensor conv2d_forward(const ConvGeometry& c, const Tensor& x, const Tensor& w, const Tensor& bias) {
    Tensor y = Tensor::empty({c.N, c.C_out, c.win.OH, c.win.OW}, x.dtype(), x.device());
    if (y.numel() == 0) return y;
    // The bias is broadcast into y first and the products add onto it (beta = 1), saving a pass over y.
    if (bias.defined()) y.copy_(bias.reshape({c.C_out, 1, 1}));
    else if (c.K_g == 0) y.zero_();
    if (c.K_g == 0) return y;  // no input channels: y is the bias alone
    const double beta = bias.defined() ? 1.0 : 0.0;
    GemmKernel* gemm = find_kernel<GemmKernel>("gemm", x.device(), x.dtype());
    // y[n0 + img, g] = W_g @ (columns of image img), for img in [0, n); `cols` holds K_total rows of `ld` elements,
    // image img's columns start at img * image_step.
    auto product = [&](const Tensor& cols, int64_t ld, int64_t image_step, int64_t n0, int64_t n) {
        for (int64_t g = 0; g < c.groups; ++g) {
            GemmArgs a;
            a.m = c.Cg_out; a.n = c.L; a.k = c.K_g;
            a.a = element_at(w, g * c.Cg_out * c.K_g); a.lda = c.K_g; a.stride_a = 0;
            a.b = element_at(cols, g * c.K_g * ld); a.ldb = ld; a.stride_b = image_step;
            a.c = element_at(y, (n0 * c.C_out + g * c.Cg_out) * c.L); a.ldc = c.L; a.stride_c = c.C_out * c.L;
            a.batch = n;
            a.beta = beta;
            gemm(a);
        }
    };
    const int64_t chunk = c.chunk;
    if (c.N > 1 && c.L < kMergeImagesBelowL) {
        // Small outputs: one product per group over all images of a chunk, (Cg_out, n L), into a scratch buffer
        // laid out (C_out, n, L), then one layout copy into y. Per image the product would have only L columns
        // (ResNet-50 layer4: 7 x 7 = 49, i.e. three full 16-column micro-panels and a 1-wide one), which the
        // micro-kernel runs at a fraction of its rate. Each element of y still gets the same k-chunked sum (and
        // the bias first, beta = 1), so the bits do not change (gemm.cpp's determinism rule).
        for (int64_t n0 = 0; n0 < c.N; n0 += chunk) {
            const int64_t n = std::min(chunk, c.N - n0);
            // columns (C_in kH kW, n L): im2col, or for a pointwise conv x itself with images moved inside
            Tensor col = c.pointwise ? x.narrow(0, n0, n).permute({1, 0, 2, 3}).contiguous()
                                     : im2col(c, x.narrow(0, n0, n));
            Tensor out = Tensor::empty({c.C_out, n, c.win.OH, c.win.OW}, x.dtype(), x.device());
            if (bias.defined()) out.copy_(bias.reshape({c.C_out, 1, 1, 1}));
            for (int64_t g = 0; g < c.groups; ++g) {
                GemmArgs a;
                a.m = c.Cg_out; a.n = n * c.L; a.k = c.K_g;
                a.a = element_at(w, g * c.Cg_out * c.K_g); a.lda = c.K_g;
                a.b = element_at(col, g * c.K_g * n * c.L); a.ldb = n * c.L;
                a.c = element_at(out, g * c.Cg_out * n * c.L); a.ldc = n * c.L;
                a.beta = beta;
                gemm(a);
            }
            y.narrow(0, n0, n).copy_(out.permute({1, 0, 2, 3}));
        }
        return y;
    }
    if (c.pointwise) {
        product(x, c.L, c.C_in * c.L, 0, c.N);  // x[img] is (C_in, L): already the column matrix
        return y;
    }
    for (int64_t n0 = 0; n0 < c.N; n0 += chunk) {
        const int64_t n = std::min(chunk, c.N - n0);
        Tensor col = im2col(c, x.narrow(0, n0, n));
        product(col, n * c.L, c.L, n0, n);
    }
    return y;
}

// gy: (N, C_out, OH, OW); x, w as in forward (x is needed only for gw, w only for gx). Returns {gx, gw, gb},
// undefined where not needed. No recording.
TensorList conv2d_backward(const ConvGeometry& c, const Tensor& gy_in, const Tensor& x, const Tensor& w, bool need_x,
                           bool need_w, bool need_b) {
    Tensor gy = gy_in.contiguous();
    Tensor gx, gw, gb;
    if (need_b) gb = sum(gy, {0, 2, 3});
    if (need_x) gx = Tensor::empty({c.N, c.C_in, c.win.H, c.win.W}, gy.dtype(), gy.device());
    if (need_w) gw = Tensor::empty({c.C_out, c.Cg_in, c.win.kH, c.win.kW}, gy.dtype(), gy.device());
    if (gy.numel() == 0 || c.K_g == 0) {  // nothing flows: zero-sized products
        if (gx.defined()) gx.zero_();
        if (gw.defined()) gw.zero_();
        return {gx, gw, gb};
    }
    GemmKernel* gemm = find_kernel<GemmKernel>("gemm", gy.device(), gy.dtype());
    if (need_x && c.pointwise) {
        for (int64_t g = 0; g < c.groups; ++g) {  // gx[img, g] (Cg_in, L) = W_g^T @ gy[img, g]
            GemmArgs a;
            a.trans_a = true;
            a.m = c.Cg_in; a.n = c.L; a.k = c.Cg_out;
            a.a = element_at(w, g * c.Cg_out * c.Cg_in); a.lda = c.Cg_in; a.stride_a = 0;
            a.b = element_at(gy, g * c.Cg_out * c.L); a.ldb = c.L; a.stride_b = c.C_out * c.L;
            a.c = element_at(gx, g * c.Cg_in * c.L); a.ldc = c.L; a.stride_c = c.C_in * c.L;
            a.batch = c.N;
            gemm(a);
        }
    }
    if (!need_w && !(need_x && !c.pointwise)) return {gx, gw, gb};
    const int64_t chunk = c.chunk;
    for (int64_t n0 = 0; n0 < c.N; n0 += chunk) {
        const int64_t n = std::min(chunk, c.N - n0);
        const Tensor gy_chunk = gy.narrow(0, n0, n);
        if (need_w) {
            Tensor col = im2col(c, x.narrow(0, n0, n));
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
        if (need_x && !c.pointwise) {
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
            find_kernel<Col2imKernel>("col2im", gy.device(), gy.dtype())(c.win, view_of(gx.narrow(0, n0, n)),
                                                                       view_of(gcol));
        }
    }
    return {gx, gw, gb};
}

}  // namespace

int64_t conv2d_column_budget() { return g_column_budget.load(); }

void set_conv2d_column_budget(int64_t elements) {
    WSDOL_CHECK(elements > 0, "set_conv2d_column_budget: budget must be positive, got ", elements);
    g_column_budget.store(elements);
}

Tensor conv2d(const Tensor& x_in, const Tensor& weight_in, const Tensor& bias, Int2 stride, Int2 padding, Int2 dilation,
              int64_t groups) {
    WSDOL_CHECK(x_in.defined() && weight_in.defined(), "conv2d: undefined input or weight");
    WSDOL_CHECK(x_in.dim() == 4 || x_in.dim() == 3, "conv2d: input must be 4-D (N, C_in, H, W) or 3-D (C_in, H, W), got ",
                shape_str(x_in.shape()));
    if (x_in.dim() == 3)  // unbatched, as PyTorch: run as a batch of one
        return conv2d(x_in.unsqueeze(0), weight_in, bias, stride, padding, dilation, groups).squeeze(0);
    const ConvArgs a = check_conv_args("conv2d", x_in, weight_in, bias, stride, padding, dilation, groups);
    ConvGeometry c;
    static_cast<ConvArgs&>(c) = a;
    const Window2d& win = c.win;
    c.Cg_in = c.C_in / groups;
    c.Cg_out = c.C_out / groups;
    c.K_g = c.Cg_in * win.kH * win.kW;
    c.L = win.OH * win.OW;
    c.pointwise = win.kH == 1 && win.kW == 1 && win.sH == 1 && win.sW == 1 && win.pH == 0 && win.pW == 0;
    c.chunk = images_per_chunk(c, conv2d_column_budget());

    Tensor x, w, y;
    {
        NoGradGuard no_grad;  // the node below records the whole conv; the layout copies are not recorded
        x = x_in.contiguous();
        w = weight_in.contiguous();
        y = conv2d_forward(c, x, w, bias);
    }
    const bool need_x = x_in.requires_grad(), need_w = weight_in.requires_grad(),
               need_b = bias.defined() && bias.requires_grad();
    record("conv2d", {x_in, weight_in, bias}, {y},
           // Keep x only for the weight gradient and w only for the input gradient.
           [c, sx = need_w ? saved(x) : Tensor(), sw = need_x ? saved(w) : Tensor(), need_x, need_w,
            need_b](const TensorList& g) -> TensorList {
               return conv2d_backward(c, g[0], sx, sw, need_x, need_w, need_b);
           });
    return y;
}

}  // namespace wsdol
