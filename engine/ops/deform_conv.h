// deform_conv.h — deformable convolution (NCHW): torchvision.ops.deform_conv2d = mmcv v1 DeformConv2d, with the
// optional modulation mask of v2. Used by CDTR's SKI (models/cdtr.h). Not part of ops.h's umbrella: include it
// where needed.
#pragma once
#include "engine/ops/conv_pool.h"

namespace wsdol {

// x: (N, C_in, H, W); offset: (N, 2 G kH kW, OH, OW) with G offset groups (C_in % G == 0); weight:
// (C_out, C_in / groups, kH, kW), groups = C_in / weight.size(1); bias: (C_out) or undefined; mask:
// (N, G kH kW, OH, OW) or undefined -> (N, C_out, OH, OW), OH/OW as conv2d. For input channel c in offset group
// g = c / (C_in / G) and tap k = ki kW + kj, offset channel g 2 kH kW + 2k is dy and +1 is dx; the sample point is
//   p = (oh sH - pH + ki dH + dy, ow sW - pW + kj dW + dx),
// read bilinearly from x[n, c] with corners outside the image as 0, and 0 altogether when p_y <= -1, p_y >= H,
// p_x <= -1 or p_x >= W; times mask[n, g kH kW + k, oh, ow]. Gradients for x, offset, weight, bias and mask. The
// offset gradient is that of the bilinear form on the cell [floor(p), floor(p) + 1] (one-sided at integer
// positions: v(h + 1) - v(h)) and 0 where the sample is outside the open image (-1, H) x (-1, W) (mmcv's rule;
// torchvision differs only at p = -1 exactly, where it returns the right-hand derivative).
// Columns are chunked by conv2d_column_budget() (conv_pool.h), as conv2d.
Tensor deform_conv2d(const Tensor& x, const Tensor& offset, const Tensor& weight, const Tensor& bias = Tensor(),
                     Int2 stride = {1, 1}, Int2 padding = {0, 0}, Int2 dilation = {1, 1},
                     const Tensor& mask = Tensor());

// ---- kernel interface ----
// Deformable im2col, the same column layout as conv2d's im2col: x (n, C, H, W), offset (n, 2 G kH kW, OH, OW), mask
// (n, G kH kW, OH, OW) or an empty view (data == nullptr), all contiguous -> col (C kH kW, n OH OW) =
// mask * bilinear(x[img, c], p) with p as deform_conv2d states.
using DeformIm2colKernel = void(const Window2d& w, int64_t offset_groups, const TensorView& col, const TensorView& x,
                                const TensorView& offset, const TensorView& mask);
// Its adjoint in x: gx (n, C, H, W) is OVERWRITTEN with the bilinear scatter of gcol * mask; one (image, channel)
// plane per thread, in the fixed order (tap, oh, ow): deterministic.
using DeformCol2imKernel = void(const Window2d& w, int64_t offset_groups, const TensorView& gx, const TensorView& gcol,
                                const TensorView& offset, const TensorView& mask);
// Offset and mask gradients: goffset (n, 2 G kH kW, OH, OW) and gmask (same shape as mask, or an empty view)
// OVERWRITTEN; each element sums over its group's channels in channel order (double accumulator), one element per
// work item.
using DeformCol2imCoordKernel = void(const Window2d& w, int64_t offset_groups, const TensorView& goffset,
                                     const TensorView& gmask, const TensorView& gcol, const TensorView& x,
                                     const TensorView& offset, const TensorView& mask);

}  // namespace wsdol
