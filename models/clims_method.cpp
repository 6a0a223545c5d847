// clims_method.cpp — the CLIMS method (see clims_method.h).
#include "models/clims_method.h"

#include <sstream>

#include "engine/autograd/autograd.h"
#include "engine/core/error.h"
#include "engine/ops/ops.h"
#include "models/clims_setup.h"
#include "weights/weights_file.h"

namespace wsdol::models {

ClimsMethod::ClimsMethod(const ClimsConfig& cfg, Generator* gen) : net_(std::make_shared<ClimsNetwork>(cfg, gen)) {}

void ClimsMethod::set_evaluator(std::shared_ptr<Clip> clip, ClimsTextBank text) {
    WSDOL_CHECK(clip && text.class_text.defined() && text.class_text.size(0) == net_->cfg.num_classes,
                "clims: the evaluator needs a CLIP and one class prompt per class (", net_->cfg.num_classes, ")");
    freeze_clip(*clip);
    clip_ = std::move(clip);
    text_ = std::move(text);
}

std::vector<ParamGroupSpec> ClimsMethod::param_groups() {
    // train_clims.py: [backbone: lr, wd] + [newly_added (classifier): 10 lr, wd]; conv1 / bn1 are frozen
    ParamGroupSpec backbone{"backbone", {}, 1.0, 1.0}, head{"classifier", {}, 10.0, 1.0};
    for (const auto& [name, p] : net_->named_parameters()) {
        if (!p.requires_grad()) continue;
        (name.rfind("classifier.", 0) == 0 ? head : backbone).params.push_back(name);
    }
    return {backbone, head};
}

Recipe ClimsMethod::recipe() const {
    Recipe r;
    r.optimizer = "sgd";
    r.lr = 2.5e-4;          // --clims_learning_rate
    r.weight_decay = 1e-4;  // --cam_weight_decay
    r.momentum = 1e-4;      // PolyOptimizer quirk (§1.5): SGD's momentum receives the weight-decay value
    r.epochs = 15;          // --clims_num_epoches
    r.warmup_epochs = 0;
    r.warmup_lr = 0.0;
    r.min_lr = 0.0;
    r.schedule = "poly";    // lr0 (1 - t / max_step)^0.9, max_step = (N // 16) * 15 (drop_last)
    r.schedule_step = "update";
    r.batch_size = 16;      // --cam_batch_size
    r.input_size = 512;     // crop_size
    r.augmentation = "irn";
    return r;
}

BatchSpec ClimsMethod::batch_spec() const {
    BatchSpec s;
    s.labels = LabelKind::multi_label;
    return s;  // the CLIP sees the ImageNet-normalized crop times the mask, not a CLIP-normalized view
}

InferSpec ClimsMethod::infer_spec() const {
    InferSpec s;
    s.resize_to_input = false;  // make_clims: the full-resolution image at scales 1, 0.5, 1.5, 2
    s.gt_labels = true;
    return s;
}

LossTerms ClimsMethod::losses(const MethodBatch& batch, const StepContext&) {
    WSDOL_CHECK(clip_, "clims: training needs the frozen CLIP (clip checkpoint and vocab)");
    WSDOL_CHECK(batch.labels.defined() && batch.labels.dim() == 2 && batch.labels.size(1) == net_->cfg.num_classes,
                "clims: labels must be (B, ", net_->cfg.num_classes, "), got ",
                batch.labels.defined() ? shape_str(batch.labels.shape()) : std::string("none"));
    const ClimsStepOutput o = clims_step(*net_, *clip_, text_, batch.images, batch.labels, loss_options);
    LossTerms out;
    out.terms = {{"otm", o.losses.otm}, {"btm", o.losses.btm}, {"cbs", o.losses.cbs}, {"reg", o.losses.reg}};
    out.total = o.losses.total;
    return out;
}

ClimsStage2Maps ClimsMethod::stage2(const Tensor& image, const std::vector<int>& labels) {
    return clims_stage2_maps(*net_, image, labels, stage2_options);
}

Prediction ClimsMethod::predict(const Tensor& image, const std::vector<int>& labels) {
    const ClimsStage2Maps m = stage2(image, labels);
    Prediction p;
    const int64_t C = net_->cfg.num_classes, H = image.size(1), W = image.size(2);
    Tensor maps = Tensor::zeros({C, H, W});
    for (size_t j = 0; j < m.keys.size(); ++j) {
        NoGradGuard no_grad;
        maps.select(0, m.keys[j]).copy_(m.high_res.select(0, static_cast<int64_t>(j)));
    }
    p.maps = maps;
    return p;
}

namespace {
std::vector<double> parse_list(const std::string& text, const std::string& option) {
    std::vector<double> out;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) {
        try {
            size_t used = 0;
            out.push_back(std::stod(item, &used));
            WSDOL_CHECK(item.find_first_not_of(' ', used) == std::string::npos, "");
        } catch (...) {
            fail(str("clims: option ", option, "='", text, "' is not a comma-separated list of numbers"));
        }
    }
    return out;
}

ClimsConfig config_from(const MethodConfig& mc, int64_t num_classes) {
    ClimsConfig cfg = clims_config(num_classes);
    cfg.resnet.width = mc.get_int("width", cfg.resnet.width);
    return cfg;
}

void read_options(ClimsMethod& m, const MethodConfig& mc) {
    ClimsLossOptions& o = m.loss_options;
    o.variant = clims_variant_from_name(mc.get("variant", "improved"));
    const ClimsLossWeights d = clims_default_weights(o.variant);
    const std::vector<double> h =
        parse_list(mc.get("hyper", str(d.otm, ",", d.btm, ",", d.cbs, ",", d.reg)), "hyper");
    WSDOL_CHECK(h.size() == 4, "clims: option hyper needs 4 weights (OTM, BTM, CBS, REG), got ", h.size());
    o.weights = {h[0], h[1], h[2], h[3]};
    o.cbs_threshold = mc.get_double("cbs_threshold", 0.26);
    m.stage2_options.scales = parse_list(mc.get("scales", "1,0.5,1.5,2"), "scales");
    WSDOL_CHECK(!m.stage2_options.scales.empty(), "clims: option scales is empty");
}
}  // namespace

std::unique_ptr<Method> make_clims_from_config(const MethodConfig& mc) {
    const int64_t C = static_cast<int64_t>(mc.class_names.size());
    WSDOL_CHECK(C >= 1, "clims: the dataset has no classes");
    auto m = std::make_unique<ClimsMethod>(config_from(mc, C), mc.generator);
    read_options(*m, mc);
    const std::string backgrounds = mc.get("backgrounds", "auto");
    const int64_t head_width = mc.get_int("clip_head_width", 64);  // read always: inference stores it too
    if (!mc.weights_from_checkpoint) {
        WSDOL_CHECK(!mc.backbone_weights.empty(), "clims: needs the stage-0 CAM checkpoint as the backbone "
                    "(train it with `wsdol train --method cam --set backbone=resnet50`)");
        load_clims_stage0_file(m->net(), mc.backbone_weights);  // another network: error naming the file
        mc.say(str("clims: every weight and BN statistic from the stage-0 checkpoint ", mc.backbone_weights));
    }
    if (!mc.clip_checkpoint.empty()) {
        // another architecture: an error naming the file
        std::shared_ptr<Clip> clip = load_clims_clip(mc.clip_checkpoint, head_width);
        WSDOL_CHECK(!mc.clip_vocab.empty(), "clims: the CLIP needs its BPE vocabulary (clip_vocab)");
        tok::ClipTokenizer tokenizer = tok::ClipTokenizer::from_file(mc.clip_vocab);
        std::vector<std::string> class_prompts;
        for (const auto& n : clims_class_prompt_names(mc.class_names)) class_prompts.push_back(clims_class_prompt(n));
        std::vector<std::string> bg_prompts;
        if (m->loss_options.variant == ClimsVariant::camera_ready) {
            bg_prompts = clims_camera_ready_prompts(mc.class_names, m->loss_options);
        } else {
            bg_prompts = clims_background_prompts(backgrounds, mc.class_names);
        }
        m->set_evaluator(clip, clims_text_bank(*clip, tokenizer, class_prompts, bg_prompts));
    } else {
        WSDOL_CHECK(mc.weights_from_checkpoint, "clims: needs a CLIP checkpoint (clip) for training");
    }
    return m;
}

std::unique_ptr<Method> clims_from_release(const std::string& weights_file, MethodConfig& config) {
    const weights::WeightsFile file = weights::read_weights(weights_file);
    int64_t C = -1;
    for (const auto& [name, t] : file.tensors)
        if (name == "classifier.weight" || name == "model.classifier.weight") C = t.size(0);
    WSDOL_CHECK(C >= 1, "clims: ", weights_file, " has no classifier.weight: not an IRNet/CLIMS CAM checkpoint");
    WSDOL_CHECK(config.class_names.empty() || static_cast<int64_t>(config.class_names.size()) == C, "clims: ",
                weights_file, " has ", C, " classes, the dataset ", config.class_names.size());
    if (config.class_names.empty())
        for (int64_t k = 0; k < C; ++k) config.class_names.push_back(str("class", k));
    config.weights_from_checkpoint = true;
    auto m = std::make_unique<ClimsMethod>(config_from(config, C), config.generator);
    read_options(*m, config);
    load_clims_stage0_file(m->net(), weights_file);
    return m;
}

WSDOL_METHOD(MethodInfo{
    "clims", "CLIMS (CVPR 2022): ResNet-50 CAMs trained by a frozen CLIP (needs the stage-0 cam checkpoint and a CLIP)",
    make_clims_from_config,
    {Need{"backbone", true, "the stage-0 CAM checkpoint (method cam, backbone resnet50, or IRNet's res50_cam.pth)"},
     Need{"clip", true, "a CLIP checkpoint: the frozen evaluator of the fg/bg compositions"}},
    clims_from_release});

}  // namespace wsdol::models
