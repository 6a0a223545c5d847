// conv_args.cpp — the shared convolution argument checks (see conv_args.h).
#include "engine/ops/conv_args.h"

#include "engine/core/error.h"

namespace wsdol {

void check_like_input(const char* op, const Tensor& t, const char* what, const Tensor& x) {
    WSDOL_CHECK(t.dtype() == x.dtype() && t.device() == x.device(), op, ": ", what, " is ", dtype_name(t.dtype()),
                " on ", t.device().name(), ", input is ", dtype_name(x.dtype()), " on ", x.device().name());
}

ConvArgs check_conv_args(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias, Int2 stride,
                         Int2 padding, Int2 dilation, std::optional<int64_t> groups) {
    WSDOL_CHECK(x.dim() == 4, op, ": input must be 4-D (N, C_in, H, W), got ", shape_str(x.shape()));
    WSDOL_CHECK(weight.dim() == 4, op, ": weight must be 4-D (C_out, C_in / groups, kH, kW), got ",
                shape_str(weight.shape()), " (input ", shape_str(x.shape()), ")");
    WSDOL_CHECK(is_floating(x.dtype()), op, ": needs a floating input, got ", dtype_name(x.dtype()));
    check_like_input(op, weight, "weight", x);
    if (bias.defined()) check_like_input(op, bias, "bias", x);
    WSDOL_CHECK(stride[0] >= 1 && stride[1] >= 1, op, ": stride must be positive, got [", stride[0], ", ", stride[1],
                "]");
    WSDOL_CHECK(padding[0] >= 0 && padding[1] >= 0, op, ": padding must be non-negative, got [", padding[0], ", ",
                padding[1], "]");
    WSDOL_CHECK(dilation[0] >= 1 && dilation[1] >= 1, op, ": dilation must be positive, got [", dilation[0], ", ",
                dilation[1], "]");
    ConvArgs a;
    a.N = x.size(0);
    a.C_in = x.size(1);
    a.C_out = weight.size(0);
    if (groups) {
        a.groups = *groups;
        WSDOL_CHECK(a.groups >= 1, op, ": groups must be positive, got ", a.groups);
        WSDOL_CHECK(a.C_in % a.groups == 0, op, ": groups=", a.groups, " does not divide the ", a.C_in,
                    " input channels of input ", shape_str(x.shape()));
    } else {
        WSDOL_CHECK(weight.size(1) >= 1 && a.C_in % weight.size(1) == 0, op, ": weight ", shape_str(weight.shape()),
                    " does not fit input ", shape_str(x.shape()), " (C_in must be a multiple of weight.size(1))");
        a.groups = a.C_in / weight.size(1);
    }
    WSDOL_CHECK(a.C_out % a.groups == 0, op, ": groups=", a.groups, " does not divide the ", a.C_out,
                " output channels of weight ", shape_str(weight.shape()));
    WSDOL_CHECK(weight.size(1) * a.groups == a.C_in, op, ": input ", shape_str(x.shape()), " has ", a.C_in,
                " channels, but weight ", shape_str(weight.shape()), " with groups=", a.groups, " expects ",
                weight.size(1) * a.groups);
    if (bias.defined())
        WSDOL_CHECK(bias.dim() == 1 && bias.size(0) == a.C_out, op, ": bias ", shape_str(bias.shape()),
                    " does not match the ", a.C_out, " output channels of weight ", shape_str(weight.shape()));
    Window2d& win = a.win;
    win.H = x.size(2);
    win.W = x.size(3);
    win.kH = weight.size(2);
    win.kW = weight.size(3);
    win.sH = stride[0], win.sW = stride[1];
    win.pH = padding[0], win.pW = padding[1];
    win.dH = dilation[0], win.dW = dilation[1];
    const int64_t span_h = win.dH * (win.kH - 1) + 1, span_w = win.dW * (win.kW - 1) + 1;  // dilated kernel
    const int64_t padded_h = win.H + 2 * win.pH, padded_w = win.W + 2 * win.pW;
    WSDOL_CHECK(win.kH >= 1 && win.kW >= 1 && span_h <= padded_h && span_w <= padded_w, op, ": kernel ", win.kH, "x",
                win.kW, " (dilated ", span_h, "x", span_w, ") is larger than the padded input ", padded_h, "x",
                padded_w, " (input ", shape_str(x.shape()), ", weight ", shape_str(weight.shape()), ", padding [",
                win.pH, ", ", win.pW, "])");
    win.OH = (padded_h - span_h) / win.sH + 1;
    win.OW = (padded_w - span_w) / win.sW + 1;
    return a;
}

}  // namespace wsdol
