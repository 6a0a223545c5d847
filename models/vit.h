// vit.h — Vision Transformer with timm's VisionTransformer semantics and parameter names.
//
// Names (timm): patch_embed.proj.{weight,bias}, cls_token (1, T_prefix, D), pos_embed (1, T_prefix + N, D),
// blocks.{i}.norm1, blocks.{i}.attn.qkv, blocks.{i}.attn.proj, blocks.{i}.norm2, blocks.{i}.mlp.fc1,
// blocks.{i}.mlp.fc2, norm, head. Pre-norm blocks: x = x + drop_path(attn(norm1(x))); x = x + drop_path(mlp(norm2(x))).
// `num_prefix_tokens` > 1 gives MCTformer's C class tokens (all stored in cls_token).
// `distilled` gives timm's VisionTransformerDistilled (DeiT distilled): an extra dist_token (1, 1, D) after the class
// token (token order [cls, dist, patches], pos_embed (1, 2 + N, D)) and head_dist; the output is
// (head(x[:, 0]) + head_dist(x[:, 1])) / 2, timm's inference (and non-distillation-training) output.
//
// Other input sizes (H, W, square or not): the patch grid is floor(H / p) x floor(W / p) (the patch conv drops
// the remainder) and the patch part of pos_embed is resized to that grid per forward (resize_pos_embed; the
// prefix-token positions are kept), differentiably, so pos_embed gets its gradient through the resize.
// `final_norm = false` (MCTformer/MMCST, methods.md §2.1) leaves out the final LayerNorm: the outputs are the
// last block's tokens, and `norm` is not registered (so a timm checkpoint's norm.* keys are unused keys).
#pragma once
#include <memory>
#include <vector>

#include "engine/nn/attention.h"
#include "engine/nn/conv.h"
#include "engine/nn/dropout.h"
#include "engine/nn/linear.h"
#include "engine/nn/module.h"
#include "engine/nn/norm.h"

namespace wsdol::models {

// How pos_embed's patch grid (g0 x g0) is resized to another grid (gh x gw) (formats.md §3.8).
enum class PosEmbedResize {
    bicubic,    // timm resample_abs_pos_embed(new_size=(gh, gw), 'bicubic', antialias=False): exact output size,
                // source coordinates from the sizes (g0 / gh), align_corners False, cubic a = -0.75
    bilinear,   // the same with 'bilinear' (CLIP-ES-style WSSS code)
    mctformer,  // MCTformer/DINO interpolate_pos_encoding: F.interpolate(scale_factor=((gh + 0.1) / g0,
                // (gw + 0.1) / g0), 'bicubic'): output floor(g0 * factor) = (gh, gw), but source coordinates
                // mapped with 1 / factor (PyTorch with recompute_scale_factor None), not g0 / gh; skipped only
                // when gh * gw == g0 * g0 and H == W (so 224 x 230 is resampled although the grid is 14 x 14)
};

struct ViTConfig {
    int64_t image_size = 224;
    int64_t patch_size = 16;
    int64_t in_chans = 3;
    int64_t embed_dim = 768;
    int64_t depth = 12;
    int64_t num_heads = 12;
    double mlp_ratio = 4.0;
    bool qkv_bias = true;
    int64_t num_classes = 1000;  // 0: no head
    int64_t num_prefix_tokens = 1;
    double drop_rate = 0.0;       // after pos_embed and before the head
    double attn_drop_rate = 0.0;
    double drop_path_rate = 0.0;  // stochastic depth, linear over blocks (timm)
    double norm_eps = 1e-6;       // timm ViTs use LayerNorm(eps=1e-6)
    bool distilled = false;       // DeiT distilled: dist_token + head_dist (needs num_prefix_tokens == 1)
    bool final_norm = true;       // false: no final LayerNorm (MCTformer/MMCST use the block outputs)
    PosEmbedResize pos_embed_resize = PosEmbedResize::bicubic;  // for inputs of another size than image_size
};

// Checks the shape options of a ViT before anything is allocated; errors name `who`, the option, its value and the
// allowed range: patch_size >= 1 divides image_size, embed_dim >= 1 is a multiple of num_heads >= 1, depth >= 1,
// mlp_ratio > 0, drop_path_rate in [0, 1), and the training memory (weights, gradients and two AdamW moments: 16
// bytes a parameter) within the machine's physical memory. Returns the parameter estimate.
int64_t check_vit_shape(const std::string& who, int64_t image_size, int64_t patch_size, int64_t embed_dim,
                        int64_t depth, int64_t num_heads, double mlp_ratio, double drop_path_rate);

// pos_embed: (1, prefix + g0*g0, D) -> (1, prefix + gh*gw, D): the prefix rows unchanged, the patch rows resized
// as `mode` says (input_h == input_w feeds MCTformer's skip rule). Differentiable.
Tensor resize_pos_embed(const Tensor& pos_embed, int64_t prefix_tokens, int64_t grid_h, int64_t grid_w,
                        PosEmbedResize mode, bool square_input = true);

class Mlp : public nn::Module {
public:
    Mlp(int64_t dim, int64_t hidden, Generator* gen);
    Tensor forward(const Tensor& x) override;  // x: (B, N, D) -> (B, N, D)
    std::shared_ptr<nn::Linear> fc1, fc2;
};

class Block : public nn::Module {
public:
    Block(const ViTConfig& cfg, double drop_path, Generator* gen);
    // x: (B, N, D) -> (B, N, D); mask: additive, broadcastable to (B, H, N, N), or undefined (nn::Attention);
    // probs (B, H, N, N) written when asked.
    Tensor forward(const Tensor& x, const Tensor& mask, Tensor* attn_probs);
    Tensor forward(const Tensor& x) override { return forward(x, Tensor(), nullptr); }
    std::shared_ptr<nn::LayerNorm> norm1, norm2;
    std::shared_ptr<nn::Attention> attn;
    std::shared_ptr<nn::DropPath> drop_path;
    std::shared_ptr<Mlp> mlp;
};

struct ViTOutput {
    Tensor tokens;                   // (B, T_prefix + N, D) after the final norm (= block_tokens without it)
    Tensor block_tokens;             // (B, T_prefix + N, D) the last block's output, before the final norm
    int64_t grid_h = 0, grid_w = 0;  // the patch grid: N = grid_h * grid_w, row-major
    Tensor logits;                   // (B, num_classes) from the first prefix token, when there is a head;
                                     // distilled: (cls_logits + dist_logits) / 2
    Tensor cls_logits, dist_logits;  // distilled only: head(x[:, 0]) and head_dist(x[:, 1])
    std::vector<Tensor> attn_probs;  // per block (B, H, T, T), when asked
};

class VisionTransformer : public nn::Module {
public:
    // Initialization as timm: trunc_normal(std .02) for pos_embed, cls_token and Linear weights, zero Linear
    // biases, LayerNorm ones/zeros, patch projection with Conv2d's default (PyTorch) init.
    VisionTransformer(const ViTConfig& cfg, Generator* gen = nullptr);
    // images: (B, C, H, W) with H, W >= patch_size (pos_embed resized when the grid is not image_size / p);
    // attn_mask: additive, broadcastable to (B, H, T, T) (T = prefix + N), given to every block, or undefined.
    ViTOutput forward_all(const Tensor& images, bool return_attention = false, const Tensor& attn_mask = Tensor());
    int64_t num_prefix_tokens() const { return cfg.num_prefix_tokens + (cfg.distilled ? 1 : 0); }
    int64_t grid_size() const { return cfg.image_size / cfg.patch_size; }  // pos_embed's grid g0
    Tensor forward(const Tensor& images) override { return forward_all(images).logits; }

    ViTConfig cfg;
    std::shared_ptr<nn::Conv2d> patch_proj;  // registered as patch_embed.proj
    Tensor cls_token, pos_embed;
    std::shared_ptr<nn::Dropout> pos_drop;
    std::shared_ptr<nn::ModuleList> blocks;
    std::shared_ptr<nn::LayerNorm> norm;  // null when !final_norm
    std::shared_ptr<nn::Linear> head;  // null when num_classes == 0
    Tensor dist_token;                      // (1, 1, D), distilled only
    std::shared_ptr<nn::Linear> head_dist;  // distilled with num_classes > 0 only
};

}  // namespace wsdol::models
