// cam_method.h — the CAM baseline behind the method seam (models/method.h): name "cam", backbone vit | resnet50.
// Spec: ../shared/docs/methods.md §4.1 (training: MLSM on GAP logits, IRNet recipe) and §4.3 (CAM inference).
//
// losses():   one term "mlsm" = MultiLabelSoftMargin(logits, labels) (§1.4).
// localize(): multiscale_flip_maps (models/attention_maps.h) over ReLU(classifier(features)), then per GT class
//             M / (max + 1e-5) (IRNet make_cam):
//   resnet50 — scales (1.0, 0.5, 1.5, 2.0), each with its flip, PIL-bicubic rescale of the image, maps upsampled to
//              16 ceil(H/16) x 16 ceil(W/16) and cropped (IRNet "high_res");
//   vit      — scale 1.0 + flip; the (fixed-size) ViT sees the image bilinearly resized (align_corners=False) to its
//              input size and the maps are upsampled straight to H x W (INFERRED: TS-CAM-style single-scale CAM).
// recipe():   resnet50 = IRNet stage 0 (§4.1): SGD with the PolyOptimizer quirk (momentum = the weight-decay value
//             1e-4, §1.5), lr 0.1 backbone / 1.0 classifier (lr_scale 10), wd 1e-4, poly power 0.9, 5 epochs,
//             batch 16, crop 512, augmentation "irn" (IRNet: resize-long 320-640 bicubic, flip, random crop 512
//             padded in normalized space: data::irn_train_view);
//             vit = INFERRED demo recipe: AdamW lr 1e-3, wd 0.05 (none on 1-D params, pos_embed, cls_token: timm's
//             rule), cosine with 2 warm-up epochs, 20 epochs, batch 32, input = the ViT's image size, "timm".
#pragma once
#include <memory>

#include "models/attention_maps.h"
#include "models/cam.h"
#include "models/method.h"
#include "models/method_registry.h"

namespace wsdol::models {

class CamMethod : public Method {
public:
    explicit CamMethod(const CamConfig& cfg, Generator* gen = nullptr);
    std::string name() const override { return "cam"; }
    nn::Module& network() override { return *net_; }
    std::vector<ParamGroupSpec> param_groups() override;
    Recipe recipe() const override;
    LossTerms losses(const MethodBatch& batch, const StepContext& step) override;
    Prediction predict(const Tensor& image, const std::vector<int>& labels) override;
    // (C, H, W) maps in [0, 1] of the image (3, H, W) for the given classes (predict() returns them as maps).
    Tensor localize(const Tensor& image, const std::vector<int>& labels);

    CamNetwork& net() { return *net_; }
    TestTimeOptions test_time;  // per-backbone defaults above; may be changed before localize()

private:
    std::shared_ptr<CamNetwork> net_;
};

// Backbone "vit" | "resnet50" with the defaults of cam_config().
std::unique_ptr<Method> make_cam_method(const std::string& backbone, int64_t num_classes, Generator* gen = nullptr);

// The registry's factory (registered as "cam", models/method_registry.h). Options: backbone (vit), and for vit
// image_size (64), patch_size (8), embed_dim (96), depth (4), num_heads (3), drop_path (0); for resnet50 width
// (64).
// MethodConfig::backbone_weights loads a timm ViT / torchvision ResNet file into the backbone (head keys ignored).
std::unique_ptr<Method> make_cam_from_config(const MethodConfig& config);

}  // namespace wsdol::models
