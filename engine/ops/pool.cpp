// pool.cpp — max_pool2d, avg_pool2d, adaptive_avg_pool2d, adaptive_max_pool2d: shape rules (PyTorch's), forward
// (window kernels) and backward (scatter kernels), side by side.
//
// Max pools return the flat argmax h*W+w of each window (PyTorch's `indices`); their backward sends each output
// gradient to that one input element, so the gradient goes to the first maximum among ties.
#include <algorithm>

#include "engine/autograd/autograd.h"
#include "engine/ops/conv_pool.h"
#include "engine/ops/ops.h"

namespace wsdol {

WSDOL_OP(max_pool2d, "conv_pool", true);
WSDOL_OP(avg_pool2d, "conv_pool", true);
WSDOL_OP(adaptive_avg_pool2d, "conv_pool", true);
WSDOL_OP(adaptive_max_pool2d, "conv_pool", true);

namespace {

std::string pair_str(Int2 p) { return str("[", p[0], ", ", p[1], "]"); }

void check_pool_input(const char* op, const Tensor& x) {
    WSDOL_CHECK(x.defined(), op, ": undefined input");
    WSDOL_CHECK(x.dim() == 3 || x.dim() == 4, op, ": input must be 4-D (N, C, H, W) or 3-D (C, H, W), got ",
                shape_str(x.shape()));
    WSDOL_CHECK(is_floating(x.dtype()), op, ": needs a floating input, got ", dtype_name(x.dtype()));
}

// PyTorch's pooling_output_shape: floor or ceil of the window count; with ceil_mode the last window must start
// inside the input or the left padding, else it is dropped.
int64_t pool_output_size(int64_t in, int64_t kernel, int64_t pad, int64_t stride, int64_t dilation, bool ceil_mode) {
    const int64_t span = in + 2 * pad - dilation * (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0);
    const int64_t floor_div = span >= 0 ? span / stride : -((-span + stride - 1) / stride);
    int64_t out = floor_div + 1;
    if (ceil_mode && (out - 1) * stride >= in + pad) --out;
    return out;
}

// Fills the window geometry of a pool over x (N, C, H, W) and checks it as PyTorch does.
Window2d pool_window(const char* op, const Tensor& x, Int2 kernel, Int2& stride, Int2 padding, Int2 dilation,
                     bool ceil_mode) {
    if (stride[0] == 0 && stride[1] == 0) stride = kernel;  // PyTorch: stride=None means stride = kernel_size
    WSDOL_CHECK(kernel[0] >= 1 && kernel[1] >= 1, op, ": kernel must be positive, got ", pair_str(kernel));
    WSDOL_CHECK(stride[0] >= 1 && stride[1] >= 1, op, ": stride must be positive, got ", pair_str(stride));
    WSDOL_CHECK(dilation[0] >= 1 && dilation[1] >= 1, op, ": dilation must be positive, got ", pair_str(dilation));
    WSDOL_CHECK(padding[0] >= 0 && padding[1] >= 0 && padding[0] <= kernel[0] / 2 && padding[1] <= kernel[1] / 2, op,
                ": padding ", pair_str(padding), " must be non-negative and at most half of kernel ", pair_str(kernel));
    Window2d w;
    w.H = x.size(2);
    w.W = x.size(3);
    w.kH = kernel[0]; w.kW = kernel[1];
    w.sH = stride[0]; w.sW = stride[1];
    w.pH = padding[0]; w.pW = padding[1];
    w.dH = dilation[0]; w.dW = dilation[1];
    w.OH = pool_output_size(w.H, w.kH, w.pH, w.sH, w.dH, ceil_mode);
    w.OW = pool_output_size(w.W, w.kW, w.pW, w.sW, w.dW, ceil_mode);
    WSDOL_CHECK(w.OH >= 1 && w.OW >= 1, op, ": window ", pair_str(kernel), " (dilation ", pair_str(dilation),
                ", padding ", pair_str(padding), ") is larger than the input ", shape_str(x.shape()),
                ": the output would be ", w.OH, "x", w.OW);
    return w;
}

// Scatters gy back through argmax indices: gx (N, C, H, W) from gy and indices (N, C, OH, OW). No recording.
Tensor max_pool_backward(const Tensor& gy, const Tensor& indices, const Shape& x_shape) {
    Tensor gx = Tensor::empty(x_shape, gy.dtype(), gy.device());
    if (gx.numel() == 0) return gx;
    Tensor g = gy.contiguous();
    find_kernel<MaxPool2dBackwardKernel>("max_pool2d_backward", gy.device(), gy.dtype())(view_of(gx), view_of(g),
                                                                                        view_of(indices));
    return gx;
}

// Adaptive window along one dim, PyTorch's start_index / end_index: [floor(i In / Out), ceil((i + 1) In / Out)).
void check_adaptive(const char* op, const Tensor& x, Int2 output_size) {
    check_pool_input(op, x);
    WSDOL_CHECK(output_size[0] >= 0 && output_size[1] >= 0, op, ": output size must be non-negative, got ",
                pair_str(output_size));
    for (int d = 1; d < x.dim(); ++d)
        WSDOL_CHECK(x.size(d) > 0, op, ": input ", shape_str(x.shape()), " has an empty non-batch dim ", d);
}

}  // namespace

Tensor max_pool2d(const Tensor& x_in, Int2 kernel, Int2 stride, Int2 padding, Int2 dilation, bool ceil_mode,
                  Tensor* indices) {
    check_pool_input("max_pool2d", x_in);
    if (x_in.dim() == 3) {
        Tensor idx;
        Tensor y = max_pool2d(x_in.unsqueeze(0), kernel, stride, padding, dilation, ceil_mode, &idx).squeeze(0);
        if (indices) *indices = idx.squeeze(0);
        return y;
    }
    const Window2d w = pool_window("max_pool2d", x_in, kernel, stride, padding, dilation, ceil_mode);
    const Shape out_shape{x_in.size(0), x_in.size(1), w.OH, w.OW};
    Tensor y = Tensor::empty(out_shape, x_in.dtype(), x_in.device());
    Tensor idx = Tensor::empty(out_shape, DType::i64, x_in.device());
    if (y.numel() > 0) {
        NoGradGuard no_grad;
        Tensor x = x_in.contiguous();
        find_kernel<MaxPool2dKernel>("max_pool2d", x.device(), x.dtype())(w, view_of(y), view_of(idx), view_of(x));
    }
    if (indices) *indices = idx;
    record("max_pool2d", {x_in}, {y}, [idx = saved(idx), x_shape = x_in.shape()](const TensorList& g) -> TensorList {
        return {max_pool_backward(g[0], idx, x_shape)};
    });
    return y;
}

Tensor avg_pool2d(const Tensor& x_in, Int2 kernel, Int2 stride, Int2 padding, bool ceil_mode, bool count_include_pad) {
    check_pool_input("avg_pool2d", x_in);
    if (x_in.dim() == 3)
        return avg_pool2d(x_in.unsqueeze(0), kernel, stride, padding, ceil_mode, count_include_pad).squeeze(0);
    const Window2d w = pool_window("avg_pool2d", x_in, kernel, stride, padding, {1, 1}, ceil_mode);
    Tensor y = Tensor::empty({x_in.size(0), x_in.size(1), w.OH, w.OW}, x_in.dtype(), x_in.device());
    if (y.numel() > 0) {
        NoGradGuard no_grad;
        Tensor x = x_in.contiguous();
        find_kernel<AvgPool2dKernel>("avg_pool2d", x.device(), x.dtype())(w, count_include_pad, view_of(y), view_of(x));
    }
    record("avg_pool2d", {x_in}, {y}, [w, count_include_pad, x_shape = x_in.shape()](const TensorList& g) -> TensorList {
        Tensor gx = Tensor::empty(x_shape, g[0].dtype(), g[0].device());
        if (gx.numel() == 0) return {gx};
        Tensor gy = g[0].contiguous();
        find_kernel<AvgPool2dBackwardKernel>("avg_pool2d_backward", gy.device(), gy.dtype())(w, count_include_pad,
                                                                                            view_of(gx), view_of(gy));
        return {gx};
    });
    return y;
}

Tensor adaptive_avg_pool2d(const Tensor& x_in, Int2 output_size) {
    check_adaptive("adaptive_avg_pool2d", x_in, output_size);
    if (x_in.dim() == 3) return adaptive_avg_pool2d(x_in.unsqueeze(0), output_size).squeeze(0);
    Tensor y = Tensor::empty({x_in.size(0), x_in.size(1), output_size[0], output_size[1]}, x_in.dtype(), x_in.device());
    if (y.numel() > 0) {
        NoGradGuard no_grad;
        Tensor x = x_in.contiguous();
        find_kernel<AdaptivePool2dKernel>("adaptive_pool2d", x.device(), x.dtype())(AdaptivePool::avg, view_of(y),
                                                                                    TensorView{}, view_of(x));
    }
    record("adaptive_avg_pool2d", {x_in}, {y}, [x_shape = x_in.shape()](const TensorList& g) -> TensorList {
        Tensor gx = Tensor::empty(x_shape, g[0].dtype(), g[0].device());
        if (gx.numel() == 0) return {gx};
        Tensor gy = g[0].contiguous();
        find_kernel<AdaptiveAvgPool2dBackwardKernel>("adaptive_avg_pool2d_backward", gy.device(), gy.dtype())(
            view_of(gx), view_of(gy));
        return {gx};
    });
    return y;
}

Tensor adaptive_max_pool2d(const Tensor& x_in, Int2 output_size, Tensor* indices) {
    check_adaptive("adaptive_max_pool2d", x_in, output_size);
    if (x_in.dim() == 3) {
        Tensor idx;
        Tensor y = adaptive_max_pool2d(x_in.unsqueeze(0), output_size, &idx).squeeze(0);
        if (indices) *indices = idx.squeeze(0);
        return y;
    }
    const Shape out_shape{x_in.size(0), x_in.size(1), output_size[0], output_size[1]};
    Tensor y = Tensor::empty(out_shape, x_in.dtype(), x_in.device());
    Tensor idx = Tensor::empty(out_shape, DType::i64, x_in.device());
    if (y.numel() > 0) {
        NoGradGuard no_grad;
        Tensor x = x_in.contiguous();
        find_kernel<AdaptivePool2dKernel>("adaptive_pool2d", x.device(), x.dtype())(AdaptivePool::max, view_of(y),
                                                                                    view_of(idx), view_of(x));
    }
    if (indices) *indices = idx;
    record("adaptive_max_pool2d", {x_in}, {y}, [idx = saved(idx), x_shape = x_in.shape()](const TensorList& g) -> TensorList {
        return {max_pool_backward(g[0], idx, x_shape)};
    });
    return y;
}

}  // namespace wsdol
