// mmcst.cpp — the MMCST / MCTformer network forward (token assembly, masked blocks, class, patch-CAM and
// correlation branches) and the timm backbone loader. Pooling and losses live in mmcst_losses.cpp.
#include "models/mmcst.h"

#include <cmath>
#include <map>

#include "engine/autograd/autograd.h"
#include "engine/nn/init.h"
#include "engine/ops/ops.h"
#include "models/mmcst_losses.h"

namespace wsdol::models {

namespace {
// timm _init_weights for Linear layers: trunc_normal(std=.02) weights, zero bias.
void init_linear(nn::Linear& l, Generator* gen) {
    nn::trunc_normal_(l.weight, 0.0, 0.02, -2.0, 2.0, gen);
    if (l.bias.defined()) nn::zeros_(l.bias);
}

// Groups the patch projection under timm's name "patch_embed".
class PatchEmbedGroup : public nn::Module {
public:
    PatchEmbedGroup() : nn::Module("PatchEmbed") {}
};

// (B, N, C) scores per position -> (B, C, h, w) maps.
Tensor to_maps(const Tensor& per_position, int64_t gh, int64_t gw) {
    const int64_t B = per_position.size(0), C = per_position.size(2);
    return per_position.transpose(1, 2).reshape({B, C, gh, gw});
}
}  // namespace

MmcstConfig MmcstConfig::mmcst() { return MmcstConfig{}; }

MmcstConfig MmcstConfig::mctformer_v2() {
    MmcstConfig c;
    c.embed_dim = 384;
    c.num_heads = 6;
    c.text_tokens = false;
    c.patch_branch = PatchBranch::conv_cam;
    c.pooling = CorrPooling::gap;
    c.contrast = ContrastTarget::none;
    return c;
}

MmcstConfig MmcstConfig::mctformer_v1() {
    MmcstConfig c = mctformer_v2();
    c.patch_branch = PatchBranch::none;
    return c;
}

void MmcstConfig::validate() const {
    WSDOL_CHECK(patch_size > 0 && image_size > 0 && image_size % patch_size == 0, "MmcstConfig: image_size ",
                image_size, " must be a positive multiple of patch_size ", patch_size);
    WSDOL_CHECK(embed_dim > 0 && num_heads > 0 && embed_dim % num_heads == 0, "MmcstConfig: embed_dim ", embed_dim,
                " must be divisible by num_heads ", num_heads);
    WSDOL_CHECK(depth >= 1, "MmcstConfig: depth must be >= 1, got ", depth);
    WSDOL_CHECK(num_classes >= 1, "MmcstConfig: num_classes must be >= 1, got ", num_classes);
    WSDOL_CHECK(gwrp_decay > 0.0 && gwrp_decay <= 1.0, "MmcstConfig: gwrp_decay must be in (0, 1], got ",
                gwrp_decay);
    WSDOL_CHECK(temperature > 0.0, "MmcstConfig: temperature must be > 0, got ", temperature);
    WSDOL_CHECK(!text_tokens || text_dim > 0, "MmcstConfig: text_dim must be > 0 with text tokens, got ", text_dim);
    WSDOL_CHECK(contrast == ContrastTarget::none || text_tokens,
                "MmcstConfig: the contrastive loss (contrast = clip_image) needs text_tokens");
    WSDOL_CHECK(contrast == ContrastTarget::none || image_embed_dim > 0,
                "MmcstConfig: image_embed_dim must be > 0 with the contrastive loss, got ", image_embed_dim);
    WSDOL_CHECK(!text_tokens || patch_branch == PatchBranch::correlation,
                "MmcstConfig: text tokens are used through the correlation branch (patch_branch = correlation)");
}

Tensor MmcstOutput::localization_map() const {
    if (patch_cam.defined()) return patch_cam;
    if (c2p.defined()) return t2p.defined() ? add(c2p, t2p) : c2p;
    return Tensor();
}

MmcstNet::MmcstNet(const MmcstConfig& c, Generator* gen) : nn::Module("MmcstNet"), cfg(c) {
    cfg.validate();
    const int64_t D = cfg.embed_dim, C = cfg.num_classes, g0 = cfg.image_size / cfg.patch_size;
    auto patch_embed = register_module("patch_embed", std::make_shared<PatchEmbedGroup>());
    patch_embed_proj = patch_embed->register_module(
        "proj", std::make_shared<nn::Conv2d>(cfg.in_chans, D, cfg.patch_size, cfg.patch_size, 0, 1, 1, true, gen));
    cls_token = register_parameter("cls_token", Tensor::zeros({1, C, D}));
    pos_embed = register_parameter("pos_embed", Tensor::zeros({1, C + cfg.text_token_count() + g0 * g0, D}));
    nn::trunc_normal_(cls_token, 0.0, 0.02, -2.0, 2.0, gen);
    nn::trunc_normal_(pos_embed, 0.0, 0.02, -2.0, 2.0, gen);

    ViTConfig vit;  // the block hyper-parameters; models::Block reads only these fields
    vit.embed_dim = D;
    vit.num_heads = cfg.num_heads;
    vit.mlp_ratio = cfg.mlp_ratio;
    vit.qkv_bias = cfg.qkv_bias;
    vit.norm_eps = cfg.norm_eps;
    blocks = register_module("blocks", std::make_shared<nn::ModuleList>());
    for (int64_t i = 0; i < cfg.depth; ++i) {
        // timm: dpr = linspace(0, drop_path_rate, depth)
        const double dp = cfg.depth > 1 ? cfg.drop_path_rate * static_cast<double>(i) / (cfg.depth - 1) : 0.0;
        blocks->push_back(std::make_shared<Block>(vit, dp, gen));
    }

    if (cfg.text_tokens) {
        text_embed = register_buffer("text_embed", Tensor::zeros({C, cfg.text_dim}));
        text_proj = register_module("text_proj", std::make_shared<nn::Linear>(cfg.text_dim, D, true, gen));
        init_linear(*text_proj, gen);
    }
    if (cfg.patch_branch == PatchBranch::correlation) {
        patch_proj = register_module("patch_proj", std::make_shared<nn::Linear>(D, D, true, gen));
        init_linear(*patch_proj, gen);
        if (cfg.fusion == TokenFusion::global_local) {
            // λ1 (text), λ2 (class): initial value not in the paper; INFERRED 1.0 (input and output tokens weigh
            // the same at the start).
            if (cfg.text_tokens) lambda_txt = register_parameter("lambda_txt", Tensor::ones({1}));
            lambda_cls = register_parameter("lambda_cls", Tensor::ones({1}));
        }
    }
    if (cfg.contrast == ContrastTarget::clip_image) {
        contrast_proj =
            register_module("contrast_proj", std::make_shared<nn::Linear>(D, cfg.image_embed_dim, true, gen));
        init_linear(*contrast_proj, gen);
        if (cfg.learnable_temperature)
            logit_scale = register_parameter("logit_scale", Tensor::scalar(std::log(1.0 / cfg.temperature)));
    }
    if (cfg.patch_branch == PatchBranch::conv_cam) {
        // MCTformer-V2 head: Conv2d(D, C, 3, padding 1) with PyTorch's default init (CODE: head.apply(_init_weights)
        // touches only Linear/LayerNorm).
        head = register_module("head", std::make_shared<nn::Conv2d>(D, C, 3, 1, 1, 1, 1, true, gen));
    }
}

void MmcstNet::set_text_embeddings(const Tensor& embeddings) {
    WSDOL_CHECK(cfg.text_tokens, "MmcstNet::set_text_embeddings: this configuration has no text tokens");
    WSDOL_CHECK(embeddings.defined() && embeddings.shape() == text_embed.shape(),
                "MmcstNet::set_text_embeddings: expected (C, E) = ", shape_str(text_embed.shape()), ", got ",
                embeddings.defined() ? shape_str(embeddings.shape()) : std::string("undefined"));
    NoGradGuard no_grad;
    text_embed.copy_(embeddings.detach().to(text_embed.dtype()).to(text_embed.device()));
}

Tensor MmcstNet::attention_mask(int64_t num_patches) const {
    if (!cfg.text_tokens) return Tensor();
    // INFERRED (spec §2.2, paper Fig. 3): class and text tokens must not attend to each other; -inf where the
    // query is in one group and the key in the other, 0 elsewhere; the same for every head, block and image.
    const int64_t C = cfg.num_classes, T = 2 * C + num_patches;
    std::vector<double> m(static_cast<size_t>(T * T), 0.0);
    for (int64_t q = 0; q < 2 * C; ++q)
        for (int64_t k = 0; k < 2 * C; ++k)
            if ((q < C) != (k < C)) m[static_cast<size_t>(q * T + k)] = -INFINITY;
    return Tensor::from_vector(m, {T, T}, pos_embed.dtype(), pos_embed.device());
}

Tensor MmcstNet::pos_embed_for(int64_t grid_h, int64_t grid_w) const {
    // MCTformer's run-time rule (models/vit.h resize_pos_embed, PosEmbedResize::mctformer): bicubic with
    // scale_factor (g + 0.1) / g0, skipped when the grid is unchanged. The input is a multiple of the patch size
    // here, so "square input" is "square grid".
    return resize_pos_embed(pos_embed, cfg.num_classes + cfg.text_token_count(), grid_h, grid_w,
                            PosEmbedResize::mctformer, grid_h == grid_w);
}

Tensor MmcstNet::contrast_scale() const {
    WSDOL_CHECK(cfg.contrast != ContrastTarget::none, "MmcstNet::contrast_scale: the contrastive loss is off");
    // CLIP clamps its learnable logit scale at 100 (ln 100 on the log scale); INFERRED the same bound here.
    if (logit_scale.defined()) return exp(clamp(logit_scale, -INFINITY, std::log(100.0)));
    return Tensor::scalar(1.0 / cfg.temperature, pos_embed.dtype(), pos_embed.device());
}

MmcstOutput MmcstNet::forward_all(const Tensor& images, bool return_attention) {
    WSDOL_CHECK(images.defined() && images.dim() == 4 && images.size(1) == cfg.in_chans,
                "MmcstNet: expected images (B, ", cfg.in_chans, ", H, W), got ",
                images.defined() ? shape_str(images.shape()) : std::string("undefined"));
    const int64_t B = images.size(0), H = images.size(2), W = images.size(3), p = cfg.patch_size;
    WSDOL_CHECK(H % p == 0 && W % p == 0 && H > 0 && W > 0, "MmcstNet: image size ", H, "x", W,
                " is not a positive multiple of the patch size ", p, " (crop first)");
    const int64_t D = cfg.embed_dim, C = cfg.num_classes, Ct = cfg.text_token_count();
    const int64_t gh = H / p, gw = W / p, N = gh * gw;

    MmcstOutput out;
    out.layout = MmcstLayout{C, Ct, gh, gw};
    Tensor patches = patch_embed_proj->forward(images).flatten(2).transpose(1, 2);  // (B, N, D)
    std::vector<Tensor> groups{cls_token.expand({B, C, D})};
    Tensor text_in;  // (C, D) T_txt^in, before the positional embedding
    if (cfg.text_tokens) {
        text_in = text_proj->forward(text_embed);
        groups.push_back(text_in.unsqueeze(0).expand({B, C, D}));
    }
    groups.push_back(patches);
    Tensor x = add(cat(groups, 1), pos_embed_for(gh, gw));  // (B, T, D); pos_drop has rate 0 (MCTformer)
    out.attn_mask = attention_mask(N);
    for (size_t i = 0; i < blocks->size(); ++i) {
        Tensor probs;
        x = blocks->at<Block>(i)->forward(x, out.attn_mask, return_attention ? &probs : nullptr);
        if (return_attention) out.attn_probs.push_back(probs);
    }
    // No final norm (MCTformer CODE).
    out.cls_out = x.narrow(1, 0, C);
    if (cfg.text_tokens) out.text_out = x.narrow(1, C, C);
    out.patch_out = x.narrow(1, C + Ct, N);
    out.cls_logits = mean(out.cls_out, {-1});

    if (cfg.patch_branch == PatchBranch::conv_cam) {
        // MCTformer-V2: patch tokens as a (B, D, h, w) map (row-major grid) -> Conv3x3 -> CAM -> GAP.
        out.patch_cam = head->forward(out.patch_out.transpose(1, 2).reshape({B, D, gh, gw}));
        out.patch_logits = gap_pool(out.patch_cam);
    } else if (cfg.patch_branch == PatchBranch::correlation) {
        Tensor F = patch_proj->forward(out.patch_out);  // (B, N, D)
        // Tokens the maps correlate with. T^in is taken before the positional embedding (INFERRED, spec §2.2).
        auto fuse = [&](const Tensor& tokens_in, const Tensor& tokens_out, const Tensor& lambda) {
            switch (cfg.fusion) {
                case TokenFusion::global: return tokens_in;                          // (1, C, D)
                case TokenFusion::local: return tokens_out;                          // (B, C, D)
                case TokenFusion::global_local: return add(tokens_in, mul(lambda, tokens_out));
            }
            return tokens_in;
        };
        auto pool = [&](const Tensor& maps) {
            return cfg.pooling == CorrPooling::gwrp ? gwrp_pool(maps, cfg.gwrp_decay) : gap_pool(maps);
        };
        Tensor t_cls = fuse(cls_token, out.cls_out, lambda_cls);
        out.c2p = to_maps(matmul(F, t_cls.transpose(1, 2)), gh, gw);  // C_c2p = F T_cls^T
        out.c2p_logits = pool(out.c2p);
        if (cfg.text_tokens) {
            Tensor t_txt = fuse(text_in.unsqueeze(0), out.text_out, lambda_txt);
            out.t2p = to_maps(matmul(F, t_txt.transpose(1, 2)), gh, gw);  // C_t2p = F T_txt^T
            out.t2p_logits = pool(out.t2p);
        }
    }
    if (cfg.contrast == ContrastTarget::clip_image) {
        // t_b = mean over the C output text tokens (spec §2.2 step 7), projected to the CLIP image space.
        out.text_embedding = contrast_proj->forward(mean(out.text_out, {1}));
    }
    return out;
}

void load_vit_backbone(MmcstNet& net, const NamedTensors& timm_state) {
    std::map<std::string, Tensor> state(timm_state.begin(), timm_state.end());
    auto get = [&](const std::string& name) {
        auto it = state.find(name);
        WSDOL_CHECK(it != state.end(), "load_vit_backbone: the checkpoint has no '", name, "'");
        return it->second.to(DType::f32);
    };
    const int64_t C = net.cfg.num_classes, Ct = net.cfg.text_token_count(), D = net.cfg.embed_dim;
    const int64_t g0 = net.cfg.image_size / net.cfg.patch_size;
    NoGradGuard no_grad;
    auto copy_into = [&](Tensor dst, const Tensor& src, const std::string& name) {
        WSDOL_CHECK(dst.shape() == src.shape(), "load_vit_backbone: '", name, "' is ", shape_str(src.shape()),
                    " in the checkpoint, the model wants ", shape_str(dst.shape()));
        dst.copy_(src);
    };
    for (const auto& [name, t] : net.named_parameters()) {
        if (name.rfind("blocks.", 0) == 0 || name.rfind("patch_embed.", 0) == 0) copy_into(t, get(name), name);
    }
    // Class token: repeated C times (MCTformer main.py).
    const Tensor cls = get("cls_token");
    WSDOL_CHECK(cls.dim() == 3 && cls.size(0) == 1 && cls.size(2) == D, "load_vit_backbone: cls_token is ",
                shape_str(cls.shape()), ", expected (1, k, ", D, ")");
    copy_into(net.cls_token, cls.narrow(1, 0, 1).expand({1, C, D}), "cls_token");
    // Positional embedding: [class position x C | (INFERRED) class position x C for the text tokens | patches].
    const Tensor pos = get("pos_embed");
    WSDOL_CHECK(pos.dim() == 3 && pos.size(0) == 1 && pos.size(2) == D, "load_vit_backbone: pos_embed is ",
                shape_str(pos.shape()), ", expected (1, T, ", D, ")");
    // Prefix tokens: 1 (ViT/DeiT) or 2 (DeiT distilled): whichever leaves a square patch grid.
    int64_t prefix = -1, g = 0;
    for (int64_t k : {1, 2}) {
        const int64_t n = pos.size(1) - k;
        const auto r = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(std::max<int64_t>(n, 0)))));
        if (n > 0 && r * r == n) {
            prefix = k;
            g = r;
            break;
        }
    }
    WSDOL_CHECK(prefix > 0, "load_vit_backbone: pos_embed ", shape_str(pos.shape()),
                " is not 1 or 2 prefix tokens plus a square patch grid");
    Tensor patch = pos.narrow(1, prefix, g * g);
    if (g != g0) patch = resize_pos_embed(patch, 0, g0, g0, PosEmbedResize::bicubic);  // exact size, load time
    Tensor cls_pos = pos.narrow(1, 0, 1).expand({1, C + Ct, D});
    copy_into(net.pos_embed, cat({cls_pos.contiguous(), patch}, 1), "pos_embed");
}

}  // namespace wsdol::models
