// random_ops.h — ops that draw random masks: dropout and drop_path (engine/ops/random_ops.cpp; the mask kernel
// is kernels/cpu/random_ops.cpp).
//
// THE MASK RULE (exact, so a test can recompute the mask from a copy of the generator):
//   an op that draws a mask of M elements (M = x.numel() for dropout, N * C for dropout2d, x.size(0) for
//   drop_path) reserves M
//   counters from the generator, first = gen->reserve(M), and element i (row-major logical index) KEEPS iff
//       Philox::to_unit(w[0]) >= p,   where w = Philox::draw(gen->seed(), first + i)
//   (to_unit: the 24 high bits of w[0] as a float in [0, 1), compared with p in double). So P(keep) = 1 - p up to
//   2^-24, and the mask does not depend on the thread count. A kept element is scaled by 1 / (1 - p), a dropped
//   one is 0 (p = 1 drops everything). When !training or p == 0 the op returns x itself and draws nothing
//   (PyTorch's F.dropout and timm's drop_path do the same). `gen` null means default_generator().
#pragma once
#include "engine/core/rng.h"
#include "engine/ops/registry.h"
#include "engine/tensor/tensor.h"

namespace wsdol {

// Inverted dropout (F.dropout). x: floating, any shape -> x's shape; out = x * mask / (1 - p).
// Backward: grad * mask / (1 - p). p must lie in [0, 1].
Tensor dropout(const Tensor& x, double p, bool training, Generator* gen = nullptr);
// Channel dropout (nn.Dropout2d, as in ResNet38's blocks). x: (N, C, H, W) -> (N, C, H, W): channel (n, c) is
// kept whole (scaled by 1 / (1 - p)) or zeroed, by mask element n * C + c. Backward: grad * mask / (1 - p).
Tensor dropout2d(const Tensor& x, double p, bool training, Generator* gen = nullptr);
// Stochastic depth per sample (timm drop_path, scale_by_keep=True). x: (N, ...) -> (N, ...): sample n is kept
// whole (scaled by 1 / (1 - p)) or zeroed, by mask element n. Backward: grad * mask / (1 - p).
Tensor drop_path(const Tensor& x, double p, bool training, Generator* gen = nullptr);

// ---- kernel interface ----
// mask[i] = (Philox::to_unit(w[0]) >= p) ? scale : 0 with w = Philox::draw(seed, first + i), i the row-major
// logical index of the element (the mask rule above). Keyed by mask's dtype (f32, f64).
// Why a kernel of its own and not the "random" kernel plus a comparison: "random" draws f64 tensors from
// to_unit_f64(w[0], w[1]), so the rule would differ between dtypes, and comparing an f32 uniform with p rounded
// to f32 is not the documented double comparison; this kernel also writes the scaled mask in one pass.
using DropoutMaskKernel = void(const TensorView& mask, uint64_t seed, uint64_t first, double p, double scale);

}  // namespace wsdol
