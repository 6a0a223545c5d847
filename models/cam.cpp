// cam.cpp — CAM baseline networks (see cam.h).
#include "models/cam.h"

#include "engine/nn/norm.h"
#include "engine/ops/ops.h"

namespace wsdol::models {

const char* cam_backbone_name(CamBackbone b) { return b == CamBackbone::vit ? "vit" : "resnet50"; }

CamBackbone cam_backbone_from_name(const std::string& name) {
    if (name == "vit") return CamBackbone::vit;
    if (name == "resnet50") return CamBackbone::resnet50;
    fail(str("cam: unknown backbone '", name, "' (expected vit or resnet50)"));
}

ViTConfig cam_demo_vit_config() {
    ViTConfig c;
    c.image_size = 64;
    c.patch_size = 8;
    c.embed_dim = 96;
    c.depth = 4;
    c.num_heads = 3;
    c.num_classes = 0;
    return c;
}

ResNetConfig cam_resnet50_config() {
    ResNetConfig c = resnet50_config();
    // IRNet strides=(2, 2, 2, 1): conv1 2 (fixed in our ResNet), layer1 1, layer2 2, layer3 2, layer4 1
    c.strides = {1, 2, 2, 1};
    c.num_classes = 0;
    return c;
}

CamConfig cam_config(CamBackbone backbone, int64_t num_classes) {
    CamConfig c;
    c.backbone = backbone;
    c.num_classes = num_classes;
    c.vit = cam_demo_vit_config();
    c.resnet = cam_resnet50_config();
    return c;
}

CamNetwork::CamNetwork(const CamConfig& c, Generator* gen) : nn::Module("CamNetwork"), cfg(c) {
    WSDOL_CHECK(cfg.num_classes >= 1, "cam: num_classes must be >= 1, got ", cfg.num_classes);
    if (cfg.backbone == CamBackbone::resnet50) {
        cfg.resnet.num_classes = 0;
        resnet50 = register_module("resnet50", std::make_shared<ResNet>(cfg.resnet, gen));
        // IRNet Net.train(): conv1 and bn1 parameters never train.
        if (cfg.irnet_frozen) {
            resnet50->conv1->requires_grad_(false);
            resnet50->bn1->requires_grad_(false);
        }
    } else {
        cfg.vit.num_classes = 0;
        WSDOL_CHECK(cfg.vit.image_size % cfg.vit.patch_size == 0, "cam: vit image_size ", cfg.vit.image_size,
                    " is not a multiple of patch_size ", cfg.vit.patch_size);
        vit = register_module("vit", std::make_shared<VisionTransformer>(cfg.vit, gen));
    }
    // IRNet: nn.Conv2d(2048, n_classes, 1, bias=False) with PyTorch's default init.
    classifier = register_module(
        "classifier", std::make_shared<nn::Conv2d>(feature_dim(), cfg.num_classes, 1, 1, 0, 1, 1, false, gen));
    train(true);
}

int64_t CamNetwork::feature_dim() const {
    return cfg.backbone == CamBackbone::resnet50 ? 32 * cfg.resnet.width : cfg.vit.embed_dim;
}

void CamNetwork::train(bool on) {
    nn::Module::train(on);
    if (!resnet50 || !cfg.irnet_frozen) return;
    for (auto& [name, m] : resnet50->named_modules())
        if (dynamic_cast<nn::BatchNorm2d*>(m)) m->train(false);
}

Tensor CamNetwork::features(const Tensor& images) {
    WSDOL_CHECK(images.defined() && images.dim() == 4 && images.size(1) == 3,
                "cam: expected images (B, 3, H, W), got ", images.defined() ? shape_str(images.shape()) : "undefined");
    if (resnet50) return resnet50->forward_all(images).stages[3];
    const int64_t S = cfg.vit.image_size, P = cfg.vit.patch_size;
    WSDOL_CHECK(images.size(2) == S && images.size(3) == S, "cam: the vit backbone takes ", S, "x", S,
                " images, got ", shape_str(images.shape()));
    const int64_t B = images.size(0), g = S / P, prefix = cfg.vit.num_prefix_tokens + (cfg.vit.distilled ? 1 : 0);
    const Tensor tokens = vit->forward_all(images).tokens;  // (B, prefix + g g, D)
    const Tensor patches = tokens.narrow(1, prefix, g * g);  // (B, g g, D)
    return patches.transpose(1, 2).reshape({B, cfg.vit.embed_dim, g, g});
}

CamOutput CamNetwork::forward_cam(const Tensor& images, bool with_cams) {
    const Tensor f = features(images);  // (B, D, h, w)
    CamOutput out;
    // IRNet: x = gap2d(x, keepdims=True); x = classifier(x); x.view(-1, C)
    const Tensor pooled = mean(f, {2, 3}, true);  // (B, D, 1, 1)
    out.logits = classifier->forward(pooled).reshape({f.size(0), cfg.num_classes});
    if (with_cams) out.cams = classifier->forward(f);  // F.conv2d(x, classifier.weight)
    return out;
}

}  // namespace wsdol::models
