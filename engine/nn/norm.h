// norm.h — normalization layers with PyTorch's names, defaults and running-statistics rules:
// LayerNorm (weight, bias), BatchNorm2d (weight, bias, running_mean, running_var, num_batches_tracked),
// GroupNorm (weight, bias).
#pragma once
#include <optional>

#include "engine/nn/module.h"

namespace wsdol::nn {

class LayerNorm : public Module {
public:
    // weight ones, bias zeros (PyTorch); eps 1e-5 (timm ViTs pass 1e-6).
    explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true, bool bias = true,
                       DType dtype = DType::f32);
    explicit LayerNorm(int64_t normalized_size, double eps = 1e-5, bool elementwise_affine = true, bool bias = true,
                       DType dtype = DType::f32)
        : LayerNorm(Shape{normalized_size}, eps, elementwise_affine, bias, dtype) {}
    // x: (..., normalized_shape...) -> same shape
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;

    Shape normalized_shape;
    double eps;
    Tensor weight, bias;  // normalized_shape, or undefined
};

class BatchNorm2d : public Module {
public:
    // momentum: weight of the new batch statistic in the running average; nullopt = cumulative moving average
    // (factor 1 / num_batches_tracked), as PyTorch's momentum=None.
    explicit BatchNorm2d(int64_t num_features, double eps = 1e-5, std::optional<double> momentum = 0.1,
                         bool affine = true, bool track_running_stats = true, DType dtype = DType::f32);
    // x: (N, C, H, W). Training (or no running stats): batch statistics; when tracking, updates running_mean,
    // running_var (unbiased) and num_batches_tracked. Eval: running statistics.
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;

    int64_t num_features;
    double eps;
    std::optional<double> momentum;
    bool track_running_stats;
    Tensor weight, bias;                // (C) or undefined when !affine
    Tensor running_mean, running_var;   // (C), zeros / ones; undefined when !track_running_stats
    Tensor num_batches_tracked;         // i64 scalar
};

class GroupNorm : public Module {
public:
    GroupNorm(int64_t num_groups, int64_t num_channels, double eps = 1e-5, bool affine = true,
              DType dtype = DType::f32);
    // x: (N, C, ...) -> same shape
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;

    int64_t num_groups, num_channels;
    double eps;
    Tensor weight, bias;  // (C) or undefined
};

}  // namespace wsdol::nn
