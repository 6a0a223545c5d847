// cdtr_method.cpp — the "cdtr" and "tscam" methods (WSOL, single label): CDTR (models/cdtr.h, its losses in
// models/cdtr_losses.h) and its baseline TS-CAM (models/tscam.h) behind the method seam (models/method.h).
//
// The step (losses), the evaluation protocols (predict) and the released layouts are plain functions of
// models/cdtr.h, cdtr_losses.h and tscam.h, tested against the official code; this file only wires them to the seam.
//
// Options (MethodConfig, `--set key=value`): the ViT shape (read_vit_options: image_size, patch_size, embed_dim,
// depth, num_heads, drop_path_rate; default DeiT-S 224/16), and
//   cdtr:  csm_base (8), ocm_blocks (-1 = depth - 3), area_p (0.25), alpha (2.4, SBA weight), ski (true),
//          sba (true), broadcast_mse (true: the code's broadcast; false: per image), prompt_quirk (true: the
//          prompt of batch position i names class i, as clip_util.to_text), awl (true; false: fixed weights 1),
//          loc_threshold (0.2), imagenet_fusion (false), clip_head_width (64: the CLIP's channels per head)
//   tscam: loc_threshold (0.1)
#include <algorithm>
#include <functional>
#include <memory>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"
#include "models/cdtr.h"
#include "models/frozen_clip.h"
#include "models/method.h"
#include "models/method_registry.h"
#include "models/tscam.h"
#include "tokenizer/clip_tokenizer.h"
#include "weights/name_maps.h"
#include "weights/weights_file.h"

namespace wsdol::models {
namespace {

ViTConfig deit_small_defaults() {
    ViTConfig v;
    v.image_size = 224;
    v.patch_size = 16;
    v.embed_dim = 384;
    v.depth = 12;
    v.num_heads = 6;
    v.drop_path_rate = 0.1;
    return v;
}

// The DeiT weights into the network, everything but the token head (TS-CAM / CDTR drop head.* and head_dist.*).
void load_deit_backbone(VisionTransformer& net, const std::string& path, const std::string& who) {
    const weights::WeightsFile file = weights::read_weights(path);
    NamedTensors body;
    for (const auto& [name, t] : file.tensors)
        if (name.rfind("head", 0) != 0 && name != "dist_token") body.emplace_back(name, t);
    const weights::LoadResult r = weights::load_into(net, body, weights::Architecture::timm_vit, false);
    WSDOL_CHECK(r.report.mismatched.empty() && !r.architecture_mismatch, who, ": backbone weights ", path,
                " do not fit the DeiT:\n", r.str());
}

Tensor class_ids_of(const MethodBatch& batch, int64_t C, const std::string& who) {
    WSDOL_CHECK(batch.class_ids.defined() && batch.class_ids.dim() == 1 && batch.class_ids.dtype() == DType::i64,
                who, ": needs single-label class ids (B) i64 in the batch");
    for (double v : batch.class_ids.to_vector())
        WSDOL_CHECK(v >= 0 && v < double(C), who, ": class id ", v, " is out of range for ", C, " classes");
    return batch.class_ids;
}

// (C, g, g) maps -> Prediction maps (C, H, W): per class min-max over the grid, bilinear to the image size.
Tensor prediction_maps(const Tensor& maps, int64_t H, int64_t W) {
    const Tensor mn = min(maps, {1, 2}, true), mx = max(maps, {1, 2}, true);
    const Tensor norm = div(sub(maps, mn), add(sub(mx, mn), 1e-12));
    return interpolate(norm.unsqueeze(0), H, W, InterpMode::bilinear, false).squeeze(0);
}

// A reference box [x, y, x + w, y + h] as a PredictedBox with inclusive corners: the references' IoU (no "+1")
// on the former equals wsolevaluation's ("+1") on [x, y, x + w - 1, y + h - 1].
PredictedBox to_predicted(const WsolPrediction& p) {
    PredictedBox out;
    out.class_id = p.box_class;
    out.x0 = double(p.box.x0), out.y0 = double(p.box.y0), out.x1 = double(p.box.x1 - 1), out.y1 = double(p.box.y1 - 1);
    out.score = p.scores.select(0, p.box_class).item();
    return out;
}

class TscamMethod : public Method {
public:
    TscamMethod(const ViTConfig& cfg, double threshold, Generator* gen)
        : net_(std::make_shared<Tscam>(cfg, gen)), threshold_(threshold) {}
    std::string name() const override { return "tscam"; }
    nn::Module& network() override { return *net_; }
    Tscam& net() { return *net_; }
    std::vector<ParamGroupSpec> param_groups() override { return timm_decay_groups(*net_); }
    Recipe recipe() const override {
        Recipe r;  // TS-CAM train_val_cub.sh + argparse defaults (methods.md §0.1)
        r.optimizer = "adamw";
        r.lr = 5e-5;
        r.weight_decay = 0.05;  // the argparse default; the config's WEIGHT_DECAY is never read
        r.epochs = 60;
        r.warmup_epochs = 0;
        // adjust_learning_rate_normal (lib/core/engine.py), called before each 1-based epoch e of 1..60: lr *= 0.1
        // when e % LR_STEPS[0] == 0 (30) — so before epochs 30 AND 60 (the last epoch runs at 0.01 lr, as coded).
        // In epochs done: milestones 29 and 59. A shorter run scales them (runner/trainer.h).
        r.schedule = "step";
        r.lr_steps = {29, 59};
        r.lr_step_factor = 0.1;
        r.batch_size = 128;
        r.input_size = net_->cfg.image_size;
        r.augmentation = "flip";  // Resize(256, 256) -> RandomCrop 224 -> flip: closest pipeline, INFERRED
        return r;
    }
    BatchSpec batch_spec() const override {
        BatchSpec s;
        s.labels = LabelKind::single_label;
        return s;
    }
    LossTerms losses(const MethodBatch& batch, const StepContext&) override {
        const Tensor ids = class_ids_of(batch, net_->num_classes, "tscam");
        const TscamOutput o = net_->forward_tscam(batch.images);
        const Tensor ce = Tscam::loss(o, ids);
        return LossTerms{{{"cls", ce}}, ce};
    }
    Prediction predict(const Tensor& image, const std::vector<int>& labels) override {
        // TS-CAM judges the GT class's box (GT-known); without labels, the top-1 class's
        Prediction p;
        for (int c : labels.empty() ? std::vector<int>{-1} : labels) {
            const WsolPrediction w = tscam_predict(*net_, image, c, threshold_);
            if (!p.scores.defined()) {
                p.scores = w.scores;
                p.maps = prediction_maps(w.maps, image.size(1), image.size(2));
            }
            p.boxes.push_back(to_predicted(w));
        }
        return p;
    }

private:
    std::shared_ptr<Tscam> net_;
    double threshold_;
};

struct CdtrOptions {
    CdtrLossOptions loss;
    double threshold = 0.2;
    bool sba = true;
};

class CdtrMethod : public Method {
public:
    CdtrMethod(const CdtrConfig& cfg, const CdtrOptions& o, std::shared_ptr<Clip> clip, Tensor prompt_features,
               Generator* gen)
        : net_(std::make_shared<Cdtr>(cfg, gen)), o_(o), clip_(std::move(clip)), prompts_(std::move(prompt_features)) {}
    std::string name() const override { return "cdtr"; }
    nn::Module& network() override { return *net_; }  // the frozen CLIP is not part of the checkpoint
    Cdtr& net() { return *net_; }
    std::vector<ParamGroupSpec> param_groups() override { return timm_decay_groups(*net_); }
    Recipe recipe() const override {
        Recipe r;  // CDTR scripts/train.sh + main.py defaults (methods.md §5.4), one process
        r.optimizer = "adamw";
        r.batch_size = 128;
        // The code: lr 5e-5 x (per-GPU batch 128 x 4 GPUs / 512) = 5e-5 for a global batch of 512. One process with
        // a batch of 128 takes the linearly scaled 5e-5 x 128 / 512 (INFERRED), and scales again with the batch.
        r.lr = 5e-5 * 128.0 / 512.0;
        r.lr_batch = 512;
        r.weight_decay = 0.05;
        r.epochs = 110;
        r.warmup_epochs = 5;
        r.warmup_lr = 1e-6;
        r.min_lr = 1e-5;
        r.schedule = "cosine";
        r.schedule_step = "epoch";  // timm scheduler stepped per epoch, one epoch late
        r.input_size = net_->cfg.image_size;
        r.augmentation = "timm";
        return r;
    }
    BatchSpec batch_spec() const override {
        BatchSpec s;
        s.labels = LabelKind::single_label;
        return s;
    }
    LossTerms losses(const MethodBatch& batch, const StepContext&) override {
        const Tensor ids = class_ids_of(batch, net_->cdtr_cfg.num_classes, "cdtr");
        std::function<Tensor(const Tensor&)> clip_image;
        WSDOL_CHECK(!o_.sba || clip_, "cdtr: SBA needs the CLIP to train (give --clip and --clip-vocab, also when "
                    "resuming), or --set sba=false");
        if (o_.sba) clip_image = [this](const Tensor& x) { return frozen_image_features(*clip_, x, "cdtr SBA"); };
        CdtrStepLosses s = cdtr_step_losses(*net_, batch.images, ids, o_.loss, clip_image,
                                            clip_ ? clip_->cfg.image_size : 0, prompts_);
        return LossTerms{std::move(s.terms), s.total};
    }
    Prediction predict(const Tensor& image, const std::vector<int>&) override {
        // CDTR's protocol: the top-1 predicted class's map gives the one box (also for GT-known)
        const WsolPrediction w = cdtr_predict(*net_, image, o_.threshold);
        Prediction p;
        p.scores = w.scores;
        p.maps = prediction_maps(w.maps, image.size(1), image.size(2));
        p.boxes.push_back(to_predicted(w));
        return p;
    }

private:
    std::shared_ptr<Cdtr> net_;
    CdtrOptions o_;
    std::shared_ptr<Clip> clip_;
    Tensor prompts_;  // (C, E) the frozen text tower's "a photo of {name}." features
};

std::unique_ptr<Method> make_tscam(const MethodConfig& mc) {
    const auto C = static_cast<int64_t>(mc.class_names.size());
    WSDOL_CHECK(C >= 1, "tscam: the dataset has no classes");
    ViTConfig cfg = deit_small_defaults();
    read_vit_options(mc, cfg, "tscam");
    cfg.num_classes = C;
    const double thr = mc.get_double("loc_threshold", 0.1);
    auto m = std::make_unique<TscamMethod>(cfg, thr, mc.generator);
    if (!mc.backbone_weights.empty() && !mc.weights_from_checkpoint) load_deit_backbone(m->net(), mc.backbone_weights, "tscam");
    return m;
}

std::unique_ptr<Method> make_cdtr(const MethodConfig& mc) {
    const auto C = static_cast<int64_t>(mc.class_names.size());
    WSDOL_CHECK(C >= 1, "cdtr: the dataset has no classes");
    CdtrConfig cfg;
    cfg.vit = deit_small_defaults();
    read_vit_options(mc, cfg.vit, "cdtr");
    cfg.num_classes = C;
    cfg.csm_base = mc.get_int("csm_base", 8);
    cfg.ocm_blocks = mc.get_int("ocm_blocks", -1);
    cfg.ski = mc.get_bool("ski", true);
    cfg.imagenet_fusion = mc.get_bool("imagenet_fusion", false);
    CdtrOptions o;
    o.loss.area_p = mc.get_double("area_p", 0.25);
    o.loss.alpha = mc.get_double("alpha", 2.4);
    o.loss.broadcast_mse = mc.get_bool("broadcast_mse", true);
    o.loss.prompt_quirk = mc.get_bool("prompt_quirk", true);
    o.loss.awl = mc.get_bool("awl", true);
    o.threshold = mc.get_double("loc_threshold", 0.2);
    o.sba = mc.get_bool("sba", true);
    const int64_t clip_head_width = mc.get_int("clip_head_width", 64);  // read always: a checkpoint stores it
    std::shared_ptr<Clip> clip;
    Tensor prompts;
    // Inference from a trained checkpoint needs no CLIP (SBA is a training loss): without --clip the method is
    // built without it, and a training step then refuses (losses() below) instead of silently dropping SBA.
    if (o.sba && !(mc.weights_from_checkpoint && mc.clip_checkpoint.empty())) {
        WSDOL_CHECK(!mc.clip_checkpoint.empty(), "cdtr: SBA needs a CLIP checkpoint (--clip; CDTR uses OpenAI "
                                                 "ViT-B/32), or --set sba=false");
        // Any CLIP wsdol reads, ViT or ModifiedResNet image tower (CDTR's code loads ViT-B/32; the frozen scorer
        // is the one CLIMS uses, models/frozen_clip.h); a file of another architecture is an error naming it.
        clip = load_frozen_clip(mc.clip_checkpoint, "cdtr", clip_head_width);
        WSDOL_CHECK(!mc.clip_vocab.empty(), "cdtr: the CLIP needs its BPE vocabulary (clip_vocab)");
        tok::ClipTokenizer tokenizer = tok::ClipTokenizer::from_file(mc.clip_vocab);
        std::vector<std::string> texts;
        for (const std::string& name : mc.class_names) texts.push_back(cdtr_class_prompt(name));
        prompts = frozen_prompt_features(*clip, tokenizer, texts);
    }
    auto m = std::make_unique<CdtrMethod>(cfg, o, clip, prompts, mc.generator);
    if (!mc.backbone_weights.empty() && !mc.weights_from_checkpoint) load_deit_backbone(m->net(), mc.backbone_weights, "cdtr");
    return m;
}

}  // namespace

// A released CDTR checkpoint (main.py saves {"model": state_dict, ...}): the network's size from the shapes, SBA off
// (inference needs no CLIP), the weights loaded strictly (errors name the file and the tensors).
std::unique_ptr<Method> cdtr_from_release(const std::string& file, MethodConfig& mc) {
    const weights::WeightsFile w = weights::read_weights(file);
    const CdtrConfig c = cdtr_config_from_state_dict(w.tensors, "cdtr (" + file + ")");
    mc.options["image_size"] = std::to_string(c.vit.image_size);
    mc.options["patch_size"] = std::to_string(c.vit.patch_size);
    mc.options["embed_dim"] = std::to_string(c.vit.embed_dim);
    mc.options["depth"] = std::to_string(c.vit.depth);
    mc.options["num_heads"] = std::to_string(c.vit.num_heads);
    mc.options["csm_base"] = std::to_string(c.csm_base);
    mc.options["ocm_blocks"] = std::to_string(c.ocm_blocks);
    mc.options["ski"] = c.ski ? "true" : "false";
    mc.options["sba"] = "false";
    WSDOL_CHECK(static_cast<int64_t>(mc.class_names.size()) == c.num_classes, "cdtr: ", file, " has ", c.num_classes,
                " classes (head.weight), the dataset ", mc.class_names.size());
    mc.weights_from_checkpoint = true;
    std::unique_ptr<Method> m = make_cdtr(mc);
    m->network().load_state_dict(w.tensors, true);
    return m;
}

// A released TS-CAM checkpoint ({"state_dict": ...}, "module." stripped by read_weights).
std::unique_ptr<Method> tscam_from_release(const std::string& file, MethodConfig& mc) {
    const weights::WeightsFile w = weights::read_weights(file);
    const ViTConfig v = tscam_config_from_state_dict(w.tensors, "tscam (" + file + ")");
    mc.options["image_size"] = std::to_string(v.image_size);
    mc.options["patch_size"] = std::to_string(v.patch_size);
    mc.options["embed_dim"] = std::to_string(v.embed_dim);
    mc.options["depth"] = std::to_string(v.depth);
    mc.options["num_heads"] = std::to_string(v.num_heads);
    WSDOL_CHECK(static_cast<int64_t>(mc.class_names.size()) == v.num_classes, "tscam: ", file, " has ", v.num_classes,
                " classes (head.weight), the dataset ", mc.class_names.size());
    mc.weights_from_checkpoint = true;
    std::unique_ptr<Method> m = make_tscam(mc);
    m->network().load_state_dict(w.tensors, true);
    return m;
}

MethodInfo tscam_info() {
    MethodInfo i;
    i.name = "tscam";
    i.summary = "TS-CAM (WSOL): DeiT-S with a conv head, semantic-aware maps = class-token attention x class maps; "
                "boxes of the GT class at threshold 0.1";
    i.make = make_tscam;
    i.needs = {{"backbone", false, "DeiT-S weights (deit_small_patch16_224); random init without"}};
    i.from_release = tscam_from_release;
    return i;
}

MethodInfo cdtr_info() {
    MethodInfo i;
    i.name = "cdtr";
    i.summary = "CDTR (WSOL): TS-CAM + CSM, OCM, SKI (deformable conv) and CLIP semantic boost, automatic loss "
                "weighting; the top-1 class's box at threshold 0.2";
    i.make = make_cdtr;
    i.needs = {{"backbone", false, "DeiT-S weights (deit_small_patch16_224); random init without"},
               {"clip", false, "a CLIP (ViT or ModifiedResNet image tower; CDTR: ViT-B/32) for SBA; required unless sba=false"}};
    i.from_release = cdtr_from_release;
    return i;
}

WSDOL_METHOD(tscam_info());
WSDOL_METHOD(cdtr_info());

}  // namespace wsdol::models
