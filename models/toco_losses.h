// toco_losses.h — every loss term of ToCo and DIAL in one place (../shared/docs/methods.md §3.3, §3.8, §0.1).
// ToCo: rulixiang/ToCo e13514d9 model/losses.py (get_masked_ptc_loss, CTCLoss_neg, get_seg_loss, get_energy_loss
// with DenseEnergyLoss from meng-tang/rloss 1caa759e). DIAL (Jang et al., ECCV 2024) has no public code: GIA and LEA
// follow the paper's equations 3-6; the gaps are INFERRED and commented where they are coded.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/tensor/tensor.h"
#include "models/toco_labels.h"

namespace wsdol::models {

// PTC, get_masked_ptc_loss. fmap (B, D, h, w) the final patch tokens; aff (B, hw, hw) integer from
// label_to_aff_mask. c_ij = |cos(x_i, x_j)| (F.normalize eps 1e-8), over the whole batch:
// 0.5 (1 - sum_pos c / (n_pos + 1)) + 0.5 sum_neg c / (n_neg + 1). -> 0-dim.
Tensor ptc_loss(const Tensor& fmap, const Tensor& aff);

// CTC, CTCLoss_neg. student (ncrops * B, E): rows crop-major (the two global views, then the local crops, each B
// images); teacher (2 * B, E) view-major; flags (B, ncrops) (1 positive, 0 negative; the first two are the
// global views). logits = exp(teacher . student / temp); per image with neg = sum of its negative columns:
// sum_{j pos} -log(l_j / (l_j + neg + 1e-4)) - log(1 / (1 + neg + 1e-4)) (the for-else term, always added),
// summed over the 2 teacher views, / 2 / (n_pos + 1e-4); mean over images. -> 0-dim.
Tensor ctc_loss(const Tensor& student, const Tensor& teacher, const Tensor& flags, double temp);

// Segmentation loss, get_seg_loss: 0.5 CE(pixels labelled 0) + 0.5 CE(pixels labelled 1..K-1), each a mean over
// its own pixels, ignore_index ignored. logits (B, K, H, W), labels (B, H, W) integer. -> 0-dim.
// INFERRED (§0.1): an empty pixel set makes PyTorch's mean 0/0 = NaN, which ToCo's 0.0 weight before iteration
// 2,000 does not hide; here an empty set's term is 0 instead, and *empty (when given) records which set was empty
// (bit 0: background, bit 1: foreground).
Tensor seg_loss(const Tensor& logits, const Tensor& labels, int64_t ignore_index = 255, int* empty = nullptr);

// The bilateral filter used by the dense-energy loss.
enum class EnergyFilter {
    lattice,  // rloss: the permutohedral lattice (densecrf's algorithm, self term included, unnormalized)
    exact     // the exact Gaussian sum sum_j exp(-|f_i - f_j|^2 / 2) v_j, self term included (tests, O(N^2))
};

struct EnergyLossOptions {
    double weight = 1e-7;      // DenseEnergyLoss(weight=1e-7, ...) as ToCo builds it
    double sigma_rgb = 15.0;
    double sigma_xy = 100.0;   // multiplied by scale_factor inside (rloss)
    double scale_factor = 0.5;
    std::array<double, 3> mean = {123.675, 116.28, 103.53}, std = {58.395, 57.12, 57.375};
    EnergyFilter filter = EnergyFilter::lattice;
};

// Regularization loss, get_energy_loss + DenseEnergyLoss (§3.3 with the §0.1 correction: the ROI is the img_box
// mask). images (B, 3, H, W) normalized; logits (B, K, H, W) (the segmentation logits at the label size);
// labels (B, H, W) integer (255 unlabeled). Everything is downscaled by scale_factor (image, ROI and label
// nearest; probabilities bilinear), then with S = P * R, gate g = clamp_0(R - max_k P_k) set to 1 where the label
// is 255, AS = g * W S: E = -sum(S * AS) / B, returned as weight * E (0-dim). Backward as rloss codes it (the
// gate constant): dE/dP = -2 AS / B * R, then through the downscale and the softmax.
Tensor energy_loss(const Tensor& images, const Tensor& logits, const Tensor& labels,
                   const std::vector<ImgBox>& img_box, const EnergyLossOptions& options = {});

// The bilateral filter alone: features (N, d) already divided by the sigmas, values (N, V) -> (N, V) f32.
Tensor energy_filter(const Tensor& features, const Tensor& values, EnergyFilter filter);

// ---- DIAL (PAPER; gaps INFERRED) ----
// Cosine similarity of every row of a (..., d) with every row of b (M, d), PyTorch's convention
// a.b / sqrt(clamp_min(|a|^2 |b|^2, eps^2)), eps 1e-8. -> (..., M).
Tensor pairwise_cosine(const Tensor& a, const Tensor& b, double eps = 1e-8);

// GIA (eq. 3): cls (B, d) the projected class tokens, text_fg (C, d), text_bg (1, d) the projected text
// embeddings, labels (B, C) multi-hot. Per image -sum_c y_c log s(cls, t_c) - log(1 - s(cls, t_bg)).
// INFERRED: s clamped to [1e-4, 0.9999] before the logs (CLIMS's convention; a cosine can be <= 0), mean over
// the batch. -> 0-dim.
Tensor gia_loss(const Tensor& cls, const Tensor& text_fg, const Tensor& text_bg, const Tensor& labels);

struct LeaOptions {
    double tau = 1.0;      // PAPER
    double lambda = 1e-3;  // PAPER: weight of the background term
    bool masked_mean = false;  // INFERRED default: average over all N positions as eq. 6 is written; true
                               // averages the foreground term over the masked-in and the background term over
                               // the masked-out positions (an empty set gives 0)
};

// LEA (eqs. 4-6): patches (B, N, d) the projected patch tokens, obj (B, N) the object-aware mask in {0, 1}.
// INFERRED: the mask is applied after the projection (v^fg = P(v) * M), so masked tokens are exactly zero
// (cosine 0 by the eps convention, no gradient reaches the projection through them). With
//   s+fg = sum_c y_c s(v^fg, t_c), s-fg = s(v^fg, t_bg), s+bg = s(v^bg, t_bg), s-bg = sum_c y_c s(v^bg, t_c):
// L = -mean_i log softmax([s+fg, s-fg] / tau)_0 - lambda mean_i log softmax([s+bg, s-bg] / tau)_0,
// mean over the batch (INFERRED). -> 0-dim.
Tensor lea_loss(const Tensor& patches, const Tensor& obj, const Tensor& text_fg, const Tensor& text_bg,
                const Tensor& labels, const LeaOptions& options = {});

}  // namespace wsdol::models
