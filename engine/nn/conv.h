// conv.h — nn.Conv2d (NCHW, zero padding), PyTorch's names (weight (C_out, C_in / groups, kH, kW), bias (C_out))
// and default init.
#pragma once
#include "engine/nn/module.h"
#include "engine/ops/conv_pool.h"

namespace wsdol::nn {

class Conv2d : public Module {
public:
    // weight kaiming_uniform_(a = sqrt(5)), bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C_in/groups*kH*kW.
    Conv2d(int64_t in_channels, int64_t out_channels, Int2 kernel_size, Int2 stride = {1, 1}, Int2 padding = {0, 0},
           Int2 dilation = {1, 1}, int64_t groups = 1, bool bias = true, Generator* gen = nullptr,
           DType dtype = DType::f32);
    // Square kernel/stride/padding shorthand: Conv2d(3, 64, 7, 2, 3).
    Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride = 1, int64_t padding = 0,
           int64_t dilation = 1, int64_t groups = 1, bool bias = true, Generator* gen = nullptr,
           DType dtype = DType::f32)
        : Conv2d(in_channels, out_channels, Int2{kernel_size, kernel_size}, Int2{stride, stride},
                 Int2{padding, padding}, Int2{dilation, dilation}, groups, bias, gen, dtype) {}
    // x: (N, C_in, H, W) -> (N, C_out, H', W')
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;

    int64_t in_channels, out_channels, groups;
    Int2 kernel_size, stride, padding, dilation;
    Tensor weight;  // (C_out, C_in / groups, kH, kW)
    Tensor bias;    // (C_out) or undefined
};

}  // namespace wsdol::nn
