// clims.h — CLIMS (Xie et al., CVPR 2022) stage 1 and 2 as plain classes/functions: the CAM network with sigmoid
// maps, the foreground/background composition at the CLIP input size, one training step's forward through a frozen
// CLIP (ViT or ModifiedResNet image tower), the multi-scale stage-2 CAM inference (strided and high-resolution maps)
// and the PolyOptimizer learning rate. Spec: ../shared/docs/methods.md §4.1-§4.4, §1.5; CODE CVI-SZU/CLIMS f9546d32
// net/resnet50_clims.py (CLIMS, CAM), step/train_clims.py, step/make_clims.py, misc/torchutils.py; the IRNet data
// side jiwoon-ahn/irn a2ece003 (voc12/dataloader.py, misc/imutils.py). Losses: models/clims_losses.h.
//
// Network (ClimsNetwork): IRNet's ResNet-50 (strides {1, 2, 2, 1} here = IRNet's (2, 2, 2, 1), output stride 16) with
// ORDINARY BatchNorm (train mode: batch statistics, running statistics updated, momentum 0.1; bn1 included) and
// conv1 + bn1 parameters frozen; classifier = Conv1x1(2048 -> C, no bias). forward: P = sigmoid(classifier(layer4))
// (B, C, H/16, W/16), no pooling. The module names are the stage-0 CamNetwork's ("resnet50.*", "classifier.weight"),
// so a stage-0 checkpoint (ours, or IRNet's res50_cam.pth state_dict) initializes every weight, BN statistics
// included (train_clims.py: load_state_dict(res50_cam.pth, strict=True)).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/data/cam_npy.h"
#include "engine/nn/conv.h"
#include "engine/nn/module.h"
#include "models/clims_losses.h"
#include "models/clip.h"
#include "models/frozen_clip.h"
#include "models/resnet.h"

namespace wsdol::models {

struct ClimsConfig {
    int64_t num_classes = 20;
    ResNetConfig resnet;  // default: clims_resnet50_config()
};
// IRNet ResNet-50 with normal (train-mode) BN, frozen stem, no fc.
ResNetConfig clims_resnet50_config();
ClimsConfig clims_config(int64_t num_classes);

class ClimsNetwork : public nn::Module {
public:
    explicit ClimsNetwork(const ClimsConfig& cfg, Generator* gen = nullptr);
    Tensor features(const Tensor& images);  // (B, 3, H, W) -> layer4 (B, 32 w, h, w')
    Tensor cams(const Tensor& images);      // classifier(features) (B, C, h, w'), before any activation
    Tensor forward(const Tensor& images) override;  // P = sigmoid(cams) (B, C, h, w')

    ClimsConfig cfg;
    std::shared_ptr<ResNet> resnet50;        // "resnet50" (IRNet's attribute name)
    std::shared_ptr<nn::Conv2d> classifier;  // "classifier", 1x1, no bias
};

// Loads a stage-0 (or CLIMS) checkpoint state into the network. Accepts our CamNetwork / ClimsNetwork names and the
// IRNet/CLIMS PyTorch state_dicts, whose alias keys (stage1.*, stage2.*, ..., backbone.*, newly_added.*) repeat
// resnet50.* / classifier.* (the same tensors under other module paths) and are ignored. Anything missing or of
// another shape, or any other key, is an error naming `source` (the file).
void load_clims_state(ClimsNetwork& net, const NamedTensors& state, const std::string& source);

// ---- composition (train_clims.py) ----
struct ClimsComposition {
    Tensor fg, bg;                      // (N, 3, S, S): P_k * img and (1 - P_k) * img at the CLIP input size
    std::vector<int64_t> pair_image;    // (N) image n of each pair
    std::vector<int64_t> pair_class;    // (N) class k of each pair
};
// maps P (B, C, h, w) and the normalized training images (B, 3, H, W) are resized bilinearly with
// align_corners=True to S x S; the pairs are the positive labels (B, C) in row-major order (torch.nonzero).
// No CLIP normalization (as coded: the ImageNet-normalized crop times the mask).
ClimsComposition clims_compose(const Tensor& maps, const Tensor& images, const Tensor& labels, int64_t size);

// ---- one training step's forward ----
struct ClimsTextBank {
    Tensor class_text;       // (C, E) text features of "a photo of {name_k}." (unnormalized)
    Tensor background_text;  // (K, E) of the background prompts
};
// (Token-id rows are encoded by models/frozen_clip.h frozen_text_features, shared with CDTR's SBA.)

struct ClimsStepOutput {
    Tensor maps;              // P (B, C, h, w)
    ClimsComposition composition;
    Tensor fg_features, bg_features;  // (N, E) CLIP image features
    ClimsLossValues losses;
};
// network(images) -> compose at clip.cfg.image_size -> encode fg and bg with the frozen CLIP image tower, ViT or
// ModifiedResNet (frozen_image_features: gradients flow through it into P; CLIP's parameters get none) -> losses.
ClimsStepOutput clims_step(ClimsNetwork& net, Clip& clip, const ClimsTextBank& text, const Tensor& images,
                           const Tensor& labels, const ClimsLossOptions& options);

// (The evaluator is frozen by models/frozen_clip.h freeze_clip: requires_grad false everywhere, eval mode, §0.1.)

// The VOC prompt names of clip_utils.py category_dict['voc'] ("player" for person) and the 10 background prompts.
std::vector<std::string> clims_voc_prompt_names();
std::vector<std::string> clims_voc_background_prompts();
std::string clims_class_prompt(const std::string& name);  // "a photo of {name}."

// ---- stage 2 (make_clims.py) ----
struct ClimsStage2Maps {
    std::vector<int64_t> keys;  // the GT classes (valid_cat), ascending
    Tensor strided;             // (K, ceil(H/4), ceil(W/4)) f32, each class / (max + 1e-5)
    Tensor high_res;            // (K, H, W) f32, each class / (max + 1e-5)
};
struct ClimsStage2Options {
    std::vector<double> scales{1.0, 0.5, 1.5, 2.0};  // run_sample.py --cam_scales
    int64_t strided_stride = 4;                       // get_strided_size(size, 4)
    int64_t high_res_stride = 16;                     // get_strided_up_size(size, 16)
};
// image (3, H, W) normalized (ImageNet) at full resolution; labels: GT classes. Each scale s != 1: the image PIL-
// bicubic rescaled to (round(H s), round(W s)) (pil_rescale order 3) and normalized again; the scale's batch
// [img, flip(img)] -> ReLU(classifier(features)) in eval mode -> x[0] + flip(x[1]) (h, w) -> bilinear
// (align_corners False) to the strided size and to the strided-up size; summed over scales in order; high-res
// cropped to H x W; GT classes kept; each divided by its max + 1e-5.
ClimsStage2Maps clims_stage2_maps(ClimsNetwork& net, const Tensor& image, const std::vector<int>& labels,
                                  const ClimsStage2Options& options = {});
// The IRNet per-image .npy content of these maps ({keys, cam = strided, high_res}; write it with
// data::write_irn_cam_npy(<cam_out_dir>/<id>.npy, ...), engine/data/cam_npy.h).
data::IrnCamFile clims_irn_cam_file(const ClimsStage2Maps& maps);
// The same from precomputed per-scale CAMs (each (C, h_s, w_s), already x[0] + flip(x[1])): the reduction alone.
ClimsStage2Maps clims_stage2_reduce(const std::vector<Tensor>& scale_cams, int64_t H, int64_t W,
                                    const std::vector<int>& labels, const ClimsStage2Options& options = {});

// ---- seed evaluation (step/eval_cam.py) ----
// The seed label map of one image: argmax over [threshold ; high_res maps of the keys] (the threshold plane in f32,
// np.pad's constant in the maps' dtype; ties go to the earlier channel, so background wins ties), channel j > 0
// mapped to class keys[j - 1] + 1. Returns (H, W) labels in 0..C (0 = background). Default threshold:
// run_sample.py --cam_eval_thres 0.15.
std::vector<uint8_t> clims_seed_labels(const ClimsStage2Maps& maps, double threshold = 0.15);
// eval_cam.py's score: np.nanmean of the per-class IoU of the confusion matrix over all C + 1 classes (a class
// with neither GT nor prediction is NaN and skipped; one with predictions but no GT counts 0). per_class_iou in
// [0, 1] or NaN; returns the mean in [0, 1].
double clims_nanmean_iou(const std::vector<double>& per_class_iou);

// ---- PolyOptimizer (misc/torchutils.py) ----
// lr of update t (0-based, the optimizer's global_step before the update): lr0 (1 - t / max_step)^power while
// t < max_step; afterwards the last value set stays (lr at t = max_step - 1).
double clims_poly_lr(double lr0, int64_t t, int64_t max_step, double power = 0.9);

}  // namespace wsdol::models
