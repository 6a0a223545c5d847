// norm.cpp — LayerNorm, BatchNorm2d and GroupNorm modules over the softmax_norm ops.
#include "engine/nn/norm.h"

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"

namespace wsdol::nn {

LayerNorm::LayerNorm(Shape shape, double eps_, bool affine, bool with_bias, DType dtype)
    : Module("LayerNorm"), normalized_shape(std::move(shape)), eps(eps_) {
    if (affine) {
        weight = register_parameter("weight", Tensor::ones(normalized_shape, dtype));
        if (with_bias) bias = register_parameter("bias", Tensor::zeros(normalized_shape, dtype));
    }
}

Tensor LayerNorm::forward(const Tensor& x) { return layer_norm(x, normalized_shape, weight, bias, eps); }

std::string LayerNorm::extra_repr() const {
    return str(shape_str(normalized_shape), ", eps=", eps,
               ", elementwise_affine=", weight.defined() ? "True" : "False");
}

BatchNorm2d::BatchNorm2d(int64_t features, double eps_, std::optional<double> momentum_, bool affine, bool track,
                         DType dtype)
    : Module("BatchNorm2d"), num_features(features), eps(eps_), momentum(momentum_), track_running_stats(track) {
    WSDOL_CHECK(features > 0, "BatchNorm2d: num_features must be positive, got ", features);
    if (affine) {
        weight = register_parameter("weight", Tensor::ones({features}, dtype));
        bias = register_parameter("bias", Tensor::zeros({features}, dtype));
    }
    if (track) {
        running_mean = register_buffer("running_mean", Tensor::zeros({features}, dtype));
        running_var = register_buffer("running_var", Tensor::ones({features}, dtype));
        num_batches_tracked = register_buffer("num_batches_tracked", Tensor::scalar(0, DType::i64));
    }
}

Tensor BatchNorm2d::forward(const Tensor& x) {
    WSDOL_CHECK(x.defined() && x.dim() == 4, "BatchNorm2d: expected 4D input (N, C, H, W), got ",
                x.defined() ? shape_str(x.shape()) : "undefined");
    WSDOL_CHECK(x.size(1) == num_features, "BatchNorm2d: input ", shape_str(x.shape()), " has ", x.size(1),
                " channels, expected ", num_features);
    // PyTorch's _BatchNorm.forward: count the batch, pick the averaging factor, and use batch statistics when
    // training or when there are no running statistics to use.
    double factor = momentum.value_or(0.0);
    if (training_ && track_running_stats) {
        NoGradGuard no_grad;
        const double count = num_batches_tracked.item() + 1;
        num_batches_tracked.fill_(count);
        if (!momentum) factor = 1.0 / count;
    }
    const bool use_batch_stats = training_ || !track_running_stats;
    // In training without tracking, batch_norm gets no running tensors and updates nothing.
    return batch_norm(x, running_mean, running_var, weight, bias, use_batch_stats, factor, eps);
}

std::string BatchNorm2d::extra_repr() const {
    return str(num_features, ", eps=", eps, ", momentum=", momentum ? str(*momentum) : "None",
               ", affine=", weight.defined() ? "True" : "False",
               ", track_running_stats=", track_running_stats ? "True" : "False");
}

GroupNorm::GroupNorm(int64_t groups, int64_t channels, double eps_, bool affine, DType dtype)
    : Module("GroupNorm"), num_groups(groups), num_channels(channels), eps(eps_) {
    WSDOL_CHECK(groups > 0 && channels % groups == 0, "GroupNorm: num_channels ", channels,
                " must be divisible by num_groups ", groups);
    if (affine) {
        weight = register_parameter("weight", Tensor::ones({channels}, dtype));
        bias = register_parameter("bias", Tensor::zeros({channels}, dtype));
    }
}

Tensor GroupNorm::forward(const Tensor& x) {
    WSDOL_CHECK(x.defined() && x.dim() >= 2 && x.size(1) == num_channels, "GroupNorm: input ",
                x.defined() ? shape_str(x.shape()) : "undefined", " must be (N, ", num_channels, ", ...)");
    return group_norm(x, num_groups, weight, bias, eps);
}

std::string GroupNorm::extra_repr() const {
    return str(num_groups, ", ", num_channels, ", eps=", eps, ", affine=", weight.defined() ? "True" : "False");
}

}  // namespace wsdol::nn
