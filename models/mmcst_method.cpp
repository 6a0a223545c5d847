// mmcst_method.cpp — MMCST / MCTformer as a models::Method: CLIP prompt embeddings, parameter groups, recipe,
// training losses, and the config's text options (see mmcst_method.h).
#include "models/mmcst_method.h"

#include <algorithm>
#include <sstream>
#include <utility>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"
#include <cmath>

#include "engine/core/parse.h"
#include "models/clip_checkpoint.h"
#include "models/mmcst_losses.h"
#include "weights/name_maps.h"
#include "weights/weights_file.h"

namespace wsdol::models {

std::vector<std::string> mmcst_prompts(const std::vector<std::string>& class_names,
                                       const std::string& prompt_template) {
    const size_t at = prompt_template.find("{}");
    WSDOL_CHECK(at != std::string::npos, "mmcst_prompts: the template '", prompt_template, "' has no {}");
    std::vector<std::string> prompts;
    for (const std::string& name : class_names)
        prompts.push_back(prompt_template.substr(0, at) + name + prompt_template.substr(at + 2));
    return prompts;
}

Tensor clip_prompt_embeddings(Clip& clip, tok::ClipTokenizer& tokenizer, const std::vector<std::string>& class_names,
                              const std::string& prompt_template) {
    WSDOL_CHECK(!class_names.empty(), "clip_prompt_embeddings: no class names");
    const auto context = static_cast<int>(clip.cfg.context_length);
    std::vector<double> ids;
    for (const std::string& prompt : mmcst_prompts(class_names, prompt_template)) {
        const std::vector<int32_t> row = tokenizer.encode_row(prompt, context, /*truncate=*/true, /*pad=*/true);
        ids.insert(ids.end(), row.begin(), row.end());
    }
    const auto C = static_cast<int64_t>(class_names.size());
    NoGradGuard no_grad;
    const Tensor tokens = Tensor::from_vector(ids, {C, context}, DType::i64);
    return normalize(clip.encode_text(tokens), 2.0, 1).detach();
}

MmcstClip make_mmcst_clip(Clip& clip, tok::ClipTokenizer& tokenizer, const std::vector<std::string>& class_names,
                          const std::string& prompt_template) {
    MmcstClip out;
    out.text_embeddings = clip_prompt_embeddings(clip, tokenizer, class_names, prompt_template);
    Clip* model = &clip;
    out.encode_image = [model](const Tensor& images) { return model->encode_image(images); };
    return out;
}

MmcstMethod::MmcstMethod(std::string name, const MmcstConfig& cfg, MmcstClip clip, Generator* gen)
    : name_(std::move(name)), net_(std::make_shared<MmcstNet>(cfg, gen)), clip_(std::move(clip)) {
    WSDOL_CHECK(name_ == "mmcst" || name_ == "mctformer", "MmcstMethod: unknown method '", name_,
                "' (mmcst | mctformer)");
    // Text embeddings only matter with text tokens (an MCTformer ignores them).
    if (clip_.text_embeddings.defined() && cfg.text_tokens) net_->set_text_embeddings(clip_.text_embeddings);
    // MCTformer-V1 has no patch branch: its maps are the attention alone.
    map_type = cfg.patch_branch == PatchBranch::none ? AttentionMapType::attention : AttentionMapType::fused;
}

std::vector<ParamGroupSpec> MmcstMethod::param_groups() {
    return timm_decay_groups(*net_);  // timm: no decay on 1-D parameters, pos_embed, cls_token
}

Recipe MmcstMethod::recipe() const {
    Recipe r;
    const MmcstConfig& c = net_->cfg;
    const bool mmcst = name_ == "mmcst";
    constexpr double kUnscaledLr = 5e-4, kScalingBatch = 512;
    r.optimizer = "adamw";
    r.batch_size = mmcst ? 32 : 64;
    r.lr = kUnscaledLr * static_cast<double>(r.batch_size) / kScalingBatch;  // DeiT linear scaling
    r.weight_decay = 0.05;
    r.epochs = 60;
    r.warmup_epochs = 5;
    r.warmup_lr = 1e-6;
    r.min_lr = 1e-5;
    r.schedule = "cosine";
    r.input_size = c.image_size;
    r.augmentation = "timm";
    // MCTformer main.py (§0.1): lr 5e-4 per 512 images (scaled when the batch size changes), the cosine schedule
    // stepped once per epoch with the reference's one-epoch lag (epochs 0 and 1 at the warm-up start).
    r.lr_batch = int64_t(kScalingBatch);
    r.schedule_step = "epoch";
    return r;
}

BatchSpec MmcstMethod::batch_spec() const {
    BatchSpec spec;
    if (clip_input_size > 0 && net_->cfg.contrast != ContrastTarget::none) spec.clip_input_size = clip_input_size;
    return spec;
}

Prediction MmcstMethod::predict(const Tensor& image, const std::vector<int>& labels) {
    Prediction p;
    p.maps = localize(image, labels);
    return p;
}

LossTerms MmcstMethod::losses(const MethodBatch& batch, const StepContext&) {
    WSDOL_CHECK(batch.images.defined() && batch.labels.defined(), "MmcstMethod::losses: the batch needs images and labels");
    const MmcstOutput out = net_->forward_all(batch.images);
    Tensor clip_embeddings;
    if (net_->cfg.contrast == ContrastTarget::clip_image) {
        WSDOL_CHECK(clip_.encode_image, "MmcstMethod::losses: the contrastive loss needs a CLIP image encoder "
                                        "(MmcstClip::encode_image)");
        WSDOL_CHECK(batch.clip_images.defined(), "MmcstMethod::losses: the contrastive loss needs batch.clip_images");
        NoGradGuard no_grad;  // the CLIP is frozen: its embeddings are constants of the loss
        clip_embeddings = clip_.encode_image(batch.clip_images).detach();
    }
    return mmcst_loss_terms(*net_, out, batch.labels, clip_embeddings);
}

// MCTformer's map generation (CODE engine.generate_attention_maps_ms with --scales 1.0 --layer-index 3
// --attention-type fused --patch-attn-refine; spec §2.1 "Localisation map generation", §2.2 "Inference") through
// models/attention_maps.h: image + flip, attention maps fused with ReLU(map) (V2: patch CAM, CODE; MMCST:
// C_t2p + C_c2p, ReLU INFERRED) or the attention alone (V1), patch-affinity refinement, bilinear to the image
// size, per-class min-max.
Tensor MmcstMethod::localize(const Tensor& image, const std::vector<int>& labels) {
    const MmcstConfig& c = net_->cfg;
    WSDOL_CHECK(image.defined() && image.dim() == 3 && image.size(0) == c.in_chans, "MmcstMethod::localize: expected an image (",
                c.in_chans, ", H, W), got ", image.defined() ? shape_str(image.shape()) : std::string("undefined"));
    const int64_t p = c.patch_size;
    WSDOL_CHECK(image.size(1) >= p && image.size(2) >= p, "MmcstMethod::localize: image ", image.size(1), "x",
                image.size(2), " is smaller than one patch (", p, ")");
    for (int label : labels)
        WSDOL_CHECK(label >= 0 && label < c.num_classes, "MmcstMethod::localize: label ", label, " out of range [0, ",
                    c.num_classes, ")");
    NoGradGuard no_grad;
    nn::EvalModeGuard eval_mode(*net_);
    AttentionMapOptions options;
    options.type = map_type;
    options.patch_refine = patch_refine;
    options.class_blocks = std::min<int64_t>(3, c.depth);  // the last 3 blocks (CODE), all of a shallower model
    auto forward = [&](const Tensor& images) {  // (N, 3, h, w) -> (N, C, h / p, w / p)
        // The patch conv drops the bottom/right remainder (MCTformer): crop it.
        const int64_t h = images.size(2) / p * p, w = images.size(3) / p * p;
        const MmcstOutput out = net_->forward_all(images.narrow(2, 0, h).narrow(3, 0, w), /*return_attention=*/true);
        return attention_class_maps(out.attn_probs, out.layout.attention_layout(), out.localization_map(), options);
    };
    return minmax_normalize_maps(multiscale_flip_maps(image, forward, labels, test_time), labels);
}

MmcstConfig mmcst_preset(const std::string& method) {
    if (method == "mmcst") return MmcstConfig::mmcst();
    if (method == "mctformer" || method == "mctformer_v2") return MmcstConfig::mctformer_v2();
    if (method == "mctformer_v1") return MmcstConfig::mctformer_v1();
    fail(str("mmcst_preset: unknown method '", method, "' (mmcst | mctformer | mctformer_v2 | mctformer_v1)"));
}

namespace {
template <typename E>
E parse_enum(const std::string& key, const std::string& value, std::initializer_list<std::pair<const char*, E>> options) {
    std::string names;
    for (const auto& [n, e] : options) {
        if (value == n) return e;
        names += (names.empty() ? "" : " | ") + std::string(n);
    }
    fail(str("MmcstConfig: ", key, " must be one of ", names, ", got '", value, "'"));
}

double parse_number(const std::string& key, const std::string& value) {
    return wsdol::parse_number(str("method option '", key, "'"), value);
}
int64_t parse_int(const std::string& key, const std::string& value) {
    return parse_integer(str("method option '", key, "'"), value);
}
bool parse_bool(const std::string& key, const std::string& value) {
    return parse_boolean(str("method option '", key, "'"), value);
}

const char* branch_name(PatchBranch b) {
    return b == PatchBranch::none ? "none" : b == PatchBranch::conv_cam ? "conv_cam" : "correlation";
}
const char* fusion_name(TokenFusion f) {
    return f == TokenFusion::global ? "global" : f == TokenFusion::local ? "local" : "global_local";
}
}  // namespace

void set_mmcst_option(MmcstConfig& c, const std::string& key, const std::string& value) {
    if (key == "image_size") c.image_size = parse_int(key, value);
    else if (key == "patch_size") c.patch_size = parse_int(key, value);
    else if (key == "embed_dim") c.embed_dim = parse_int(key, value);
    else if (key == "depth") c.depth = parse_int(key, value);
    else if (key == "num_heads") c.num_heads = parse_int(key, value);
    else if (key == "mlp_ratio") c.mlp_ratio = parse_number(key, value);
    else if (key == "num_classes") c.num_classes = parse_int(key, value);
    else if (key == "text_dim") c.text_dim = parse_int(key, value);
    else if (key == "image_embed_dim") c.image_embed_dim = parse_int(key, value);
    else if (key == "drop_path_rate") c.drop_path_rate = parse_number(key, value);
    else if (key == "text_tokens") c.text_tokens = parse_bool(key, value);
    else if (key == "patch_branch")
        c.patch_branch = parse_enum<PatchBranch>(key, value, {{"none", PatchBranch::none},
                                                              {"conv_cam", PatchBranch::conv_cam},
                                                              {"correlation", PatchBranch::correlation}});
    else if (key == "pooling")
        c.pooling = parse_enum<CorrPooling>(key, value, {{"gap", CorrPooling::gap}, {"gwrp", CorrPooling::gwrp}});
    else if (key == "gwrp_decay") c.gwrp_decay = parse_number(key, value);
    else if (key == "fusion")
        c.fusion = parse_enum<TokenFusion>(key, value, {{"global", TokenFusion::global},
                                                        {"local", TokenFusion::local},
                                                        {"global_local", TokenFusion::global_local}});
    else if (key == "contrast")
        c.contrast = parse_enum<ContrastTarget>(
            key, value, {{"none", ContrastTarget::none}, {"clip_image", ContrastTarget::clip_image}});
    else if (key == "temperature") c.temperature = parse_number(key, value);
    else if (key == "learnable_temperature") c.learnable_temperature = parse_bool(key, value);
    else fail(str("MmcstConfig: unknown option '", key, "'"));
}

std::string mmcst_config_str(const MmcstConfig& c) {
    std::ostringstream s;
    s << "image_size=" << c.image_size << " patch_size=" << c.patch_size << " embed_dim=" << c.embed_dim
      << " depth=" << c.depth << " num_heads=" << c.num_heads << " mlp_ratio=" << c.mlp_ratio
      << " num_classes=" << c.num_classes << " text_dim=" << c.text_dim << " image_embed_dim=" << c.image_embed_dim
      << " drop_path_rate=" << c.drop_path_rate << " text_tokens=" << (c.text_tokens ? "true" : "false")
      << " patch_branch=" << branch_name(c.patch_branch)
      << " pooling=" << (c.pooling == CorrPooling::gap ? "gap" : "gwrp") << " gwrp_decay=" << c.gwrp_decay
      << " fusion=" << fusion_name(c.fusion)
      << " contrast=" << (c.contrast == ContrastTarget::none ? "none" : "clip_image")
      << " temperature=" << c.temperature
      << " learnable_temperature=" << (c.learnable_temperature ? "true" : "false");
    return s.str();
}

std::unique_ptr<Method> make_mmcst_method(const std::string& method, const MethodConfig& mc) {
    WSDOL_CHECK(method == "mmcst" || method == "mctformer", "make_mmcst_method: unknown method '", method, "'");
    WSDOL_CHECK(!mc.class_names.empty(), method, ": no class names");
    MmcstConfig cfg = mmcst_preset(method == "mctformer" && mc.get_bool("v1", false) ? "mctformer_v1" : method);
    cfg.num_classes = static_cast<int64_t>(mc.class_names.size());

    // The CLIP (MMCST only): text embeddings of the prompts and the image encoder of the contrastive loss.
    std::shared_ptr<Clip> clip;
    std::shared_ptr<tok::ClipTokenizer> tokenizer;
    if (cfg.text_tokens && !mc.clip_checkpoint.empty()) {
        clip = load_clip_checkpoint(mc.clip_checkpoint, 64, method).model;  // errors name the file
        clip->requires_grad_(false);
        WSDOL_CHECK(!mc.clip_vocab.empty(), method, ": the CLIP needs its BPE vocabulary (clip_vocab)");
        tokenizer = std::make_shared<tok::ClipTokenizer>(tok::ClipTokenizer::from_file(mc.clip_vocab));
        cfg.text_dim = cfg.image_embed_dim = clip->cfg.embed_dim;
    }
    // Every config field as an option, defaulting to the preset (the registry lists them all as used).
    const std::string defaults = mmcst_config_str(cfg);
    size_t pos = 0;
    while (pos < defaults.size()) {
        size_t end = defaults.find(' ', pos);
        if (end == std::string::npos) end = defaults.size();
        const std::string item = defaults.substr(pos, end - pos);
        pos = end + 1;
        const size_t eq = item.find('=');
        const std::string key = item.substr(0, eq);
        if (key == "num_classes") continue;
        set_mmcst_option(cfg, key, mc.get(key, item.substr(eq + 1)));
    }
    check_vit_shape(method, cfg.image_size, cfg.patch_size, cfg.embed_dim, cfg.depth, cfg.num_heads, cfg.mlp_ratio,
                    cfg.drop_path_rate);
    // The prompt is read whenever a CLIP is loaded: the preset decides the loading, and an option may then turn the
    // text tokens off (the ablation rows), which must not leave an empty template behind.
    const std::string prompt = mc.get("prompt", "a photo of a {}.");
    WSDOL_CHECK(!cfg.text_tokens || clip || mc.weights_from_checkpoint, method,
                ": needs a CLIP (clip checkpoint and vocab) for its text tokens");
    if (clip) {
        WSDOL_CHECK(cfg.text_dim == clip->cfg.embed_dim && cfg.image_embed_dim == clip->cfg.embed_dim, method,
                    ": text_dim / image_embed_dim must be the CLIP's embedding width ", clip->cfg.embed_dim);
    }

    MmcstClip mmclip;
    if (clip) mmclip = make_mmcst_clip(*clip, *tokenizer, mc.class_names, prompt);
    auto m = std::make_unique<MmcstMethod>(method, cfg, mmclip, mc.generator);
    m->map_type = attention_map_type_from_name(mc.get("map_type", attention_map_type_name(m->map_type)));
    WSDOL_CHECK(m->map_type == AttentionMapType::attention || cfg.patch_branch != PatchBranch::none, method,
                ": map_type ", attention_map_type_name(m->map_type), " needs a patch branch (patch_branch is none)");
    m->patch_refine = mc.get_bool("patch_refine", true);
    m->owned_clip = clip;
    m->owned_tokenizer = tokenizer;
    if (clip) m->clip_input_size = clip->cfg.image_size;
    if (!mc.backbone_weights.empty() && !mc.weights_from_checkpoint)
        load_vit_backbone(m->net(), weights::read_weights(mc.backbone_weights).tensors);
    return m;
}

const Need kBackboneNeed{"backbone", false,
                        "pretrained ViT/DeiT weights (timm names, or a wsdol checkpoint such as the demo's "
                        "vit_classifier); without it the network starts from random initialisation"};

// MCTformer-V2's released checkpoints (xulianuwa/MCTformer 9606597 models.py MCTformerV2 on timm's
// VisionTransformer, saved by main.py as {"model": state_dict, ...}): the names are ours (cls_token (1, C, D),
// pos_embed (1, C + N, D), patch_embed.proj, blocks.<i>.*, head = Conv2d(D, C, 3)); the final `norm.*` is in the
// file but unused by MCTformer's forward, so it is skipped. Sizes from the shapes: D and C from cls_token, the
// patch from patch_embed.proj.weight, the training size from pos_embed (sqrt(N) patches a side), depth from the
// blocks, mlp_ratio from blocks.0.mlp.fc1; the head count is not in the shapes: D / 64 as every DeiT/ViT
// (DeiT-S 384 -> 6), unless --set num_heads=H says otherwise.
std::unique_ptr<Method> mctformer_from_release(const std::string& path, MethodConfig& mc) {
    const weights::WeightsFile file = weights::read_weights(path);
    std::map<std::string, Tensor> t(file.tensors.begin(), file.tensors.end());
    auto need = [&](const std::string& name, int64_t dims) -> const Tensor& {
        auto it = t.find(name);
        WSDOL_CHECK(it != t.end(), path, ": not an MCTformer-V2 checkpoint (no tensor '", name, "')");
        WSDOL_CHECK(it->second.dim() == dims, path, ": tensor '", name, "' has shape ", shape_str(it->second.shape()),
                    ", expected ", dims, " dimensions");
        return it->second;
    };
    const Tensor& cls = need("cls_token", 3);
    const Tensor& pos = need("pos_embed", 3);
    const Tensor& proj = need("patch_embed.proj.weight", 4);
    const Tensor& fc1 = need("blocks.0.mlp.fc1.weight", 2);
    need("head.weight", 4);
    const int64_t C = cls.size(1), D = cls.size(2), p = proj.size(2);
    const int64_t N = pos.size(1) - C, side = int64_t(std::llround(std::sqrt(double(std::max<int64_t>(N, 0)))));
    WSDOL_CHECK(N > 0 && side * side == N, path, ": pos_embed ", shape_str(pos.shape()), " does not hold C = ", C,
                " class positions and a square patch grid");
    int64_t depth = 0;
    while (t.count("blocks." + std::to_string(depth) + ".attn.qkv.weight")) ++depth;
    WSDOL_CHECK(int64_t(mc.class_names.size()) == C, path, ": the checkpoint has ", C, " classes, the dataset ",
                mc.class_names.size());
    auto set_default = [&](const std::string& key, const std::string& value) { mc.options.emplace(key, value); };
    set_default("embed_dim", std::to_string(D));
    set_default("depth", std::to_string(depth));
    set_default("num_heads", std::to_string(std::max<int64_t>(1, D / 64)));
    set_default("patch_size", std::to_string(p));
    set_default("image_size", std::to_string(side * p));
    set_default("mlp_ratio", number_text(double(fc1.size(0)) / double(D)));
    mc.weights_from_checkpoint = true;
    std::unique_ptr<Method> method = make_mmcst_method("mctformer", mc);
    NamedTensors state;
    for (const auto& [name, tensor] : file.tensors)
        if (name.rfind("norm.", 0) != 0) state.emplace_back(name, tensor);
    const nn::LoadReport r = method->network().load_state_dict(state, false);
    WSDOL_CHECK(r.missing.empty() && r.unexpected.empty() && r.mismatched.empty(), path,
                ": does not fit MCTformer-V2 (C ", C, ", D ", D, ", depth ", depth, "):\n", r.str());
    return method;
}

WSDOL_METHOD(MethodInfo{"mmcst", "MMCST (CVPR 2023): multi-modal class-specific tokens (needs a CLIP)",
                        [](const MethodConfig& c) { return make_mmcst_method("mmcst", c); },
                        {kBackboneNeed,
                         Need{"clip", false, "a CLIP checkpoint and its vocabulary: its text tower embeds the class "
                                             "prompts, its image tower is the contrastive target"}}});
WSDOL_METHOD(MethodInfo{"mctformer", "MCTformer-V2 (CVPR 2022) multi-class token transformer (option v1=true: V1)",
                        [](const MethodConfig& c) { return make_mmcst_method("mctformer", c); },
                        {kBackboneNeed}, mctformer_from_release});

}  // namespace wsdol::models
