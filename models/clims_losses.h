// clims_losses.h — every loss of CLIMS stage 1 (Xie et al., CVPR 2022), in one file: the object-text matching
// (L_OTM), background-text matching (L_BTM), class-related background suppression (L_CBS) and area regularization
// (L_REG) terms and their weighted sum. Spec: ../shared/docs/methods.md §4.2, §4.8 and the §0.1 correction (the
// clamp's zero gradient); CODE CVI-SZU/CLIMS f9546d32 clip_loss.py, clip_utils.py, step/train_clims.py (improved
// version, the default) and previous_version/{clip_loss.py, clip_utils.py, train_CLIMS.py} (camera-ready).
//
// Notation: N positive (image, class) pairs of the batch (row-major over the (B, C) labels), E the CLIP embedding
// width, K background prompts. Image and text features enter UNNORMALIZED and are divided by their L2 norm here
// (x / ||x||, no epsilon, as the reference's `f / f.norm(dim=-1, keepdim=True)`).
//
// Improved version (default, ClimsVariant::improved):
//   s_oo(n) = <fg_n, t_{k(n)}>, s_bo(n) = <bg_n, t_{k(n)}>        (normalized features)
//   L_OTM = mean_n -log(clamp(s_oo, 1e-4, 0.9999))                 (SimMaxLoss)
//   L_BTM = mean_n -log(1 - clamp(s_bo, 1e-4, 0.9999))             (SimMinLoss)
//           the clamp passes the gradient on [1e-4, 0.9999] only (PyTorch clamp_backward, inclusive bounds).
//   L_CBS = sum_{n, j} -log(1 - s_ob(n, j)) [s_ob(n, j) > threshold], s_ob(n, j) = <fg_n, b_j>, threshold 0.26,
//           no clamp, a SUM over pairs and prompts (BackgroundSuppressionLoss); the mask is a constant.
//   L_REG = mean of the sigmoid maps P over all B x C x h x w entries (every class channel).
//   L = 10 L_OTM + 24 L_BTM + 1 L_CBS + 0.2 L_REG                 (README --hyper 10,24,1,0.2)
// Camera-ready version (ClimsVariant::camera_ready, previous_version/):
//   L_OTM = mean_n -w_n log(s_oo), L_BTM = mean_n -w_n log(1 - s_bo): no clamp, pair weights w_n = the class
//           weight (cal_weights: 3 for "sofa", "diningtable", "chair", else 1);
//   L_CBS = sum over pairs whose class has a background prompt set of mean_{j in set(k)} -log(1 - s_ob(n, j)),
//           no threshold (boat: river, water, lake, sea, building; train: railroad, railway, branches, tree);
//   L_REG = mean of the FOREGROUND maps (the caller passes the 20 foreground channels of its 21-channel head);
//   weights (10, 25, 29.5, 1.15).
// Numerics: f32 throughout (the reference runs CLIP in fp16 on the GPU; INFERRED: f32, which §1.2 allows).
#pragma once
#include <string>
#include <vector>

#include "engine/tensor/tensor.h"

namespace wsdol::models {

enum class ClimsVariant { improved, camera_ready };
const char* clims_variant_name(ClimsVariant v);
ClimsVariant clims_variant_from_name(const std::string& name);  // "improved" | "camera_ready"

struct ClimsLossWeights {
    double otm = 10, btm = 24, cbs = 1, reg = 0.2;
};
ClimsLossWeights clims_default_weights(ClimsVariant v);  // (10, 24, 1, 0.2) or (10, 25, 29.5, 1.15)

struct ClimsLossOptions {
    ClimsVariant variant = ClimsVariant::improved;
    ClimsLossWeights weights;
    double cbs_threshold = 0.26;  // improved only (VOC 0.26; the COCO recipe 0.285)
    // camera_ready only: per class k, the rows of `background_text` that form its prompt set (empty: no CBS term for
    // that class), and the per-class pair weight (empty: all 1).
    std::vector<std::vector<int>> class_background;
    std::vector<double> class_weight;
};

// SimMaxLoss: x (N, ...) similarities -> mean of -log(clamp(x, 1e-4, 0.9999)) * w (w: undefined = 1, else
// broadcastable to x). clamp false: the camera-ready loss without the clamp.
Tensor clims_sim_max(const Tensor& x, const Tensor& w = Tensor(), bool clamp_range = true);
// SimMinLoss: mean of -log(1 - clamp(x, 1e-4, 0.9999)) * w.
Tensor clims_sim_min(const Tensor& x, const Tensor& w = Tensor(), bool clamp_range = true);
// BackgroundSuppressionLoss (improved): fg (N, E), background text (K, E), both unnormalized ->
// sum_{n,j} -log(1 - s) [s > threshold], s = normalized fg @ normalized text^T.
Tensor clims_background_suppression(const Tensor& fg_features, const Tensor& background_text, double threshold);
// x / ||x||_2 over the last dim, no epsilon (the reference's normalization). x: (N, E).
Tensor clims_normalize(const Tensor& x);

struct ClimsLossInputs {
    Tensor fg_features;      // (N, E) CLIP image features of the foreground compositions
    Tensor bg_features;      // (N, E) of the background compositions
    Tensor pair_text;        // (N, E) text features of each pair's class prompt
    Tensor background_text;  // (K, E) text features of the background prompts
    std::vector<int64_t> pair_class;  // (N) class k of each pair (camera-ready weights and prompt sets)
    Tensor maps;             // (B, C, h, w) the sigmoid maps P (L_REG)
};

struct ClimsLossValues {
    Tensor otm, btm, cbs, reg;  // 0-dim
    Tensor s_oo, s_bo;          // (N) the cosine similarities (detached diagnostics)
    Tensor total;               // weighted sum
};

ClimsLossValues clims_losses(const ClimsLossInputs& in, const ClimsLossOptions& options);

// Camera-ready prompt sets and weights over a class-name list (VOC names as previous_version/clip_utils.py spells
// them: "diningtable", ...; classes absent from the list are skipped). Returns the background prompts (texts) and
// fills options.class_background / class_weight.
std::vector<std::string> clims_camera_ready_prompts(const std::vector<std::string>& class_names,
                                                    ClimsLossOptions& options);

}  // namespace wsdol::models
