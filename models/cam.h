// cam.h — the CAM baseline networks: a backbone's feature map, a 1x1 classifier without bias, global average
// pooling -> logits (trained with MLSM), and CAM = ReLU(classifier(features)) at inference.
// Spec: ../shared/docs/methods.md §4.1 (IRNet/CLIMS stage 0: net/resnet50_cam.py Net / CAM) and §4.3 (make_cam).
//
// Backbones:
//  resnet50 — torchvision ResNet-50 (models/resnet.h) with IRNet's strides: conv1 2, layer1 1, layer2 2, layer3 2,
//             layer4 1 -> output stride 16 (ResNetConfig::strides = {1, 2, 2, 1}: our strides are per stage, the
//             stem's conv1 stride 2 is fixed; IRNet writes the same as strides=(2, 2, 2, 1) with strides[0] on conv1).
//             Every BatchNorm "fixed" (IRNet FixedBatchNorm: running statistics in train mode too, affine
//             parameters trained), conv1 + bn1 frozen. Features: layer4 (B, 2048, H/16, W/16).
//  vit      — a ViT (models/vit.h, no head) whose patch tokens after the final norm, as a (B, D, gh, gw) grid, are
//             the features (INFERRED: the TS-CAM-style patch-token CAM of the task brief; a small configurable
//             backbone so the demo trains fast). Inputs must be cfg.vit.image_size square.
// logits = classifier(GAP(features)) (IRNet torchutils.gap2d then the 1x1 conv), which equals GAP(classifier(
// features)) since both are linear.
#pragma once
#include <memory>
#include <string>

#include "engine/nn/conv.h"
#include "engine/nn/module.h"
#include "models/resnet.h"
#include "models/vit.h"

namespace wsdol::models {

enum class CamBackbone { vit, resnet50 };
const char* cam_backbone_name(CamBackbone b);
CamBackbone cam_backbone_from_name(const std::string& name);  // "vit" | "resnet50"

struct CamConfig {
    CamBackbone backbone = CamBackbone::vit;
    int64_t num_classes = 20;  // C foreground classes (VOC 20)
    ViTConfig vit;             // used when backbone == vit (num_classes is ignored: no head)
    ResNetConfig resnet;       // used when backbone == resnet50 (num_classes is ignored: no fc)
    // resnet50: IRNet's FixedBatchNorm and frozen conv1 + bn1 (stage 0). false: ordinary train-mode BatchNorm and
    // a trained stem — an ImageNet-style classifier, for the synthetic benchmark's stand-in of ImageNet
    // pretraining (INFERRED; option resnet_bn=normal), whose checkpoint a stage-0 run loads as its backbone.
    bool irnet_frozen = true;
};

// The demo ViT: 64x64 input, patch 8 (8x8 grid), D 96, 4 blocks, 3 heads (a few seconds per epoch on a toy set).
ViTConfig cam_demo_vit_config();
// IRNet's ResNet-50: {3, 4, 6, 3}, strides {1, 2, 2, 1} (output stride 16), no fc.
ResNetConfig cam_resnet50_config();
// Defaults for a backbone: the demo ViT, or IRNet's ResNet-50.
CamConfig cam_config(CamBackbone backbone, int64_t num_classes);

struct CamOutput {
    Tensor logits;  // (B, C)
    Tensor cams;    // (B, C, h, w) classifier(features), before ReLU (when asked)
};

class CamNetwork : public nn::Module {
public:
    explicit CamNetwork(const CamConfig& cfg, Generator* gen = nullptr);
    // images: (B, 3, H, W) -> features (B, D, h, w) (ResNet layer4, or the ViT's patch-token grid).
    Tensor features(const Tensor& images);
    CamOutput forward_cam(const Tensor& images, bool with_cams);
    Tensor forward(const Tensor& images) override { return forward_cam(images, false).logits; }
    // ResNet: every BatchNorm of the backbone stays in eval mode (IRNet FixedBatchNorm).
    void train(bool on = true) override;

    int64_t feature_dim() const;
    CamConfig cfg;
    std::shared_ptr<ResNet> resnet50;          // registered as "resnet50" (IRNet's attribute name), or null
    std::shared_ptr<VisionTransformer> vit;    // registered as "vit", or null
    std::shared_ptr<nn::Conv2d> classifier;    // 1x1, D -> C, no bias ("classifier", IRNet's name)
};

}  // namespace wsdol::models
