// norm.cpp — normalization layers: layer_norm (fused kernels), batch_norm and group_norm. Each op's checks,
// forward and backward side by side; one recorded node per op.
//
// PyTorch numerics everywhere: statistics use the biased variance (divide by n) and eps is added inside the sqrt,
// y = (x - mean) / sqrt(var + eps) * weight + bias. batch_norm's running_var is updated with the UNBIASED batch
// variance (n / (n - 1) * var), as torch.nn.functional.batch_norm does.
#include <algorithm>
#include <cmath>

#include "engine/autograd/autograd.h"
#include "engine/ops/elementwise_internal.h"
#include "engine/ops/ops.h"
#include "engine/ops/reduce_internal.h"

namespace wsdol {

WSDOL_OP(layer_norm, "softmax_norm", true);
WSDOL_OP(batch_norm, "softmax_norm", true);
WSDOL_OP(group_norm, "softmax_norm", true);

namespace {

bool needs(const Tensor& t) { return t.defined() && t.requires_grad(); }

void check_input(const Tensor& x, const char* op) {
    WSDOL_CHECK(x.defined(), op, ": undefined input");
    WSDOL_CHECK(is_floating(x.dtype()), op, ": needs a floating input, got ", dtype_name(x.dtype()), " ",
                shape_str(x.shape()));
}

// A per-channel parameter (weight, bias, running stats) must be (C) of x's dtype and device, when given.
void check_channel_param(const Tensor& p, const char* op, const char* what, const Tensor& x, int64_t C) {
    if (!p.defined()) return;
    WSDOL_CHECK(p.dim() == 1 && p.numel() == C, op, ": ", what, " has shape ", shape_str(p.shape()), " but input ",
                shape_str(x.shape()), " has ", C, " channels (expected [", C, "])");
    WSDOL_CHECK(p.dtype() == x.dtype(), op, ": ", what, " is ", dtype_name(p.dtype()), " but input is ",
                dtype_name(x.dtype()));
    WSDOL_CHECK(p.device() == x.device(), op, ": ", what, " is on ", p.device().name(), " but input is on ",
                x.device().name());
}

// Result of the layer-norm kernel on rows of x2: (M, N).
struct RowNorm {
    Tensor y;     // (M, N)
    Tensor mean;  // (M)
    Tensor rstd;  // (M)
};

// No recording. x2 contiguous (M, N); weight/bias (N) or undefined.
RowNorm row_norm_forward(const Tensor& x2, const Tensor& weight, const Tensor& bias, int64_t M, int64_t N, double eps) {
    RowNorm r;
    r.y = Tensor::empty({M, N}, x2.dtype(), x2.device());
    r.mean = Tensor::empty({M}, x2.dtype(), x2.device());
    r.rstd = Tensor::empty({M}, x2.dtype(), x2.device());
    if (M == 0 || N == 0) {  // nothing to normalize; statistics of empty rows are NaN (0/0), as PyTorch
        r.mean.fill_(std::nan(""));
        r.rstd.fill_(std::nan(""));
        return r;
    }
    const Tensor w = weight.defined() ? weight.detach().contiguous() : Tensor();
    const Tensor b = bias.defined() ? bias.detach().contiguous() : Tensor();
    find_kernel<LayerNormKernel>("layer_norm", x2.device(), x2.dtype())(
        view_of(r.y), view_of(r.mean), view_of(r.rstd), view_of(x2), w.defined() ? view_of(w) : TensorView{},
        b.defined() ? view_of(b) : TensorView{}, M, N, eps);
    return r;
}

// No recording. Gradients of row_norm_forward; each output is computed only when its flag is set (else undefined).
struct RowNormGrads {
    Tensor x, weight, bias;
};
RowNormGrads row_norm_backward(const Tensor& grad_y, const Tensor& x2, const Tensor& mean, const Tensor& rstd,
                               const Tensor& weight, int64_t M, int64_t N, bool need_x, bool need_w, bool need_b) {
    RowNormGrads g;
    if (need_x) g.x = Tensor::empty({M, N}, x2.dtype(), x2.device());
    if (need_w) g.weight = Tensor::empty({N}, x2.dtype(), x2.device());
    if (need_b) g.bias = Tensor::empty({N}, x2.dtype(), x2.device());
    if (M == 0 || N == 0) {  // sums over no rows are 0
        if (need_w) g.weight.zero_();
        if (need_b) g.bias.zero_();
        return g;
    }
    if (!need_x && !need_w && !need_b) return g;
    const Tensor gy = grad_y.contiguous().view({M, N});
    const Tensor w = weight.defined() ? weight.detach().contiguous() : Tensor();
    find_kernel<LayerNormBackwardKernel>("layer_norm_backward", x2.device(), x2.dtype())(
        need_x ? view_of(g.x) : TensorView{}, need_w ? view_of(g.weight) : TensorView{},
        need_b ? view_of(g.bias) : TensorView{}, view_of(gy), view_of(x2), view_of(mean), view_of(rstd),
        w.defined() ? view_of(w) : TensorView{}, M, N);
    return g;
}

// (1, C, 1, ..., 1) for x: (N, C, ...): per-channel values broadcast against x.
Shape channel_shape(const Tensor& x) {
    Shape s(x.dim(), 1);
    s[1] = x.shape()[1];
    return s;
}

// The dims a per-channel statistic reduces: all but dim 1.
std::vector<int> non_channel_dims(const Tensor& x) {
    std::vector<int> dims{0};
    for (int d = 2; d < x.dim(); ++d) dims.push_back(d);
    return dims;
}

}  // namespace

// ---------------------------------------------------------------- layer_norm

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
    check_input(x, "layer_norm");
    const int k = static_cast<int>(normalized_shape.size());
    WSDOL_CHECK(k >= 1, "layer_norm: normalized_shape must have at least one dim, got []");
    bool matches = x.dim() >= k;
    for (int i = 0; matches && i < k; ++i) matches = x.shape()[x.dim() - k + i] == normalized_shape[i];
    WSDOL_CHECK(matches, "layer_norm: normalized_shape ", shape_str(normalized_shape),
                " does not match the trailing dims of input ", shape_str(x.shape()));
    for (const auto& [p, what] : {std::pair{weight, "weight"}, std::pair{bias, "bias"}}) {
        if (!p.defined()) continue;
        WSDOL_CHECK(p.shape() == normalized_shape, "layer_norm: ", what, " has shape ", shape_str(p.shape()),
                    " but normalized_shape is ", shape_str(normalized_shape));
        WSDOL_CHECK(p.dtype() == x.dtype() && p.device() == x.device(), "layer_norm: ", what, " is ",
                    dtype_name(p.dtype()), " on ", p.device().name(), " but input is ", dtype_name(x.dtype()), " on ",
                    x.device().name());
    }
    const int64_t N = shape_numel(normalized_shape);
    int64_t M = 1;
    for (int i = 0; i < x.dim() - k; ++i) M *= x.shape()[i];
    const Tensor x2 = x.detach().contiguous().view({M, N});
    RowNorm r = row_norm_forward(x2, weight, bias, M, N, eps);
    Tensor y = r.y.view(x.shape());
    record("layer_norm", {x, weight, bias}, {y},
           [x2, mean = r.mean, rstd = r.rstd, sw = saved(weight), normalized_shape, M, N, need_x = needs(x),
            need_w = needs(weight), need_b = needs(bias)](const TensorList& g) -> TensorList {
               RowNormGrads d = row_norm_backward(g[0], x2, mean, rstd, sw, M, N, need_x, need_w, need_b);
               if (d.x.defined()) d.x = d.x.view(g[0].shape());
               if (d.weight.defined()) d.weight = d.weight.view(normalized_shape);
               if (d.bias.defined()) d.bias = d.bias.view(normalized_shape);
               return {d.x, d.weight, d.bias};
           });
    return y;
}

// ---------------------------------------------------------------- batch_norm

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
    check_input(x, "batch_norm");
    WSDOL_CHECK(x.dim() >= 2, "batch_norm: expected input (N, C, ...) with at least 2 dims, got ",
                shape_str(x.shape()));
    const int64_t C = x.shape()[1];
    check_channel_param(weight, "batch_norm", "weight", x, C);
    check_channel_param(bias, "batch_norm", "bias", x, C);
    check_channel_param(running_mean, "batch_norm", "running_mean", x, C);
    check_channel_param(running_var, "batch_norm", "running_var", x, C);
    WSDOL_CHECK(training || (running_mean.defined() && running_var.defined()),
                "batch_norm: eval mode needs running_mean and running_var");
    const int64_t n = C ? x.numel() / C : 0;  // values per channel
    WSDOL_CHECK(!training || n > 1, "batch_norm: expected more than 1 value per channel when training, got input ",
                shape_str(x.shape()));
    const Shape cshape = channel_shape(x);
    const std::vector<int> dims = non_channel_dims(x);
    Tensor y, mean, rstd;
    {
        NoGradGuard no_grad;  // one node below covers the whole op; running stats are never recorded
        const Tensor xd = x.detach();
        Shape keep;
        const std::vector<bool> flags = reduce_flags(xd, dims, "batch_norm", &keep);
        Tensor var;
        if (training) {
            // Two passes: mean, then the mean of squared deviations (sums in double inside the reduce kernel).
            mean = div(reduce_forward(ReduceOp::sum, xd, flags, keep, x.dtype()), static_cast<double>(n));
            const Tensor centered = sub(xd, mean);
            var = div(reduce_forward(ReduceOp::sum, mul(centered, centered), flags, keep, x.dtype()),
                      static_cast<double>(n));
            // running = (1 - momentum) * running + momentum * batch statistic; the variance unbiased (PyTorch).
            // In place on the caller's tensors (a Tensor is a handle: the copies below share their storage).
            if (running_mean.defined())
                Tensor(running_mean).copy_(add(mul(running_mean.detach(), 1.0 - momentum), mul(mean.view({C}), momentum)));
            if (running_var.defined())
                Tensor(running_var).copy_(add(mul(running_var.detach(), 1.0 - momentum),
                                      mul(var.view({C}), momentum * static_cast<double>(n) / static_cast<double>(n - 1))));
            rstd = unary_forward(UnaryOp::rsqrt, add(var, eps), 0, 0);
            const Tensor scale = weight.defined() ? mul(rstd, weight.detach().view(cshape)) : rstd;
            y = mul(centered, scale);
            if (bias.defined()) y = add(y, bias.detach().view(cshape));
        } else {
            // Eval: y = x * scale + shift with per-channel scale = weight * rstd, shift = bias - mean * scale.
            mean = running_mean.detach().clone().view(cshape);
            rstd = unary_forward(UnaryOp::rsqrt, add(running_var.detach().view(cshape), eps), 0, 0);
            const Tensor scale = weight.defined() ? mul(rstd, weight.detach().view(cshape)) : rstd;
            Tensor shift = neg(mul(mean, scale));
            if (bias.defined()) shift = add(shift, bias.detach().view(cshape));
            // One pass (the channel_affine kernel), the same bits as add(mul(xd, scale), shift).
            const Tensor xc = xd.contiguous();
            y = Tensor::empty(x.shape(), x.dtype(), x.device());
            const int64_t outer = x.shape()[0], inner = C ? x.numel() / std::max<int64_t>(outer * C, 1) : 0;
            if (y.numel() > 0)
                find_kernel<ChannelAffineKernel>("channel_affine", x.device(), x.dtype())(
                    view_of(y), view_of(xc), view_of(scale.contiguous()), view_of(shift.contiguous()), outer, C,
                    inner);
        }
    }
    record("batch_norm", {x, running_mean, running_var, weight, bias}, {y},
           [sx = saved(x), mean, rstd, sw = saved(weight), dims, n, C, training, need_x = needs(x),
            need_w = needs(weight), need_b = needs(bias)](const TensorList& g) -> TensorList {
               const Tensor& gy = g[0];
               const Tensor xhat = mul(sub(sx, mean), rstd);
               const Tensor gb = sum(gy, dims, true);             // (1, C, 1, ...)
               const Tensor gw = sum(mul(gy, xhat), dims, true);  // (1, C, 1, ...)
               Tensor gx;
               if (need_x) {
                   const Tensor scale = sw.defined() ? mul(rstd, sw.view(mean.shape())) : rstd;
                   if (training)  // the batch statistics depend on x: dx = scale (g - mean(g) - xhat mean(g xhat))
                       gx = mul(scale, sub(sub(gy, div(gb, static_cast<double>(n))),
                                           mul(xhat, div(gw, static_cast<double>(n)))));
                   else  // running statistics are constants
                       gx = mul(gy, scale);
               }
               return {gx, Tensor(), Tensor(), need_w ? gw.view({C}) : Tensor(), need_b ? gb.view({C}) : Tensor()};
           });
    return y;
}

// ---------------------------------------------------------------- group_norm

// Each (sample, group) is one row of the layer-norm kernel (no affine there); the per-channel affine follows.
Tensor group_norm(const Tensor& x, int64_t groups, const Tensor& weight, const Tensor& bias, double eps) {
    check_input(x, "group_norm");
    WSDOL_CHECK(x.dim() >= 2, "group_norm: expected input (N, C, ...) with at least 2 dims, got ",
                shape_str(x.shape()));
    const int64_t N = x.shape()[0], C = x.shape()[1];
    WSDOL_CHECK(groups > 0 && C % groups == 0, "group_norm: ", C, " channels are not divisible by ", groups,
                " groups (input ", shape_str(x.shape()), ")");
    check_channel_param(weight, "group_norm", "weight", x, C);
    check_channel_param(bias, "group_norm", "bias", x, C);
    const int64_t M = N * groups;
    const int64_t L = M ? x.numel() / M : 0;  // (C / groups) * spatial
    const Shape cshape = channel_shape(x);
    const Tensor x2 = x.detach().contiguous().view({M, L});
    RowNorm r = row_norm_forward(x2, Tensor(), Tensor(), M, L, eps);
    Tensor y;
    {
        NoGradGuard no_grad;
        y = r.y.view(x.shape());
        if (weight.defined()) y = mul(y, weight.detach().view(cshape));
        if (bias.defined()) y = add(y, bias.detach().view(cshape));
    }
    record("group_norm", {x, weight, bias}, {y},
           [x2, mean = r.mean, rstd = r.rstd, sw = saved(weight), shape = x.shape(), cshape, dims = non_channel_dims(x),
            M, L, C, need_x = needs(x), need_w = needs(weight), need_b = needs(bias)](const TensorList& g) -> TensorList {
               const Tensor& gy = g[0];
               Tensor gx, gw, gb;
               if (need_x) {  // d xhat = g * weight, then the layer-norm backward of each (sample, group) row
                   const Tensor gxhat = sw.defined() ? mul(gy, sw.view(cshape)) : gy;
                   gx = row_norm_backward(gxhat, x2, mean, rstd, Tensor(), M, L, true, false, false).x.view(shape);
               }
               if (need_w) {
                   const Tensor xhat = mul(sub(x2, mean.view({M, 1})), rstd.view({M, 1})).view(shape);
                   gw = sum(mul(gy, xhat), dims).view({C});
               }
               if (need_b) gb = sum(gy, dims).view({C});
               return {gx, gw, gb};
           });
    return y;
}

}  // namespace wsdol
