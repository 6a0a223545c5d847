// toco_method.h — ToCo and DIAL behind the method seam (models/method.h): "toco" (rulixiang/ToCo e13514d9, CODE)
// and "dial" (Jang et al., ECCV 2024: ToCo + a frozen CLIP text tower, GIA and LEA; PAPER, INFERRED gaps).
// The network, labels, losses and the step are plain code in toco.h / toco_labels.h / toco_losses.h /
// toco_training.h / toco_infer.h; this file only adapts them to the runner.
//
// Batches (BatchSpec): pipeline "toco", multi-label, extras
//   "valid_box"    (B, 4) f32 {y0, y1, x0, x1} of the image inside the padded crop (img_box)
//   "global_views" (B, 2, 3, S, S): [0] the main view (= images), [1] the second global view (crops[1])
//   "crop_source"  (B, 3, S, S) the view the local crops are cut from (crops[2])
// Steps (StepContext::step = ToCo's n_iter): seg and reg join after `seg_start` (2,000).
// predict(): segmentation = softmax of the multi-scale + flip logits at the given (full-resolution) image
// (optional dense CRF, option crf=true), maps = the multi-scale CAM seeds (image resized to cam_input_size),
// scores = the classifier logits of the cam_input_size image (ToCo's validate()).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/clip.h"
#include "models/dense_crf.h"
#include "models/method.h"
#include "models/method_registry.h"
#include "models/toco.h"
#include "models/toco_training.h"
#include "tokenizer/clip_tokenizer.h"

namespace wsdol::models {

class TocoMethod : public Method {
public:
    // name: "toco" or "dial". text_fg (C, text_dim) / text_bg (1, text_dim): DIAL's frozen prompt embeddings
    // (undefined for toco, or for dial at inference from a checkpoint).
    TocoMethod(std::string name, const TocoConfig& cfg, const TocoStepOptions& step, Generator* gen,
               Tensor text_fg = Tensor(), Tensor text_bg = Tensor());

    std::string name() const override { return name_; }
    nn::Module& network() override { return *net_; }
    TocoNet& net() { return *net_; }
    // ToCo's four groups: backbone (lr x1), backbone norms (x1), classifiers + CTC head (+ DIAL projections,
    // INFERRED) (x10), decoder (x10); weight decay 0.01 on all.
    std::vector<ParamGroupSpec> param_groups() override;
    // AdamW lr 6e-5, wd 0.01, betas (0.9, 0.999), poly 0.9 with 1,500 warm-up iterations from ratio 1e-6
    // (PolyWarmupAdamW), batch 4, crop 448, pipeline "toco"; VOC's 20,000 iterations.
    Recipe recipe() const override;
    BatchSpec batch_spec() const override;
    InferSpec infer_spec() const override;
    LossTerms losses(const MethodBatch& batch, const StepContext& step) override;
    Prediction predict(const Tensor& image, const std::vector<int>& labels) override;

    TocoStepOptions step_options;
    std::vector<double> seg_scales = {1.0, 1.5, 1.25};  // infer_seg_voc.py (COCO: 1.0, 1.25, 1.5)
    int64_t cam_input_size = 448;
    bool crf = false;
    DenseCrfParams crf_params{10, 1, 1, 121, 5, 4};  // ToCo's utils/dcrf.py use in infer_seg_voc.py
    std::shared_ptr<Clip> owned_clip;  // DIAL, when the method loaded it

private:
    std::string name_;
    std::shared_ptr<TocoNet> net_;
    Generator* gen_;
    Tensor text_fg_, text_bg_;
};

// Builds "toco" / "dial" from a MethodConfig (options listed in toco_method.cpp).
std::unique_ptr<Method> make_toco_method(const std::string& method, const MethodConfig& config);

}  // namespace wsdol::models
