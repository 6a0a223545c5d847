// toco_training.h — one ToCo / DIAL training step's losses, as scripts/dist_train_voc_seg_neg.py computes them
// (rulixiang/ToCo e13514d9; ../shared/docs/methods.md §3.2-§3.3, §0.1) plus DIAL's GIA / LEA (§3.8, PAPER;
// INFERRED gaps commented): no-grad multi-scale CAMs, roi mask, local crops, the main and projection forwards,
// pseudo labels (PAR-refined for the segmentation loss, aux-CAM labels for PTC), every loss term and the total
// with the iteration-2,000 switch. A plain function of the network and the batch (no Method interface).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "models/par.h"
#include "models/toco.h"
#include "models/toco_labels.h"
#include "models/toco_losses.h"

namespace wsdol::models {

struct TocoStepOptions {
    std::vector<double> cam_scales = {1.0, 0.5, 1.5};  // --cam_scales (1.0 first, as multi_scale_cam2 runs it)
    CamLabelThresholds thresholds;                      // bkg 0.5, high 0.7, low 0.25, ignore 255
    int64_t ncrops = 10;                                // 2 global + 8 local
    int64_t local_crop_size = 96;
    double temp = 0.5;                                  // CTC temperature (VOC 0.5, COCO 1.0)
    double w_ptc = 0.2, w_ctc = 0.5, w_seg = 0.1, w_reg = 0.05;
    int64_t seg_start = 2000;  // seg and reg join when step > seg_start (ToCo: `if n_iter <= 2000` leaves them out)
    EnergyLossOptions energy;  // weight 1e-7, sigma_rgb 15, sigma_xy 100, scale 0.5, the rloss lattice
    ParOptions par;
    // Switches (ToCo runs all four; DIAL's ablation rows are flags).
    bool use_ptc = true, use_ctc = true;
    // DIAL (§3.8, PAPER): lambda_i, lambda_e, the object-mask threshold beta; LEA's tau / lambda / mean.
    bool use_gia = false, use_lea = false;
    double w_gia = 1.0, w_lea = 1.0, beta = 0.5;
    LeaOptions lea;
};

struct TocoBatch {
    Tensor images;        // (B, 3, H, W) the main view, normalized (crops[0])
    Tensor cls_labels;    // (B, C) multi-hot, C = num_classes - 1
    std::vector<ImgBox> img_box;
    Tensor global_view;   // (B, 3, H2, W2) crops[1], the second global view
    Tensor local_view;    // (B, 3, H, W) crops[2], the view the local crops are cut from
    Tensor text_fg;       // DIAL: (C, text_dim) frozen CLIP text embeddings of "a photo of [CLS]."
    Tensor text_bg;       // DIAL: (1, text_dim) of "a photo of background."
};

struct TocoStepResult {
    std::vector<std::pair<std::string, Tensor>> terms;  // every computed term (0-dim), weighted or not
    Tensor total;                                        // the weighted sum that is back-propagated
    Tensor cams, cams_aux;                               // (B, C, H, W) the no-grad multi-scale CAMs
    Tensor refined_label;                                // (B, H, W) the segmentation loss's pseudo label
    Tensor flags;                                        // (B, ncrops) CTC crop flags
    int seg_empty = 0;                                   // seg_loss's empty-set record (bit 0 bg, bit 1 fg)
    Tensor term(const std::string& name) const;
};

// The no-grad multi-scale CAMs {cams, cams_aux} of multi_scale_cam2. images (B, 3, H, W).
std::pair<Tensor, Tensor> toco_multi_scale_cams(TocoNet& net, const Tensor& images, const std::vector<double>& scales);

// One step's losses. step: the 0-based iteration (n_iter). permutation: the local-crop draw (torch.randperm).
TocoStepResult toco_step_losses(TocoNet& net, const TocoBatch& batch, int64_t step, const TocoStepOptions& options,
                                const PermutationFn& permutation);

}  // namespace wsdol::models
