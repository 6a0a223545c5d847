// toco_method.cpp — ToCo / DIAL as models::Method (see toco_method.h): options, parameter groups, recipe, the
// runner's batch -> toco_step_losses, predict, and the registrations (including ToCo's released layout).
//
// Options (MethodConfig, `--set key=value`; every one listed by --dry-run with its resolved value):
//   ViT shape (read_vit_options): image_size 224, patch_size 16, embed_dim 768, depth 12, num_heads 12, drop_path_rate 0
//   aux_layer -3, decoder_dim 512, ctc_hidden 2048, ctc_bottleneck 256, ctc_out 1024 (the heads' widths),
//   momentum 0.9 (CTC teacher EMA), temp 0.5 (CTC), local_crop_size 96, ncrops 10,
//   high_thre 0.7, low_thre 0.25, bkg_thre 0.5, w_ptc 0.2, w_ctc 0.5, w_seg 0.1, w_reg 0.05, seg_start 2000,
//   ptc / ctc (switches, default true), energy_filter lattice|exact, cam_input_size 448, crf false
//   DIAL only: gia / lea (switches, default true), w_gia 1, w_lea 1, beta 0.5, lea_tau 1, lea_lambda 0.001,
//   lea_masked_mean false, joint_dim 512, prompt "a photo of {}.", background "background"
#include "models/toco_method.h"

#include <cmath>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"
#include "models/clip_checkpoint.h"
#include "models/mmcst_method.h"
#include "models/toco_infer.h"
#include "models/toco_labels.h"
#include "weights/weights_file.h"

namespace wsdol::models {

TocoMethod::TocoMethod(std::string name, const TocoConfig& cfg, const TocoStepOptions& step, Generator* gen,
                       Tensor text_fg, Tensor text_bg)
    : step_options(step), name_(std::move(name)), net_(std::make_shared<TocoNet>(cfg, gen)), gen_(gen),
      text_fg_(std::move(text_fg)), text_bg_(std::move(text_bg)) {
    WSDOL_CHECK(name_ == "toco" || name_ == "dial", "TocoMethod: unknown method '", name_, "' (toco | dial)");
}

std::vector<ParamGroupSpec> TocoMethod::param_groups() {
    const auto groups = net_->param_groups();
    std::map<const TensorImpl*, std::string> names;
    for (const auto& [n, p] : net_->named_parameters()) names[p.impl_ptr().get()] = n;
    const char* group_names[4] = {"backbone", "backbone_norm", "heads", "decoder"};
    const double lr_scale[4] = {1.0, 1.0, 10.0, 10.0};
    std::vector<ParamGroupSpec> out;
    for (size_t g = 0; g < 4; ++g) {
        ParamGroupSpec spec{group_names[g], {}, lr_scale[g], 1.0};
        for (const auto& p : groups[g]) spec.params.push_back(names.at(p.impl_ptr().get()));
        out.push_back(spec);
    }
    return out;
}

Recipe TocoMethod::recipe() const {
    Recipe r;
    r.optimizer = "adamw";
    r.lr = 6e-5;
    r.weight_decay = 0.01;
    r.schedule = "poly";  // PolyWarmupAdamW: 1,500 warm-up iterations from ratio 1e-6, power 0.9, per update
    r.schedule_step = "update";
    r.warmup_lr = 1e-6;
    r.min_lr = 0.0;
    r.batch_size = 4;
    // ToCo counts iterations (VOC 20,000 x batch 4 = 80,000 samples = 7.56 epochs of train_aug); the recipe counts
    // epochs: 8 (INFERRED rounding; the exact count needs a max_steps field in Recipe).
    r.epochs = 8;
    r.warmup_epochs = 1;  // INFERRED: 1,500 iterations = 0.57 epochs; the runner needs warmup_steps to be exact
    r.input_size = 448;
    r.augmentation = "toco";
    return r;
}

BatchSpec TocoMethod::batch_spec() const {
    BatchSpec s;
    s.labels = LabelKind::multi_label;
    s.extras = {"valid_box", "global_views", "crop_source"};
    // INFERRED: ToCo pads an image smaller than the training crop (VOC needs it), so that is no error; an image
    // smaller than one local crop cannot give a local crop of image content even unscaled, and is refused before
    // training.
    s.min_image_side = step_options.local_crop_size;
    s.min_image_side_reason = "one local crop, option local_crop_size";
    return s;
}

InferSpec TocoMethod::infer_spec() const {
    InferSpec s;
    s.resize_to_input = false;  // full resolution (infer_seg_voc.py); the CAMs resize to cam_input_size inside
    s.gt_labels = true;
    return s;
}

LossTerms TocoMethod::losses(const MethodBatch& batch, const StepContext& ctx) {
    TocoBatch b;
    b.images = batch.images;
    b.cls_labels = batch.labels;
    b.img_box = img_boxes_from_tensor(batch.extra("valid_box"));
    const Tensor& gv = batch.extra("global_views");
    WSDOL_CHECK(gv.dim() == 5 && gv.size(1) == 2, name_, ": global_views must be (B, 2, 3, s, s), got ",
                shape_str(gv.shape()));
    b.global_view = gv.select(1, 1);
    b.local_view = batch.extra("crop_source");
    b.text_fg = text_fg_;
    b.text_bg = text_bg_;
    // torch.randperm's role: a uniform random permutation from the method's generator (Fisher-Yates), so a
    // resumed run draws the same crops.
    Generator* g = gen_ ? gen_ : &default_generator();
    auto perm = [g](int64_t, int64_t n) {
        std::vector<int64_t> p(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) p[static_cast<size_t>(i)] = i;
        for (int64_t i = n - 1; i > 0; --i) std::swap(p[static_cast<size_t>(i)], p[static_cast<size_t>(g->randint(0, i + 1))]);
        return p;
    };
    TocoStepResult r = toco_step_losses(*net_, b, ctx.step, step_options, perm);
    LossTerms out;
    out.terms = r.terms;
    out.total = r.total;
    return out;
}

Prediction TocoMethod::predict(const Tensor& image, const std::vector<int>& labels) {
    WSDOL_CHECK(image.defined() && image.dim() == 3 && image.size(0) == 3, name_, ": predict expects (3, H, W), got ",
                image.defined() ? shape_str(image.shape()) : "undefined");
    NoGradGuard no_grad;
    nn::EvalModeGuard eval(*net_);
    const Tensor x = image.unsqueeze(0);
    const int64_t H = image.size(1), W = image.size(2), C = net_->cfg.num_classes - 1;
    Prediction p;
    Tensor probs = softmax(toco_segment_logits(*net_, x, seg_scales), 1).select(0, 0);  // (C + 1, H, W)
    if (crf) {
        // ToCo's CRF on the uint8 image (de-normalized as denormalize_img: truncation).
        Tensor rgb = mul(denormalize_to_unit(x), 255.0).select(0, 0).permute({1, 2, 0}).contiguous().to(DType::u8);
        probs = dense_crf(rgb, probs.contiguous(), crf_params);
    }
    p.segmentation = probs.contiguous();
    const Tensor x448 = interpolate(x, cam_input_size, cam_input_size, InterpMode::bilinear, false);
    p.scores = net_->forward_all(x448).cls_logits.select(0, 0).contiguous();
    auto [cams, aux] = toco_cam_maps(*net_, x, cam_input_size);
    Tensor maps = Tensor::zeros({C, H, W});
    for (int c : labels) {
        WSDOL_CHECK(c >= 0 && c < C, name_, ": label ", c, " out of range for ", C, " classes");
        maps.select(0, c).copy_(cams.select(0, 0).select(0, c));
    }
    p.maps = maps;
    return p;
}

namespace {

TocoStepOptions read_step_options(const MethodConfig& mc, bool dial) {
    TocoStepOptions o;
    o.temp = mc.get_double("temp", o.temp);
    o.local_crop_size = mc.get_int("local_crop_size", o.local_crop_size);
    o.ncrops = mc.get_int("ncrops", o.ncrops);
    o.thresholds.high = mc.get_double("high_thre", o.thresholds.high);
    o.thresholds.low = mc.get_double("low_thre", o.thresholds.low);
    o.thresholds.bkg = mc.get_double("bkg_thre", o.thresholds.bkg);
    o.w_ptc = mc.get_double("w_ptc", o.w_ptc);
    o.w_ctc = mc.get_double("w_ctc", o.w_ctc);
    o.w_seg = mc.get_double("w_seg", o.w_seg);
    o.w_reg = mc.get_double("w_reg", o.w_reg);
    o.seg_start = mc.get_int("seg_start", o.seg_start);
    o.use_ptc = mc.get_bool("ptc", true);
    o.use_ctc = mc.get_bool("ctc", true);  // DIAL: INFERRED default on (eq. 7 omits it; §3.8 open question)
    const std::string filter = mc.get("energy_filter", "lattice");
    WSDOL_CHECK(filter == "lattice" || filter == "exact", "option energy_filter: '", filter, "' (lattice | exact)");
    o.energy.filter = filter == "lattice" ? EnergyFilter::lattice : EnergyFilter::exact;
    WSDOL_CHECK(o.ncrops >= 3, "option ncrops: ", o.ncrops, " (2 global views + at least 1 local crop)");
    if (dial) {
        o.use_gia = mc.get_bool("gia", true);
        o.use_lea = mc.get_bool("lea", true);
        o.w_gia = mc.get_double("w_gia", o.w_gia);
        o.w_lea = mc.get_double("w_lea", o.w_lea);
        o.beta = mc.get_double("beta", o.beta);
        o.lea.tau = mc.get_double("lea_tau", o.lea.tau);
        o.lea.lambda = mc.get_double("lea_lambda", o.lea.lambda);
        o.lea.masked_mean = mc.get_bool("lea_masked_mean", o.lea.masked_mean);
    }
    return o;
}

// A timm ViT/DeiT checkpoint into the encoder (head.* unused; pos_embed resized to the encoder's grid).
void load_toco_backbone(TocoNet& net, const NamedTensors& timm_state, const std::string& file) {
    std::map<std::string, Tensor> state;
    for (const auto& [n, t] : timm_state) {
        if (n.rfind("head", 0) == 0 || n == "dist_token") continue;
        state[n] = t;
    }
    auto it = state.find("pos_embed");
    if (it != state.end() && it->second.size(1) != net.encoder->pos_embed.size(1)) {
        const int64_t g = net.encoder->grid_size();
        it->second = resize_pos_embed(it->second.to(DType::f32), 1, g, g, PosEmbedResize::bicubic);
    }
    const nn::LoadReport rep = net.encoder->load_state_dict(state, false);
    WSDOL_CHECK(rep.missing.empty() && rep.mismatched.empty(), file, ": not a ViT backbone for this encoder:\n",
                rep.str());
}

}  // namespace

std::unique_ptr<Method> make_toco_method(const std::string& method, const MethodConfig& mc) {
    WSDOL_CHECK(method == "toco" || method == "dial", "make_toco_method: unknown method '", method, "'");
    WSDOL_CHECK(!mc.class_names.empty(), method, ": no class names");
    const bool dial = method == "dial";
    TocoConfig cfg = toco_vit_b16(static_cast<int64_t>(mc.class_names.size()) + 1);
    read_vit_options(mc, cfg.vit, method);
    cfg.aux_layer = mc.get_int("aux_layer", cfg.aux_layer);
    // The heads' widths (ToCo's defaults; smaller for tests and reduced runs; a released layout sets them from
    // its shapes).
    cfg.decoder_dim = mc.get_int("decoder_dim", cfg.decoder_dim);
    cfg.ctc_hidden = mc.get_int("ctc_hidden", cfg.ctc_hidden);
    cfg.ctc_bottleneck = mc.get_int("ctc_bottleneck", cfg.ctc_bottleneck);
    cfg.ctc_out = mc.get_int("ctc_out", cfg.ctc_out);
    for (const auto& [key, value] : {std::pair<const char*, int64_t>{"decoder_dim", cfg.decoder_dim},
                                     {"ctc_hidden", cfg.ctc_hidden}, {"ctc_bottleneck", cfg.ctc_bottleneck},
                                     {"ctc_out", cfg.ctc_out}})
        WSDOL_CHECK(value >= 1 && value <= 65536, method, ": option ", key, " must be in 1..65536, got ", value);
    cfg.ema_momentum = mc.get_double("momentum", cfg.ema_momentum);
    cfg.dial = dial;
    Tensor text_fg, text_bg;
    std::shared_ptr<Clip> clip;
    if (dial) {
        cfg.joint_dim = mc.get_int("joint_dim", cfg.joint_dim);
        const std::string prompt = mc.get("prompt", "a photo of {}.");
        const std::string background = mc.get("background", "background");
        if (!mc.weights_from_checkpoint || !mc.clip_checkpoint.empty()) {
            WSDOL_CHECK(!mc.clip_checkpoint.empty(), method,
                        ": needs a CLIP checkpoint (its text tower embeds the class prompts and '",
                        mmcst_prompts({background}, prompt)[0], "')");
            clip = load_clip_checkpoint(mc.clip_checkpoint, 64, method).model;
            clip->requires_grad_(false);
            WSDOL_CHECK(!mc.clip_vocab.empty(), method, ": the CLIP needs its BPE vocabulary (clip_vocab)");
            auto tokenizer = tok::ClipTokenizer::from_file(mc.clip_vocab);
            // INFERRED: the CLIP's projected, L2-normalized text embeddings (clip_prompt_embeddings).
            text_fg = clip_prompt_embeddings(*clip, tokenizer, mc.class_names, prompt);
            text_bg = clip_prompt_embeddings(*clip, tokenizer, {background}, prompt);
            const int64_t width = mc.get_int("text_dim", text_fg.size(1));
            WSDOL_CHECK(width == text_fg.size(1), method, ": the CLIP '", mc.clip_checkpoint, "' embeds text in ",
                        text_fg.size(1), " dimensions, the text projection expects ", width, " (option text_dim)");
            cfg.text_dim = width;
        } else {
            cfg.text_dim = mc.get_int("text_dim", cfg.text_dim);
        }
    }
    TocoStepOptions step = read_step_options(mc, dial);
    auto m = std::make_unique<TocoMethod>(method, cfg, step, mc.generator, text_fg, text_bg);
    m->cam_input_size = mc.get_int("cam_input_size", m->cam_input_size);
    m->crf = mc.get_bool("crf", false);
    m->owned_clip = clip;
    if (!mc.backbone_weights.empty() && !mc.weights_from_checkpoint) {
        load_toco_backbone(m->net(), weights::read_weights(mc.backbone_weights).tensors, mc.backbone_weights);
        mc.say(method + ": encoder from " + mc.backbone_weights);
    }
    return m;
}

namespace {

// ToCo's released model_seg_neg checkpoint: the size from the shapes, then a strict load.
std::unique_ptr<Method> toco_from_release(const std::string& file, MethodConfig& mc) {
    const NamedTensors state = toco_release_state_dict(weights::read_weights(file).tensors);
    const TocoConfig c = toco_config_from_state_dict(state, file);
    mc.options["image_size"] = std::to_string(c.vit.image_size);
    mc.options["patch_size"] = std::to_string(c.vit.patch_size);
    mc.options["embed_dim"] = std::to_string(c.vit.embed_dim);
    mc.options["depth"] = std::to_string(c.vit.depth);
    mc.options["num_heads"] = std::to_string(c.vit.num_heads);
    mc.options["decoder_dim"] = std::to_string(c.decoder_dim);
    mc.options["ctc_hidden"] = std::to_string(c.ctc_hidden);
    mc.options["ctc_bottleneck"] = std::to_string(c.ctc_bottleneck);
    mc.options["ctc_out"] = std::to_string(c.ctc_out);
    if (c.dial) {
        mc.options["joint_dim"] = std::to_string(c.joint_dim);
        mc.options["text_dim"] = std::to_string(c.text_dim);
    }
    WSDOL_CHECK(static_cast<int64_t>(mc.class_names.size()) + 1 == c.num_classes, file, ": the checkpoint has ",
                c.num_classes - 1, " foreground classes, the dataset ", mc.class_names.size());
    mc.weights_from_checkpoint = true;
    auto m = make_toco_method(c.dial ? "dial" : "toco", mc);
    auto& net = static_cast<TocoMethod&>(*m).net();
    net.load_state_dict(state, true);  // strict: errors name every key
    return m;
}

}  // namespace

WSDOL_METHOD(MethodInfo{"toco", "ToCo (CVPR 2023): single-stage WSSS with token contrast, PAR and a segmentation head",
                        [](const MethodConfig& c) { return make_toco_method("toco", c); },
                        {Need{"backbone", false, "a timm ViT/DeiT checkpoint for the encoder (random init without)"}},
                        toco_from_release});
WSDOL_METHOD(MethodInfo{"dial", "DIAL / DALNet (ECCV 2024): ToCo + CLIP text alignment (GIA, LEA)",
                        [](const MethodConfig& c) { return make_toco_method("dial", c); },
                        {Need{"backbone", false, "a timm ViT/DeiT checkpoint for the encoder (random init without)"},
                         Need{"clip", true, "a CLIP checkpoint (its text tower embeds 'a photo of [CLS].' and "
                                            "'a photo of background.')"}},
                        {}});

}  // namespace wsdol::models
