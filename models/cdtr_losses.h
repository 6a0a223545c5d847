// cdtr_losses.h — CDTR's training losses exactly as coded (zhiweichen0012/CDTR @ 86ff62ff, models.py get_loss,
// clip_util.py, engine.train_one_epoch_our; ../shared/docs/methods.md §5.2-5.3), as plain functions and one module
// (the automatic loss weighting), independent of the network (models/cdtr.h) and of the method interface.
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "engine/nn/module.h"
#include "engine/tensor/tensor.h"

namespace wsdol::models {

// Noise suppression L_ocm^s ("loss_area"). m_ca: (B, gh, gw) the category-aware attention map. Per image the N =
// gh gw values are sorted ascending (engine sort, so the gradient path is the code's: the threshold only chooses
// which values are kept), theta = sorted[floor(N p)], values > theta are zeroed, and the loss is the sum over the
// WHOLE batch of the kept values divided by N (the code's 196 for a 14 x 14 grid) — a batch sum, not a mean.
// p = 0.25 (CUB) / 0.10 (ILSVRC).
Tensor cdtr_area_loss(const Tensor& m_ca, double p);

// Object awakening L_ocm^a ("map_loss"). m_ocm: (B, 1, gh, gw), m_ca: (B, gh, gw) (not detached). broadcast = true
// is the code: PyTorch's MSELoss broadcasts the two to (B, B, gh, gw), the mean over all (i, j, pixel) of
// (m_ocm[i] - m_ca[j])^2; false is the per-image MSE (the paper's reading).
Tensor cdtr_map_loss(const Tensor& m_ocm, const Tensor& m_ca, bool broadcast = true);

// Automatic weighted loss (models.AutomaticWeightedLoss): learnable params (n) initialized to 1 (registered as
// "params"); total(L) = sum_i 0.5 / p_i^2 L_i + log(1 + p_i^2).
class AutomaticWeightedLoss : public nn::Module {
public:
    explicit AutomaticWeightedLoss(int64_t num = 5);
    Tensor total(const std::vector<Tensor>& losses);  // scalars, as many as params
    Tensor forward(const Tensor& x) override;  // not used (a module needs one): raises, pointing at total()
    Tensor params;
};

// SBA's images (engine.train_one_epoch_our): the object map (B, 1, gh, gw) resized bilinearly with
// align_corners = true to the images' size; fg = O * images, bg = (1 - O) * images. images: (B, 3, H, W), the
// augmented, ImageNet-normalized training input (no CLIP re-normalization, as coded). Returns {fg, bg}.
std::vector<Tensor> cdtr_sba_images(const Tensor& object_map, const Tensor& images);

// SBA loss (clip_util.clip_forward + ClipLoss). fg_features, bg_features: (B, E) CLIP image features of fg and bg;
// text_features: (B, E) the prompt features per batch position. Each is divided by its L2 norm (no eps, as
// coded); s_f = <f, t>, s_b = <b, t> clamped to [1e-4, 0.9999]; loss = mean_b -log(s_f / (s_f + s_b)).
Tensor cdtr_sba_loss(const Tensor& fg_features, const Tensor& bg_features, const Tensor& text_features);

// The prompt's class for batch position i: the code builds it from class id i, not from the image's label
// (clip_util.to_text ignores the labels). code_quirk = false uses labels[i]. INFERRED: when the batch is larger
// than the class count (the code would fail with an IndexError), position i uses class i mod num_classes.
// labels: (B) i64 -> (B) i64.
Tensor cdtr_prompt_classes(const Tensor& labels, int64_t num_classes, bool code_quirk = true);

// SBA's prompt for a dataset class (clip_util.prompt_dict_fg "a photo of {}."): the CUB classes.txt name without its
// three-digit "NNN." number ("001.Black_footed_Albatross" -> "a photo of Black_footed_Albatross.", as clip_util's category_dict
// spells CUB's classes, underscores kept); any other name as it is (INFERRED for non-CUB datasets).
std::string cdtr_class_prompt(const std::string& class_name);

// ---- one training step's losses (engine.train_one_epoch_our + get_loss), used by the "cdtr" method ----
class Cdtr;  // models/cdtr.h

struct CdtrLossOptions {
    double area_p = 0.25;        // noise-suppression position (0.25 CUB, 0.10 ILSVRC)
    double alpha = 2.4;          // SBA weight (2.4 CUB, 0.01 ILSVRC)
    bool broadcast_mse = true;   // the code's broadcast object-awakening MSE
    bool awl = true;             // automatic weighting; false: the five terms summed with weight 1
    bool prompt_quirk = true;    // SBA prompt of batch position i names class i (clip_util.to_text)
};

struct CdtrStepLosses {
    std::vector<std::pair<std::string, Tensor>> terms;  // cls, csm, ocm_s, ocm_a, [ski], [sba]: 0-dim
    Tensor total;                                       // awl (or the plain sum) + alpha sba
};

// The training-mode forward of `net` on images (B, 3, S, S) with class ids (B) i64 and every loss. SBA runs when
// clip_image is given: the frozen CLIP image tower, (B, 3, R, R) -> (B, E), with R = clip_size (fg/bg images of
// another size are resized bilinearly, align_corners false — INFERRED, the code feeds 224 to a 224 CLIP), and
// prompt_features (C, E) the text tower's "a photo of {name}." features of the C classes. Without SKI the fifth
// weighted term is a constant 0 (the five weights of the code are kept).
CdtrStepLosses cdtr_step_losses(Cdtr& net, const Tensor& images, const Tensor& class_ids, const CdtrLossOptions& options,
                                const std::function<Tensor(const Tensor&)>& clip_image = {}, int64_t clip_size = 0,
                                const Tensor& prompt_features = Tensor());

}  // namespace wsdol::models
