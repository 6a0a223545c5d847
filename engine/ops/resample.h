// resample.h — interpolation and padding (NCHW), PyTorch semantics.
//
// interpolate follows torch.nn.functional.interpolate without antialiasing: 'nearest' (source floor(dst scale)),
// 'bilinear' and 'bicubic' (cubic convolution, a = -0.75, border indices clamped), with align_corners either way.
#pragma once
#include <vector>

#include "engine/ops/registry.h"
#include "engine/tensor/tensor.h"

namespace wsdol {

enum class InterpMode { nearest, bilinear, bicubic };
// x: (N, C, H, W) -> (N, C, out_h, out_w). Bicubic uses a = -0.75 (PyTorch). align_corners ignored by nearest.
// When scale factors are given (> 0) they are used for the source-coordinate mapping (scale = 1 / factor), as
// PyTorch does with scale_factor and recompute_scale_factor=None/False; out_h/out_w <= 0 then means PyTorch's
// output size floor(H * scale_h) / floor(W * scale_w). align_corners=True ignores the factors (as PyTorch).
Tensor interpolate(const Tensor& x, int64_t out_h, int64_t out_w, InterpMode mode, bool align_corners = false,
                   double scale_h = 0.0, double scale_w = 0.0);

enum class PadMode { constant, replicate };
// pads: PyTorch order, last dim first: {left, right, top, bottom, ...}; negative pads crop.
// constant: up to all dims, any rank. replicate: the last dim (pads of 2; input 2-D or 3-D) or the last two dims
// (pads of 4; input 3-D or 4-D), as torch.nn.functional.pad.
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, PadMode mode = PadMode::constant, double value = 0.0);

// ---- kernel interface ----
struct InterpParams {
    InterpMode mode = InterpMode::nearest;
    bool align_corners = false;
    double scale_h = 0.0, scale_w = 0.0;  // the caller's scale factors (> 0), or 0: from the sizes (in / out)
};
// x: (N, C, H, W) contiguous -> out: (N, C, OH, OW) contiguous.
using InterpolateKernel = void(const InterpParams& p, const TensorView& out, const TensorView& x);
// The adjoint: gx (N, C, H, W) contiguous is OVERWRITTEN with the forward's weights applied in reverse to
// gy (N, C, OH, OW). Each (n, c) plane is accumulated by one thread in output order (deterministic).
using InterpolateBackwardKernel = void(const InterpParams& p, const TensorView& gx, const TensorView& gy);
// out (contiguous) index o along dim d reads x at o - before[d]: constant mode writes `value` outside x, replicate
// clamps into [0, size). x contiguous with out's rank; `before` has one entry per dim (negative: cropped).
using PadKernel = void(PadMode mode, double value, const int64_t* before, const TensorView& out, const TensorView& x);
// The adjoint of replicate padding: gx = 0, then gx[clamp(o - before)] += gy[o]. Only the last `padded_dims`
// (1 or 2) dims differ; each plane of the leading dims is summed by one thread in order (deterministic).
using PadReplicateBackwardKernel = void(int padded_dims, const int64_t* before, const TensorView& gx,
                                        const TensorView& gy);

}  // namespace wsdol
