// par.h — PAR, pixel-adaptive refinement (rulixiang/afa = rulixiang/ToCo e13514d9 model/PAR.py;
// ../shared/docs/methods.md §3.4 with §0.1).
//
// For each dilation d the 8 neighbours at (dy, dx) in {-d, 0, d}^2 \ {(0, 0)}, in the order of ToCo's get_kernel
// (row-major over the 3x3 taps without the centre), replicate padding (coordinates clamped to the image) —
// 8 * |D| neighbours j of pixel i. With the image I (B, 3, h, w):
//   kappa_ij   = mean over channels of -(|I_i - I_j| / (std_i + 1e-8) / w1)^2,  std_i the unbiased std of the
//                neighbour values I_j (per channel; the centre pixel is not in the set)
//   kappa^p_ij = -(rho_j / (std(rho) + 1e-8) / w1)^2,  rho_j = d for axial and d * sqrt(2) for diagonal taps,
//                std(rho) the unbiased std of the 8|D| distances
//   A_ij       = softmax_j(kappa_ij) + w2 * softmax_j(kappa^p_ij)
// masks are first resized to (h, w) (bilinear, align_corners True), then num_iter times M_i <- sum_j A_ij M_j.
// Forward only (ToCo runs it on detached CAMs). Numerics: double accumulation, f32 results.
#pragma once
#include <vector>

#include "engine/tensor/tensor.h"

namespace wsdol::models {

struct ParOptions {
    std::vector<int64_t> dilations = {1, 2, 4, 8, 12, 24};
    int num_iter = 10;
    double w1 = 0.3, w2 = 0.01;
};

class Par {
public:
    explicit Par(ParOptions options = {}) : options_(std::move(options)) {}
    // images: (B, 3, h, w) f32; masks: (B, K, h', w') f32 -> (B, K, h, w) f32.
    Tensor operator()(const Tensor& images, const Tensor& masks) const;
    const ParOptions& options() const { return options_; }

private:
    ParOptions options_;
};

}  // namespace wsdol::models
