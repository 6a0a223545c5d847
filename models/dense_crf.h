// dense_crf.h — fully connected CRF (Krähenbühl & Koltun, NIPS 2011) with Gaussian edge potentials, mean-field
// inference and the permutohedral-lattice filtering of Adams, Baek & Davis (Eurographics 2010), as the densecrf
// library (and its pydensecrf wrapper) that psa / MCTformer / IRNet / DeepLab call from `crf_inference`.
// Spec: ../shared/docs/methods.md §1.1 (dense CRF), §2.1 step 7, §6.1, §6.3.
//
// The model (densecrf's DenseCRF2D with Potts compatibilities and symmetric kernel normalization):
//   Q_0 = softmax_l(-U)
//   repeat `iterations` times:
//     Q <- softmax_l( -U + sum_k w_k * n_k ⊙ K_k (n_k ⊙ Q) ),   n_k = 1 / sqrt(K_k 1 + 1e-20)
//   K_gauss(i, j)  = exp(-|p_i - p_j|^2 / (2 sxy^2))
//   K_bilat(i, j)  = exp(-|p_i - p_j|^2 / (2 sxy^2) - |I_i - I_j|^2 / (2 srgb^2))
// where p = (x, y) pixel coordinates and I the RGB colour (0..255). K is applied with the permutohedral lattice,
// an approximation of the Gaussian filter that includes the pixel itself (so results follow densecrf, not the
// exact dense sum). Potts: the label-dependent part of -w sum_{l' != l} KQ_{l'} is +w KQ_l, which is what the
// update adds.
//
// Numerics: single precision throughout (as densecrf: Eigen MatrixXf); the lattice splats pixels in raster order
// and blurs axis 0..d, so values agree with pydensecrf to float rounding.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/tensor/tensor.h"

namespace wsdol::models {

struct DenseCrfParams {
    int iterations = 10;
    double gaussian_sxy = 3, gaussian_compat = 3;                           // addPairwiseGaussian(sxy, compat)
    double bilateral_sxy = 80, bilateral_srgb = 13, bilateral_compat = 10;  // addPairwiseBilateral(...)
};

// psa/tool/imutils.crf_inference defaults, used by MCTformer's PSA inputs (§2.1 step 7).
DenseCrfParams psa_crf_params();
// IRNet/CLIMS misc/imutils.crf_inference_label (§6.3): Gaussian 3/3, bilateral sxy 50, srgb 5, compat 10.
DenseCrfParams irn_crf_params();
// MCTformer seg/infer_seg.py (DeepLab-V1, §6.1): Gaussian sxy 4 compat 3, bilateral sxy 83 srgb 5 compat 3.
DenseCrfParams deeplab_crf_params();

// image: (H, W, 3) u8 RGB; unary: (L, H, W) f32 energies -> (L, H, W) f32 marginals Q (sum to 1 over L).
Tensor dense_crf_unary(const Tensor& image, const Tensor& unary, const DenseCrfParams& params = {});

// pydensecrf utils.unary_from_softmax + crf_inference: unary = -log(clip(p, 1e-5, 1)).
// image: (H, W, 3) u8; probs: (L, H, W) f32 -> refined probabilities (L, H, W) f32.
Tensor dense_crf(const Tensor& image, const Tensor& probs, const DenseCrfParams& params = {});

// pydensecrf utils.unary_from_labels(labels, L, gt_prob, zero_unsure=False): -log(gt_prob) for the given label,
// -log((1 - gt_prob) / (L - 1)) for the others. labels: (H, W) integer in [0, L) -> (L, H, W) f32.
Tensor unary_from_labels(const Tensor& labels, int64_t num_labels, double gt_prob = 0.7);

// IRNet crf_inference_label: argmax over L of dense_crf_unary(image, unary_from_labels(labels, L, 0.7), params).
// labels: (H, W) integer -> (H, W) i64.
Tensor crf_label_inference(const Tensor& image, const Tensor& labels, int64_t num_labels,
                           const DenseCrfParams& params = irn_crf_params());

// ---- seed refinement recipes built on the CRF ----
// psa / MCTformer `_crf_with_alpha`: bg = (1 - max_k M_k)^alpha over the image's classes, CRF (psa parameters by
// default) on [bg; M_k...] used as probabilities (not renormalized: unary -log(clip(p, 1e-5, 1))).
// image: (H, W, 3) u8; maps: (C, H, W) f32 in [0, 1]; labels: the image's classes (0-based over C).
// Returns (1 + C, H, W): channel 0 background, channel 1 + c class c (zero for classes not in labels).
Tensor crf_with_alpha(const Tensor& image, const Tensor& maps, const std::vector<int>& labels, double alpha,
                      const DenseCrfParams& params = psa_crf_params());

// IRNet/CLIMS cam_to_ir_label: per pixel argmax over [fg_threshold; M_k...] and over [bg_threshold; M_k...], each
// refined by crf_label_inference (irn parameters), mapped to class ids 1 + c; result = the fg pass's label, 255
// where the fg pass says background, 0 where both say background. maps: (C, H, W) (only `labels` channels used).
// Returns (H, W) u8 (0 background, 1 + c class c, 255 unsure). CLIMS: fg 0.30 / bg 0.10; IRNet 0.30 / 0.05.
Tensor irn_confident_labels(const Tensor& image, const Tensor& maps, const std::vector<int>& labels,
                            double fg_threshold, double bg_threshold, const DenseCrfParams& params = irn_crf_params());

// The lattice filter alone, for tests and other users (e.g. a bilateral smoothness loss):
// features: (N, d) f32, already divided by the standard deviations; values: (N, V) f32 -> (N, V) f32,
// out_i ≈ sum_j exp(-|f_i - f_j|^2 / 2) values_j (densecrf's Permutohedral::compute, unnormalized).
Tensor permutohedral_filter(const Tensor& features, const Tensor& values);

}  // namespace wsdol::models
