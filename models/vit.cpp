// vit.cpp — the Vision Transformer forward (timm VisionTransformer.forward_features + forward_head, token pooling).
#include "models/vit.h"

#include <unistd.h>

#include <cmath>

#include "engine/nn/init.h"
#include "engine/ops/ops.h"

namespace wsdol::models {

int64_t check_vit_shape(const std::string& who, int64_t image_size, int64_t patch_size, int64_t embed_dim,
                        int64_t depth, int64_t num_heads, double mlp_ratio, double drop_path_rate) {
    WSDOL_CHECK(patch_size >= 1, who, ": option patch_size must be >= 1, got ", patch_size);
    WSDOL_CHECK(image_size >= patch_size && image_size % patch_size == 0, who, ": option image_size (", image_size,
                ") must be a positive multiple of patch_size (", patch_size, ")");
    WSDOL_CHECK(num_heads >= 1, who, ": option num_heads must be >= 1, got ", num_heads);
    WSDOL_CHECK(embed_dim >= 1 && embed_dim % num_heads == 0, who, ": option embed_dim (", embed_dim,
                ") must be a positive multiple of num_heads (", num_heads, ")");
    WSDOL_CHECK(depth >= 1, who, ": option depth must be >= 1, got ", depth);
    WSDOL_CHECK(mlp_ratio > 0 && mlp_ratio <= 64, who, ": option mlp_ratio must be in (0, 64], got ", mlp_ratio);
    WSDOL_CHECK(drop_path_rate >= 0 && drop_path_rate < 1, who, ": option drop_path_rate must be in [0, 1), got ",
                drop_path_rate);
    // Parameters per block: qkv 3D^2 + proj D^2 + MLP 2 r D^2, plus biases and norms (~(9 + 2r) D).
    const double D = double(embed_dim);
    const double per_block = (4.0 + 2.0 * mlp_ratio) * D * D + (9.0 + 2.0 * mlp_ratio) * D;
    const double tokens = double(image_size / patch_size) * double(image_size / patch_size);
    const double params = double(depth) * per_block + (tokens + 8) * D + 3.0 * double(patch_size * patch_size) * D;
    const double bytes = 16.0 * params;  // f32 weights, gradients, AdamW's two moments
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    const double memory = pages > 0 && page > 0 ? double(pages) * double(page) : 16e9;
    WSDOL_CHECK(bytes <= memory, who, ": depth ", depth, " x embed_dim ", embed_dim, " is about ",
                int64_t(params / 1e6), " M parameters, ", int64_t(bytes / 1e9), " GB to train (weights, gradients and "
                "AdamW state), more than this machine's ", int64_t(memory / 1e9), " GB of memory");
    return int64_t(params);
}

namespace {
// timm _init_weights for Linear layers: trunc_normal(std=.02) weights, zero bias.
void init_linear(nn::Linear& l, Generator* gen) {
    nn::trunc_normal_(l.weight, 0.0, 0.02, -2.0, 2.0, gen);
    if (l.bias.defined()) nn::zeros_(l.bias);
}

// A module that only groups a child under a name (timm's patch_embed wrapper around proj).
class PatchEmbed : public nn::Module {
public:
    PatchEmbed() : nn::Module("PatchEmbed") {}
};
}  // namespace

Tensor resize_pos_embed(const Tensor& pos_embed, int64_t prefix_tokens, int64_t grid_h, int64_t grid_w,
                        PosEmbedResize mode, bool square_input) {
    WSDOL_CHECK(pos_embed.defined() && pos_embed.dim() == 3 && pos_embed.size(0) == 1 && prefix_tokens >= 0 &&
                    pos_embed.size(1) > prefix_tokens,
                "resize_pos_embed: expected pos_embed (1, ", prefix_tokens, " + g*g, D), got ",
                pos_embed.defined() ? shape_str(pos_embed.shape()) : "undefined");
    WSDOL_CHECK(grid_h > 0 && grid_w > 0, "resize_pos_embed: the new grid must be positive, got ", grid_h, " x ", grid_w);
    const int64_t n0 = pos_embed.size(1) - prefix_tokens, D = pos_embed.size(2);
    const auto g0 = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(n0))));
    WSDOL_CHECK(g0 * g0 == n0, "resize_pos_embed: ", n0, " patch positions are not a square grid");
    // The early-outs of the references: timm returns pos_embed when the grid is unchanged; MCTformer only when
    // the token count matches AND the input is square (its `npatch == N and w == h`).
    if (mode == PosEmbedResize::mctformer ? (grid_h * grid_w == n0 && square_input) : (grid_h == g0 && grid_w == g0))
        return pos_embed;
    Tensor patch = pos_embed.narrow(1, prefix_tokens, n0).reshape({1, g0, g0, D}).permute({0, 3, 1, 2});  // (1, D, g0, g0)
    Tensor resized;
    if (mode == PosEmbedResize::mctformer) {
        // F.interpolate(scale_factor=(w0 / sqrt(N), h0 / sqrt(N))) with w0 = gh + 0.1, h0 = gw + 0.1, in double as
        // Python computes them; the output size is PyTorch's floor(g0 * factor), which the +0.1 makes (gh, gw).
        const double fh = (static_cast<double>(grid_h) + 0.1) / static_cast<double>(g0);
        const double fw = (static_cast<double>(grid_w) + 0.1) / static_cast<double>(g0);
        resized = interpolate(patch, 0, 0, InterpMode::bicubic, false, fh, fw);
        WSDOL_CHECK(resized.size(2) == grid_h && resized.size(3) == grid_w, "resize_pos_embed: MCTformer scale factor ",
                    fh, " x ", fw, " gave ", resized.size(2), " x ", resized.size(3), ", expected ", grid_h, " x ", grid_w);
    } else {
        resized = interpolate(patch, grid_h, grid_w,
                              mode == PosEmbedResize::bicubic ? InterpMode::bicubic : InterpMode::bilinear, false);
    }
    resized = resized.permute({0, 2, 3, 1}).reshape({1, grid_h * grid_w, D});  // row-major grid, as the tokens
    if (prefix_tokens == 0) return resized;
    return cat({pos_embed.narrow(1, 0, prefix_tokens), resized}, 1);
}

Mlp::Mlp(int64_t dim, int64_t hidden, Generator* gen) : nn::Module("Mlp") {
    fc1 = register_module("fc1", std::make_shared<nn::Linear>(dim, hidden, true, gen));
    fc2 = register_module("fc2", std::make_shared<nn::Linear>(hidden, dim, true, gen));
    init_linear(*fc1, gen);
    init_linear(*fc2, gen);
}

Tensor Mlp::forward(const Tensor& x) { return fc2->forward(gelu(fc1->forward(x))); }

Block::Block(const ViTConfig& cfg, double drop_path_p, Generator* gen) : nn::Module("Block") {
    norm1 = register_module("norm1", std::make_shared<nn::LayerNorm>(cfg.embed_dim, cfg.norm_eps));
    attn = register_module("attn", std::make_shared<nn::Attention>(cfg.embed_dim, cfg.num_heads, cfg.qkv_bias,
                                                                   cfg.attn_drop_rate, cfg.drop_rate, gen));
    init_linear(*attn->qkv, gen);
    init_linear(*attn->proj, gen);
    drop_path = register_module("drop_path", std::make_shared<nn::DropPath>(drop_path_p, gen));
    norm2 = register_module("norm2", std::make_shared<nn::LayerNorm>(cfg.embed_dim, cfg.norm_eps));
    mlp = register_module("mlp", std::make_shared<Mlp>(cfg.embed_dim, static_cast<int64_t>(cfg.embed_dim * cfg.mlp_ratio), gen));
}

Tensor Block::forward(const Tensor& x, const Tensor& mask, Tensor* attn_probs) {
    AttentionOutput a = attn->forward(norm1->forward(x), mask, attn_probs != nullptr);
    if (attn_probs) *attn_probs = a.probs;
    Tensor h = add(x, drop_path->forward(a.out));
    return add(h, drop_path->forward(mlp->forward(norm2->forward(h))));
}

VisionTransformer::VisionTransformer(const ViTConfig& c, Generator* gen) : nn::Module("VisionTransformer"), cfg(c) {
    WSDOL_CHECK(cfg.image_size % cfg.patch_size == 0, "VisionTransformer: image_size ", cfg.image_size,
                " is not a multiple of patch_size ", cfg.patch_size);
    WSDOL_CHECK(cfg.embed_dim % cfg.num_heads == 0, "VisionTransformer: embed_dim ", cfg.embed_dim,
                " is not divisible by num_heads ", cfg.num_heads);
    WSDOL_CHECK(!cfg.distilled || cfg.num_prefix_tokens == 1, "VisionTransformer: distilled needs num_prefix_tokens 1, got ",
                cfg.num_prefix_tokens);
    const int64_t grid = cfg.image_size / cfg.patch_size;
    const int64_t D = cfg.embed_dim;
    const int64_t prefix_tokens = cfg.num_prefix_tokens + (cfg.distilled ? 1 : 0);
    auto patch_embed = register_module("patch_embed", std::make_shared<PatchEmbed>());
    patch_proj = patch_embed->register_module(
        "proj", std::make_shared<nn::Conv2d>(cfg.in_chans, D, cfg.patch_size, cfg.patch_size, 0, 1, 1, true, gen));
    cls_token = register_parameter("cls_token", Tensor::zeros({1, cfg.num_prefix_tokens, D}));
    pos_embed = register_parameter("pos_embed", Tensor::zeros({1, prefix_tokens + grid * grid, D}));
    nn::trunc_normal_(cls_token, 0.0, 0.02, -2.0, 2.0, gen);
    nn::trunc_normal_(pos_embed, 0.0, 0.02, -2.0, 2.0, gen);
    if (cfg.distilled) {  // timm registers dist_token after cls_token and pos_embed
        dist_token = register_parameter("dist_token", Tensor::zeros({1, 1, D}));
        nn::trunc_normal_(dist_token, 0.0, 0.02, -2.0, 2.0, gen);
    }
    pos_drop = register_module("pos_drop", std::make_shared<nn::Dropout>(cfg.drop_rate, gen));
    blocks = register_module("blocks", std::make_shared<nn::ModuleList>());
    for (int64_t i = 0; i < cfg.depth; ++i) {
        // timm: dpr = linspace(0, drop_path_rate, depth)
        const double dp = cfg.depth > 1 ? cfg.drop_path_rate * static_cast<double>(i) / (cfg.depth - 1) : 0.0;
        blocks->push_back(std::make_shared<Block>(cfg, dp, gen));
    }
    if (cfg.final_norm) norm = register_module("norm", std::make_shared<nn::LayerNorm>(D, cfg.norm_eps));
    if (cfg.num_classes > 0) {
        head = register_module("head", std::make_shared<nn::Linear>(D, cfg.num_classes, true, gen));
        init_linear(*head, gen);
        if (cfg.distilled) {
            head_dist = register_module("head_dist", std::make_shared<nn::Linear>(D, cfg.num_classes, true, gen));
            init_linear(*head_dist, gen);
        }
    }
}

ViTOutput VisionTransformer::forward_all(const Tensor& images, bool return_attention, const Tensor& attn_mask) {
    WSDOL_CHECK(images.defined() && images.dim() == 4 && images.size(1) == cfg.in_chans &&
                    images.size(2) >= cfg.patch_size && images.size(3) >= cfg.patch_size,
                "VisionTransformer: expected images (B, ", cfg.in_chans, ", H, W) with H, W >= ", cfg.patch_size,
                ", got ", images.defined() ? shape_str(images.shape()) : "undefined");
    const int64_t B = images.size(0), D = cfg.embed_dim;
    Tensor x = patch_proj->forward(images);           // (B, D, gh, gw): floor(H / p) x floor(W / p)
    ViTOutput out;
    out.grid_h = x.size(2);
    out.grid_w = x.size(3);
    x = x.flatten(2).transpose(1, 2);                 // (B, N, D)
    Tensor prefix = cls_token.expand({B, cfg.num_prefix_tokens, D});
    if (cfg.distilled) prefix = cat({prefix, dist_token.expand({B, 1, D})}, 1);  // [cls, dist]
    x = cat({prefix, x}, 1);                          // (B, T, D)
    const Tensor pos = resize_pos_embed(pos_embed, num_prefix_tokens(), out.grid_h, out.grid_w, cfg.pos_embed_resize,
                                        images.size(2) == images.size(3));
    x = pos_drop->forward(add(x, pos));
    for (size_t i = 0; i < blocks->size(); ++i) {
        Tensor probs;
        x = blocks->at<Block>(i)->forward(x, attn_mask, return_attention ? &probs : nullptr);
        if (return_attention) out.attn_probs.push_back(probs);
    }
    out.block_tokens = x;
    out.tokens = norm ? norm->forward(x) : x;
    if (head && cfg.distilled) {
        // timm VisionTransformerDistilled.forward_head outside distillation training: the mean of both heads
        out.cls_logits = head->forward(out.tokens.select(1, 0));
        out.dist_logits = head_dist->forward(out.tokens.select(1, 1));
        out.logits = div(add(out.cls_logits, out.dist_logits), 2.0);
    } else if (head) {
        out.logits = head->forward(out.tokens.select(1, 0));
    }
    return out;
}

}  // namespace wsdol::models
