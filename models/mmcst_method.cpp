// mmcst_method.cpp — MMCST / MCTformer as a models::Method: CLIP prompt embeddings, parameter groups, recipe,
// training losses, and the config's text options (see mmcst_method.h).
#include "models/mmcst_method.h"

#include <sstream>
#include <utility>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"
#include "models/mmcst_losses.h"

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
}

std::vector<ParamGroupSpec> MmcstMethod::param_groups() {
    ParamGroupSpec decay{"decay", {}, 1.0, 1.0}, no_decay{"no_decay", {}, 1.0, 0.0};
    for (const auto& [name, p] : net_->named_parameters()) {
        const bool skip = p.dim() <= 1 || name == "pos_embed" || name == "cls_token";
        (skip ? no_decay : decay).params.push_back(name);
    }
    return {decay, no_decay};
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
    r.extra["unscaled_lr"] = kUnscaledLr;
    r.extra["linear_scaling_batch"] = kScalingBatch;
    r.extra["drop_path_rate"] = c.drop_path_rate;
    if (c.patch_branch == PatchBranch::correlation && c.pooling == CorrPooling::gwrp)
        r.extra["gwrp_decay"] = c.gwrp_decay;
    if (c.contrast != ContrastTarget::none) r.extra["temperature"] = c.temperature;
    return r;
}

LossTerms MmcstMethod::losses(const MethodBatch& batch) {
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

// MCTformer's map generation (CODE engine.generate_attention_maps_ms with --scales 1.0 --attention-type fused
// --patch-attn-refine; spec §2.1 "Localisation map generation", §2.2 "Inference"), one scale, image + flip.
Tensor MmcstMethod::localize(const Tensor& image, const std::vector<int>& labels) {
    const MmcstConfig& c = net_->cfg;
    WSDOL_CHECK(image.defined() && image.dim() == 3 && image.size(0) == c.in_chans, "MmcstMethod::localize: expected an image (",
                c.in_chans, ", H, W), got ", image.defined() ? shape_str(image.shape()) : std::string("undefined"));
    const int64_t H = image.size(1), W = image.size(2), p = c.patch_size, C = c.num_classes;
    const int64_t gh = H / p, gw = W / p;
    WSDOL_CHECK(gh >= 1 && gw >= 1, "MmcstMethod::localize: image ", H, "x", W, " is smaller than one patch (", p, ")");
    for (int label : labels)
        WSDOL_CHECK(label >= 0 && label < C, "MmcstMethod::localize: label ", label, " out of range [0, ", C, ")");
    NoGradGuard no_grad;
    const bool was_training = net_->is_training();
    net_->eval();
    // The patch conv drops the bottom/right remainder (MCTformer): crop it, run the image and its mirror together.
    const Tensor crop = image.narrow(1, 0, gh * p).narrow(2, 0, gw * p);
    const MmcstOutput out = net_->forward_all(stack({crop, crop.flip({2})}, 0), /*return_attention=*/true);
    if (was_training) net_->train();
    const TokenLayout& L = out.layout;
    const int64_t N = L.num_patches(), depth = static_cast<int64_t>(out.attn_probs.size());
    // A_c2p: class rows, patch columns, head-averaged, summed over the last 3 blocks; A_p2p: patch rows and
    // columns summed over all blocks (MCTformer defaults; text-token attention is not used).
    Tensor a_c2p, a_p2p;
    for (int64_t l = 0; l < depth; ++l) {
        const Tensor a = mean(out.attn_probs[static_cast<size_t>(l)], {1});  // (2, T, T)
        const Tensor p2p = a.narrow(1, L.patch_begin(), N).narrow(2, L.patch_begin(), N);
        a_p2p = a_p2p.defined() ? add(a_p2p, p2p) : p2p;
        if (l >= depth - 3) {
            const Tensor c2p = a.narrow(1, L.class_begin(), C).narrow(2, L.patch_begin(), N);
            a_c2p = a_c2p.defined() ? add(a_c2p, c2p) : c2p;
        }
    }
    // Fused map: attention x ReLU(patch CAM) (V2, CODE) or x ReLU(C_t2p + C_c2p) (MMCST; ReLU INFERRED, spec
    // §2.2); V1 uses the attention alone.
    Tensor fused = a_c2p;  // (2, C, N)
    const Tensor map = out.localization_map();
    if (map.defined()) fused = mul(fused, relu(map.flatten(2)));
    // Refinement M_c(i) = sum_j A_p2p(i, j) fused_c(j), i.e. fused @ A_p2p^T.
    const Tensor refined = matmul(fused, a_p2p.transpose(1, 2)).reshape({2, C, gh, gw});
    const Tensor up = interpolate(refined, H, W, InterpMode::bilinear, /*align_corners=*/false);  // (2, C, H, W)
    const Tensor both = add(up.select(0, 0), up.select(0, 1).flip({2}));                      // (C, H, W)
    // Per GT class: (M - min) / (max - min + 1e-8) (CODE); other classes 0.
    Tensor result = Tensor::zeros({C, H, W});
    for (int label : labels) {
        const Tensor m = both.select(0, label);
        const Tensor lo = min(m), hi = max(m);
        result.select(0, label).copy_(div(sub(m, lo), add(sub(hi, lo), 1e-8)));
    }
    return result;
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
    size_t used = 0;
    double v = 0;
    try {
        v = std::stod(value, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    WSDOL_CHECK(used == value.size() && !value.empty(), "MmcstConfig: ", key, " must be a number, got '", value, "'");
    return v;
}

int64_t parse_int(const std::string& key, const std::string& value) {
    const double v = parse_number(key, value);
    WSDOL_CHECK(v == static_cast<double>(static_cast<int64_t>(v)), "MmcstConfig: ", key, " must be an integer, got '",
                value, "'");
    return static_cast<int64_t>(v);
}

bool parse_bool(const std::string& key, const std::string& value) {
    if (value == "true" || value == "1") return true;
    if (value == "false" || value == "0") return false;
    fail(str("MmcstConfig: ", key, " must be true or false, got '", value, "'"));
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

}  // namespace wsdol::models
