// conv_args.h — the argument checks conv2d (conv.cpp) and deform_conv2d (deform_conv.cpp) share, in one place: the
// input (N, C_in, H, W) floating, the weight (C_out, C_in / groups, kH, kW) and bias (C_out) of the input's dtype and
// device, stride >= 1, padding >= 0, dilation >= 1, the groups dividing both channel counts, the dilated kernel
// within the padded input; and the output size. Every message starts with the op's name and names the shapes.
// Internal to engine/ops (not part of the ops API).
#pragma once
#include <optional>

#include "engine/ops/conv_pool.h"
#include "engine/tensor/tensor.h"

namespace wsdol {

struct ConvArgs {
    int64_t N = 0, C_in = 0, C_out = 0, groups = 1;
    Window2d win;  // H, W, kernel, stride, padding, dilation and the output plane OH, OW
};

// groups: given (conv2d; must be >= 1), or std::nullopt to read it from the weight as C_in / weight.size(1)
// (deform_conv2d, as torchvision). x must be 4-D (an unbatched input is the caller's business).
ConvArgs check_conv_args(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias, Int2 stride,
                         Int2 padding, Int2 dilation, std::optional<int64_t> groups);

// `t` (the op's `what` argument) has the input's dtype and device, else an error naming both.
void check_like_input(const char* op, const Tensor& t, const char* what, const Tensor& x);

}  // namespace wsdol
