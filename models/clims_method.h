// clims_method.h — CLIMS (Xie et al., CVPR 2022) behind the method seam (models/method.h): name "clims".
// Spec: ../shared/docs/methods.md §4.2-§4.4 (CODE CVI-SZU/CLIMS f9546d32, improved version; camera-ready losses by
// option variant=camera_ready). Pieces: models/clims.h (network, composition, step, stage 2), models/clims_losses.h,
// models/clims_setup.h (stage-0 file, frozen CLIP, prompts).
//
// needs:      backbone (required) = the stage-0 CAM checkpoint (`wsdol train --method cam --set backbone=resnet50`,
//             or IRNet/CLIMS res50_cam.pth): every weight, BN statistics included, initializes the network; a
//             checkpoint of another network is an error naming the file. clip (required) = the frozen evaluator
//             (any CLIP file wsdol loads; another architecture is an error naming the file) and its BPE vocabulary.
// losses():   terms "otm", "btm", "cbs", "reg" and their weighted sum (clims_step): the CAM network in train mode
//             (ordinary BN), sigmoid maps, fg/bg compositions at the CLIP input size, frozen CLIP.
// predict():  make_clims (clims_stage2_maps): scales 1, 0.5, 1.5, 2 + flip on the full-resolution image,
//             Prediction::maps = the high-res maps of the GT classes (zero elsewhere), each / (max + 1e-5);
//             stage2() also gives the strided maps for the IRNet .npy (engine/data/cam_npy.h).
// recipe():   README: 15 epochs, batch 16, SGD with the PolyOptimizer quirk (momentum = the weight-decay value
//             1e-4, §1.5), lr 2.5e-4 backbone / 2.5e-3 classifier, wd 1e-4, poly power 0.9, crop 512, "irn".
// Options:    variant (improved | camera_ready), hyper ("10,24,1,0.2"; camera_ready "10,25,29.5,1.15"),
//             cbs_threshold (0.26), backgrounds (auto | voc | synth | comma-separated names), width (64; tests),
//             scales ("1,0.5,1.5,2"), clip_head_width (64: every released CLIP; small test CLIPs differ).
#pragma once
#include <memory>
#include <string>

#include "models/clims.h"
#include "models/method.h"
#include "models/method_registry.h"
#include "tokenizer/clip_tokenizer.h"

namespace wsdol::models {

class ClimsMethod : public Method {
public:
    ClimsMethod(const ClimsConfig& cfg, Generator* gen = nullptr);
    std::string name() const override { return "clims"; }
    nn::Module& network() override { return *net_; }
    std::vector<ParamGroupSpec> param_groups() override;
    Recipe recipe() const override;
    BatchSpec batch_spec() const override;
    InferSpec infer_spec() const override;
    LossTerms losses(const MethodBatch& batch, const StepContext& step) override;
    Prediction predict(const Tensor& image, const std::vector<int>& labels) override;

    // make_clims for one image: the strided and high-res maps of the GT classes (the IRNet .npy content).
    ClimsStage2Maps stage2(const Tensor& image, const std::vector<int>& labels);

    ClimsNetwork& net() { return *net_; }
    // The frozen evaluator and its text bank (training only; absent for inference-only use).
    void set_evaluator(std::shared_ptr<Clip> clip, ClimsTextBank text);
    bool has_evaluator() const { return clip_ != nullptr; }
    ClimsLossOptions loss_options;
    ClimsStage2Options stage2_options;

private:
    std::shared_ptr<ClimsNetwork> net_;
    std::shared_ptr<Clip> clip_;
    ClimsTextBank text_;
};

std::unique_ptr<Method> make_clims_from_config(const MethodConfig& config);
// A released IRNet/CLIMS state_dict (res50_cam.pth / res50_clims.pth): the class count from classifier.weight.
std::unique_ptr<Method> clims_from_release(const std::string& weights_file, MethodConfig& config);

}  // namespace wsdol::models
