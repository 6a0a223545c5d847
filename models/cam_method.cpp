// cam_method.cpp — the CAM baseline method (see cam_method.h).
#include "models/cam_method.h"

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"
#include "models/method_registry.h"
#include "weights/name_maps.h"
#include "weights/weights_file.h"

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
        groups = timm_decay_groups(*net_);  // timm create_optimizer: no decay on 1-D, pos_embed, cls_token
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
        // IRNet's pipeline (§4.1): resize-long U{320..640} PIL bicubic + normalize + flip + random crop 512 padded
        // with 0 in normalized space = data::irn_train_view, the runner's "irn" pipeline.
        r.augmentation = "irn";
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

LossTerms CamMethod::losses(const MethodBatch& batch, const StepContext&) {
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
    nn::EvalModeGuard eval_mode(*net_);
    CamNetwork* net = net_.get();
    ClassMapForward forward = [net](const Tensor& images) {
        Tensor x = images;
        if (net->cfg.backbone == CamBackbone::vit) {
            const int64_t S = net->cfg.vit.image_size;
            if (x.size(2) != S || x.size(3) != S) x = interpolate(x, S, S, InterpMode::bilinear, false);
        }
        return relu(net->forward_cam(x, true).cams);  // CAM = ReLU(conv(features)), no sigmoid (§4.3)
    };
    return max_normalize_maps(multiscale_flip_maps(image, forward, labels, test_time), labels);
}

Prediction CamMethod::predict(const Tensor& image, const std::vector<int>& labels) {
    Prediction p;
    p.maps = localize(image, labels);
    return p;
}

std::unique_ptr<Method> make_cam_method(const std::string& backbone, int64_t num_classes, Generator* gen) {
    return std::make_unique<CamMethod>(cam_config(cam_backbone_from_name(backbone), num_classes), gen);
}

std::unique_ptr<Method> make_cam_from_config(const MethodConfig& config) {
    const int64_t C = static_cast<int64_t>(config.class_names.size());
    WSDOL_CHECK(C >= 1, "cam: the dataset has no classes");
    CamConfig cfg = cam_config(cam_backbone_from_name(config.get("backbone", "vit")), C);
    if (cfg.backbone == CamBackbone::vit) {
        read_vit_options(config, cfg.vit, "cam");
    } else {
        cfg.resnet.width = config.get_int("width", cfg.resnet.width);
        WSDOL_CHECK(cfg.resnet.width >= 1 && cfg.resnet.width <= 1024, "cam: option width must be in 1..1024, got ",
                    cfg.resnet.width);
        // frozen: IRNet stage 0 (FixedBatchNorm, conv1 + bn1 frozen); normal: train-mode BN, stem trained (INFERRED:
        // the classifier the synthetic benchmark pretrains as its ImageNet stand-in)
        const std::string bn = config.get("resnet_bn", "frozen");
        WSDOL_CHECK(bn == "frozen" || bn == "normal", "cam: option resnet_bn must be frozen or normal, got '", bn, "'");
        cfg.irnet_frozen = bn == "frozen";
    }
    auto method = std::make_unique<CamMethod>(cfg, config.generator);
    if (!config.backbone_weights.empty() && !config.weights_from_checkpoint) {
        // Pretrained backbone (timm ViT / torchvision ResNet names); the file's classifier head is not ours.
        weights::WeightsFile file = weights::read_weights(config.backbone_weights);
        CamNetwork& net = method->net();
        if (cfg.backbone == CamBackbone::resnet50) {
            // A wsdol cam checkpoint (resnet50.* + classifier.*, e.g. the pretraining stand-in): its ResNet in
            // torchvision names, every BN statistic included; its classifier is not ours.
            // ("model." stays on the names when the file is a bare safetensors of the checkpoint's tensors)
            auto bare = [](const std::string& n) { return n.rfind("model.", 0) == 0 ? n.substr(6) : n; };
            bool cam_file = false;
            for (const auto& [n, t] : file.tensors) cam_file = cam_file || bare(n).rfind("resnet50.", 0) == 0;
            if (cam_file) {
                NamedTensors backbone;
                for (const auto& [n, t] : file.tensors) {
                    const std::string b = bare(n);
                    if (b.rfind("resnet50.", 0) == 0) backbone.emplace_back(b.substr(9), t);
                    else WSDOL_CHECK(b.rfind("classifier.", 0) == 0 || n.rfind("optim.", 0) == 0, "cam: backbone weights ",
                                     config.backbone_weights, " hold '", n, "', which is neither resnet50.* nor classifier.*");
                }
                file.tensors = std::move(backbone);
            }
        }
        const weights::LoadResult r =
            cfg.backbone == CamBackbone::vit
                ? weights::load_into(*net.vit, file.tensors, weights::Architecture::timm_vit, false)
                : weights::load_into(*net.resnet50, file.tensors, weights::Architecture::torchvision_resnet, false);
        WSDOL_CHECK(r.report.missing.empty() && r.report.mismatched.empty() && !r.architecture_mismatch,
                    "cam: backbone weights ", config.backbone_weights, " do not fit the ",
                    cam_backbone_name(cfg.backbone),
                    " backbone:\n", r.str());
    }
    return method;
}

WSDOL_METHOD(MethodInfo{"cam",
                        "CAM baseline: backbone (vit | resnet50) + 1x1 classifier, GAP, MLSM (IRNet/CLIMS stage 0)",
                        make_cam_from_config, {models::Need{"backbone", false, "pretrained backbone weights (timm ViT/DeiT, torchvision ResNet or a wsdol checkpoint); without it the network starts from random initialisation"}}});

}  // namespace wsdol::models
