// cam_method.cpp — the CAM baseline method (see cam_method.h).
#include "models/cam_method.h"

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"

namespace wsdol::models {

CamMethod::CamMethod(const CamConfig& cfg, Generator* gen) : net_(std::make_shared<CamNetwork>(cfg, gen)) {
    if (cfg.backbone == CamBackbone::resnet50) {
        test_time.scales = {1.0, 0.5, 1.5, 2.0};  // IRNet/CLIMS cam_scales
        test_time.upsample = MapUpsample::strided_up_crop;
        test_time.upsample_stride = 16;
    } else {
        test_time.scales = {1.0};
        test_time.upsample = MapUpsample::to_image;
    }
    test_time.flip = true;
}

std::vector<ParamGroupSpec> CamMethod::param_groups() {
    std::vector<ParamGroupSpec> groups;
    if (net_->cfg.backbone == CamBackbone::resnet50) {
        // IRNet train_cam: [backbone: lr, wd] + [newly added classifier: 10 lr, wd]; conv1/bn1 are frozen.
        ParamGroupSpec backbone{"backbone", {}, 1.0, 1.0}, head{"classifier", {}, 10.0, 1.0};
        for (const auto& [name, p] : net_->named_parameters()) {
            if (!p.requires_grad()) continue;
            (name.rfind("classifier.", 0) == 0 ? head : backbone).params.push_back(name);
        }
        groups = {backbone, head};
    } else {
        // timm create_optimizer: no weight decay on 1-D parameters, pos_embed and cls_token.
        ParamGroupSpec decay{"decay", {}, 1.0, 1.0}, no_decay{"no_decay", {}, 1.0, 0.0};
        for (const auto& [name, p] : net_->named_parameters()) {
            if (!p.requires_grad()) continue;
            const bool skip = p.dim() <= 1 || name.find("pos_embed") != std::string::npos ||
                              name.find("cls_token") != std::string::npos;
            (skip ? no_decay : decay).params.push_back(name);
        }
        groups = {decay, no_decay};
    }
    return groups;
}

Recipe CamMethod::recipe() const {
    Recipe r;
    if (net_->cfg.backbone == CamBackbone::resnet50) {
        r.optimizer = "sgd";
        r.lr = 0.1;
        r.weight_decay = 1e-4;
        r.momentum = 1e-4;  // PolyOptimizer quirk (§1.5): SGD's momentum receives the weight-decay value
        r.epochs = 5;
        r.warmup_epochs = 0;
        r.warmup_lr = 0.0;
        r.min_lr = 0.0;
        r.schedule = "poly";
        r.batch_size = 16;
        r.input_size = 512;
        r.augmentation = "irn";
        r.extra = {{"poly_power", 0.9}, {"classifier_lr_scale", 10.0}, {"resize_long_lo", 320},
                   {"resize_long_hi", 640}};
    } else {
        r.optimizer = "adamw";
        r.lr = 1e-3;
        r.weight_decay = 0.05;
        r.epochs = 20;
        r.warmup_epochs = 2;
        r.warmup_lr = 1e-6;
        r.min_lr = 1e-5;
        r.schedule = "cosine";
        r.batch_size = 32;
        r.input_size = net_->cfg.vit.image_size;
        r.augmentation = "timm";
    }
    return r;
}

LossTerms CamMethod::losses(const MethodBatch& batch) {
    WSDOL_CHECK(batch.labels.defined() && batch.labels.dim() == 2 && batch.labels.size(1) == net_->cfg.num_classes,
                "cam: labels must be (B, ", net_->cfg.num_classes, "), got ",
                batch.labels.defined() ? shape_str(batch.labels.shape()) : std::string("none"));
    const Tensor logits = net_->forward_cam(batch.images, false).logits;
    const Tensor mlsm = multilabel_soft_margin_loss(logits, batch.labels);
    LossTerms out;
    out.terms = {{"mlsm", mlsm}};
    out.total = mlsm;
    return out;
}

Tensor CamMethod::localize(const Tensor& image, const std::vector<int>& labels) {
    NoGradGuard no_grad;
    const bool was_training = net_->is_training();
    net_->eval();
    CamNetwork* net = net_.get();
    ClassMapForward forward = [net](const Tensor& images) {
        Tensor x = images;
        if (net->cfg.backbone == CamBackbone::vit) {
            const int64_t S = net->cfg.vit.image_size;
            if (x.size(2) != S || x.size(3) != S) x = interpolate(x, S, S, InterpMode::bilinear, false);
        }
        return relu(net->forward_cam(x, true).cams);  // CAM = ReLU(conv(features)), no sigmoid (§4.3)
    };
    Tensor maps;
    try {
        maps = max_normalize_maps(multiscale_flip_maps(image, forward, labels, test_time), labels);
    } catch (...) {
        net_->train(was_training);
        throw;
    }
    net_->train(was_training);
    return maps;
}

std::unique_ptr<Method> make_cam_method(const std::string& backbone, int64_t num_classes, Generator* gen) {
    return std::make_unique<CamMethod>(cam_config(cam_backbone_from_name(backbone), num_classes), gen);
}

}  // namespace wsdol::models
