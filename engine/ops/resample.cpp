// resample.cpp — interpolate and pad: shape rules (PyTorch's), forward kernels and backward, side by side.
//
// interpolate's backward is the adjoint of the same per-axis (index, weight) taps the forward uses (so the two
// always agree, also where PyTorch's own nearest backward takes a shortcut). Constant padding's backward is
// constant padding again with the pads negated (crop what was added, zero-fill what was cropped); replicate
// padding's backward scatters through the clamped indices.
#include <cmath>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"
#include "engine/ops/resample.h"

namespace wsdol {

WSDOL_OP(interpolate, "resample", true);
WSDOL_OP(pad, "resample", true);

namespace {

const char* mode_name(InterpMode m) {
    switch (m) {
        case InterpMode::nearest: return "nearest";
        case InterpMode::bilinear: return "bilinear";
        case InterpMode::bicubic: return "bicubic";
    }
    return "?";
}

std::string pads_str(const std::vector<int64_t>& pads) {
    std::string s = "{";
    for (size_t i = 0; i < pads.size(); ++i) s += (i ? ", " : "") + std::to_string(pads[i]);
    return s + "}";
}

// Output shape and per-dim `before` offsets of pad(x, pads); checks as torch.nn.functional.pad.
Shape padded_shape(const Tensor& x, const std::vector<int64_t>& pads, PadMode mode, std::vector<int64_t>& before) {
    WSDOL_CHECK(pads.size() % 2 == 0 && !pads.empty(), "pad: pads must have an even, non-zero length, got ",
                pads_str(pads), " for input ", shape_str(x.shape()));
    const int padded_dims = static_cast<int>(pads.size() / 2);
    WSDOL_CHECK(padded_dims <= x.dim(), "pad: ", pads.size(), " pad values for a ", x.dim(), "-D input ",
                shape_str(x.shape()), " (at most 2 per dim)");
    if (mode == PadMode::replicate) {
        WSDOL_CHECK(padded_dims <= 2, "pad: replicate pads the last 1 or 2 dims, got ", pads.size(), " pad values ",
                    pads_str(pads));
        WSDOL_CHECK(x.dim() == padded_dims + 1 || x.dim() == padded_dims + 2, "pad: replicate with ", pads.size(),
                    " pad values needs a ", padded_dims + 1, "-D or ", padded_dims + 2, "-D input, got ",
                    shape_str(x.shape()));
    }
    Shape out = x.shape();
    before.assign(x.dim(), 0);
    for (int k = 0; k < padded_dims; ++k) {
        const int d = x.dim() - 1 - k;
        before[d] = pads[2 * k];
        out[d] = x.size(d) + pads[2 * k] + pads[2 * k + 1];
        WSDOL_CHECK(out[d] >= 0, "pad: input ", shape_str(x.shape()), " with pads ", pads_str(pads),
                    " gives a negative size ", out[d], " in dim ", d);
        if (mode == PadMode::replicate)
            WSDOL_CHECK(out[d] >= 1 && x.size(d) >= 1, "pad: replicate needs non-empty input and output in dim ", d,
                        ", got input ", shape_str(x.shape()), " with pads ", pads_str(pads), " (output size ",
                        out[d], ")");
    }
    return out;
}

// x (contiguous) -> padded; no recording.
Tensor pad_forward(const Tensor& x, const std::vector<int64_t>& pads, PadMode mode, double value) {
    std::vector<int64_t> before;
    Tensor out = Tensor::empty(padded_shape(x, pads, mode, before), x.dtype(), x.device());
    if (out.numel() == 0) return out;
    if (x.numel() == 0) {  // constant mode only (replicate needs non-empty input): nothing but the fill value
        out.fill_(value);
        return out;
    }
    find_kernel<PadKernel>("pad", x.device(), x.dtype())(mode, value, before.data(), view_of(out), view_of(x));
    return out;
}

}  // namespace

Tensor interpolate(const Tensor& x_in, int64_t out_h, int64_t out_w, InterpMode mode, bool align_corners,
                   double scale_h, double scale_w) {
    WSDOL_CHECK(x_in.defined(), "interpolate: undefined input");
    WSDOL_CHECK(x_in.dim() == 4, "interpolate (", mode_name(mode), "): expected a 4-D input (N, C, H, W), got ",
                shape_str(x_in.shape()));
    WSDOL_CHECK(is_floating(x_in.dtype()), "interpolate: needs a floating input, got ", dtype_name(x_in.dtype()));
    const int64_t H = x_in.size(2), W = x_in.size(3);
    // PyTorch: output size = floor(input size * scale_factor), in double.
    if (out_h <= 0 && scale_h > 0) out_h = static_cast<int64_t>(std::floor(static_cast<double>(H) * scale_h));
    if (out_w <= 0 && scale_w > 0) out_w = static_cast<int64_t>(std::floor(static_cast<double>(W) * scale_w));
    WSDOL_CHECK(H > 0 && W > 0 && out_h > 0 && out_w > 0, "interpolate (", mode_name(mode),
                "): input and output sizes must be positive, got input ", shape_str(x_in.shape()), " and output ",
                out_h, "x", out_w);
    InterpParams p;
    p.mode = mode;
    p.align_corners = mode != InterpMode::nearest && align_corners;
    p.scale_h = scale_h > 0 ? scale_h : 0.0;
    p.scale_w = scale_w > 0 ? scale_w : 0.0;
    Tensor y = Tensor::empty({x_in.size(0), x_in.size(1), out_h, out_w}, x_in.dtype(), x_in.device());
    if (y.numel() > 0) {
        NoGradGuard no_grad;
        Tensor x = x_in.contiguous();
        find_kernel<InterpolateKernel>("interpolate", x.device(), x.dtype())(p, view_of(y), view_of(x));
    }
    record("interpolate", {x_in}, {y}, [p, x_shape = x_in.shape()](const TensorList& g) -> TensorList {
        Tensor gx = Tensor::empty(x_shape, g[0].dtype(), g[0].device());
        if (gx.numel() == 0) return {gx};
        Tensor gy = g[0].contiguous();
        find_kernel<InterpolateBackwardKernel>("interpolate_backward", gy.device(), gy.dtype())(p, view_of(gx),
                                                                                               view_of(gy));
        return {gx};
    });
    return y;
}

Tensor pad(const Tensor& x_in, const std::vector<int64_t>& pads, PadMode mode, double value) {
    WSDOL_CHECK(x_in.defined(), "pad: undefined input");
    Tensor y;
    {
        NoGradGuard no_grad;
        y = pad_forward(x_in.contiguous(), pads, mode, value);
    }
    record("pad", {x_in}, {y}, [pads, mode, x_shape = x_in.shape()](const TensorList& g) -> TensorList {
        if (mode == PadMode::constant) {
            std::vector<int64_t> inverse(pads.size());
            for (size_t i = 0; i < pads.size(); ++i) inverse[i] = -pads[i];
            return {pad_forward(g[0].contiguous(), inverse, PadMode::constant, 0.0)};
        }
        std::vector<int64_t> before(x_shape.size(), 0);
        for (size_t k = 0; k < pads.size() / 2; ++k) before[x_shape.size() - 1 - k] = pads[2 * k];
        Tensor gx = Tensor::empty(x_shape, g[0].dtype(), g[0].device());
        if (gx.numel() == 0) return {gx};
        Tensor gy = g[0].contiguous();
        find_kernel<PadReplicateBackwardKernel>("pad_replicate_backward", gy.device(), gy.dtype())(
            static_cast<int>(pads.size() / 2), before.data(), view_of(gx), view_of(gy));
        return {gx};
    });
    return y;
}

}  // namespace wsdol
