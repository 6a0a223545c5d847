// vit_classifier_method.cpp — the "vit_classifier" method (see vit_classifier_method.h).
#include "models/vit_classifier_method.h"

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"
#include "models/attention_maps.h"
#include "models/vit.h"
#include "weights/name_maps.h"
#include "weights/weights_file.h"

namespace wsdol::models {

namespace {

class VitClassifier : public Method {
public:
    VitClassifier(const ViTConfig& cfg, Generator* gen) : net_(std::make_shared<VisionTransformer>(cfg, gen)) {
        test_time.scales = {1.0};
        test_time.flip = true;
        test_time.upsample = MapUpsample::to_image;
    }
    std::string name() const override { return "vit_classifier"; }
    nn::Module& network() override { return *net_; }
    VisionTransformer& net() { return *net_; }
    std::vector<ParamGroupSpec> param_groups() override { return timm_decay_groups(*net_); }
    Recipe recipe() const override {  // DeiT's ImageNet recipe (lr 5e-4 per 512 images), shortened
        Recipe r;
        r.optimizer = "adamw";
        r.batch_size = 64;
        r.lr = 5e-4 * static_cast<double>(r.batch_size) / 512.0;
        r.weight_decay = 0.05;
        r.epochs = 30;
        r.warmup_epochs = 2;
        r.warmup_lr = 1e-6;
        r.min_lr = 1e-5;
        r.schedule = "cosine";
        r.input_size = net_->cfg.image_size;
        r.augmentation = "timm";
        return r;
    }
    LossTerms losses(const MethodBatch& batch, const StepContext&) override {
        WSDOL_CHECK(batch.labels.defined() && batch.labels.dim() == 2 && batch.labels.size(1) == net_->cfg.num_classes,
                    "vit_classifier: labels must be (B, ", net_->cfg.num_classes, "), got ",
                    batch.labels.defined() ? shape_str(batch.labels.shape()) : std::string("none"));
        const Tensor logits = net_->forward_all(batch.images).logits;  // (B, C)
        const Tensor mlsm = multilabel_soft_margin_loss(logits, batch.labels);
        LossTerms out;
        out.terms = {{"mlsm", mlsm}};
        out.total = mlsm;
        return out;
    }
    Prediction predict(const Tensor& image, const std::vector<int>& labels) override {
        Prediction p;
        p.maps = localize(image, labels);
        return p;
    }
    Tensor localize(const Tensor& image, const std::vector<int>& labels) {
        NoGradGuard no_grad;
        nn::EvalModeGuard eval_mode(*net_);
        VisionTransformer* net = net_.get();
        const int64_t C = net_->cfg.num_classes, S = net_->cfg.image_size;
        ClassMapForward forward = [net, C, S](const Tensor& images) {  // (N, 3, h, w) -> (N, C, gh, gw)
            Tensor x = images;
            if (x.size(2) != S || x.size(3) != S) x = interpolate(x, S, S, InterpMode::bilinear, false);
            const ViTOutput out = net->forward_all(x, /*return_attention=*/true);
            AttentionTokenLayout layout{0, 1, net->num_prefix_tokens(), out.grid_h, out.grid_w};
            AttentionMapOptions options;
            options.class_blocks = 1;
            options.type = AttentionMapType::attention;
            options.patch_refine = false;
            const Tensor map = attention_class_maps(out.attn_probs, layout, Tensor(), options);  // (N, 1, gh, gw)
            return map.expand({map.size(0), C, map.size(2), map.size(3)}).contiguous();
        };
        return minmax_normalize_maps(multiscale_flip_maps(image, forward, labels, test_time), labels);
    }

    TestTimeOptions test_time;

private:
    std::shared_ptr<VisionTransformer> net_;
};

}  // namespace

std::unique_ptr<Method> make_vit_classifier(const MethodConfig& config) {
    const auto C = static_cast<int64_t>(config.class_names.size());
    WSDOL_CHECK(C >= 1, "vit_classifier: the dataset has no classes");
    ViTConfig cfg;  // defaults: DeiT-S
    cfg.image_size = 224;
    cfg.patch_size = 16;
    cfg.embed_dim = 384;
    cfg.depth = 12;
    cfg.num_heads = 6;
    cfg.drop_path_rate = 0.1;
    read_vit_options(config, cfg, "vit_classifier");
    cfg.num_classes = C;
    auto method = std::make_unique<VitClassifier>(cfg, config.generator);
    if (!config.backbone_weights.empty() && !config.weights_from_checkpoint) {
        // Fine-tuning from a pretrained timm ViT: everything but the head (whose classes are not ours).
        const weights::WeightsFile file = weights::read_weights(config.backbone_weights);
        NamedTensors body;
        for (const auto& [name, t] : file.tensors)
            if (name.rfind("head.", 0) != 0) body.emplace_back(name, t);
        const weights::LoadResult r = weights::load_into(method->net(), body, weights::Architecture::timm_vit, false);
        bool head_only_missing = r.report.mismatched.empty() && !r.architecture_mismatch;
        for (const auto& name : r.report.missing) head_only_missing = head_only_missing && name.rfind("head.", 0) == 0;
        WSDOL_CHECK(head_only_missing, "vit_classifier: backbone weights ", config.backbone_weights,
                    " do not fit the ViT:\n", r.str());
    }
    return method;
}

WSDOL_METHOD(MethodInfo{"vit_classifier",
                        "timm ViT/DeiT image classifier (class token + head, MLSM): the demo's ImageNet-pretraining "
                        "stand-in, whose checkpoint is a --backbone for cam/mctformer/mmcst",
                        make_vit_classifier, {models::Need{"backbone", false, "pretrained ViT/DeiT weights (timm names); without it the network starts from random initialisation"}}});

}  // namespace wsdol::models
