// clip.h — OpenAI CLIP (openai/CLIP clip/model.py) with its original parameter names, so an OpenAI state_dict
// (or the TorchScript release, or open_clip's "openai" files) loads strictly (../shared/docs/formats.md §3.1, §3.3).
//
// Names (state_dict order, as PyTorch writes it: a module's own parameters, then its children):
//   positional_embedding (context, W_t), text_projection (W_t, E), logit_scale ()
//   visual.*             — ClipVisionTransformer: class_embedding (W), positional_embedding (g*g+1, W),
//                          proj (W, E), conv1.weight (W, 3, p, p) (no bias), ln_pre, transformer.resblocks.i.*, ln_post
//                        — or ModifiedResNet: conv1/bn1/conv2/bn2/conv3/bn3 (3-conv stem), layer1..4.b.*
//                          (ClipBottleneck: conv1/bn1/conv2/bn2/conv3/bn3, downsample.0/.1), attnpool.*
//   transformer.resblocks.i.{attn.in_proj_weight, attn.in_proj_bias, attn.out_proj.*, ln_1, mlp.c_fc, mlp.c_proj, ln_2}
//   token_embedding.weight (vocab, W_t), ln_final.{weight,bias}
//
// Semantics (clip/model.py): pre-norm residual blocks x += attn(ln_1(x)); x += mlp(ln_2(x)) with QuickGELU
// (x * sigmoid(1.702 x)); LayerNorm eps 1e-5; sequences are (L, N, D) inside the transformer as in the original.
// Text: token_embedding[ids] + positional_embedding, causal additive mask (-inf strictly above the diagonal),
// ln_final, the row at argmax(ids) (the first eot, the largest id) @ text_projection.
// Vision ViT: conv1 (stride = patch) -> tokens, prepend class_embedding, + positional_embedding, ln_pre, blocks
// (no mask), ln_post on the class token only, @ proj.
// ModifiedResNet: 3-conv stem + 2x2 avg-pool; Bottleneck with every conv stride 1, an AvgPool(stride) after conv2
// and before the downsample 1x1 conv (anti-aliasing); AttentionPool2d: the mean token prepended, positional
// embedding added, multi-head attention with the mean token as the only query, c_proj.
// Similarity: logits_per_image = exp(logit_scale) * normalize(img) @ normalize(txt)^T.
//
// The configuration can be read off a state_dict (clip_config_from_state_dict, as clip.py build_model does),
// except the number of heads, which shapes do not show: OpenAI uses a head width of 64 everywhere (ViT heads =
// W / 64, text heads = W_t / 64, attnpool heads = 32 * width / 64); the reduced test fixtures use 16.
#pragma once
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "engine/nn/attention.h"
#include "engine/nn/conv.h"
#include "engine/nn/embedding.h"
#include "engine/nn/linear.h"
#include "engine/nn/module.h"
#include "engine/nn/norm.h"
#include "engine/nn/sequential.h"

namespace wsdol::models {

struct ClipConfig {
    int64_t embed_dim = 512;  // the joint image-text space E
    // ---- vision
    bool vision_resnet = false;  // false: VisionTransformer; true: ModifiedResNet
    int64_t image_size = 224;
    int64_t vision_width = 768;  // ViT width W; ModifiedResNet base width (64 for RN50; features are 32 x this)
    int64_t vision_layers = 12;  // ViT blocks
    std::array<int64_t, 4> vision_resnet_layers{3, 4, 6, 3};  // ModifiedResNet blocks per stage
    int64_t vision_heads = 12;   // ViT: W / 64; ModifiedResNet attnpool: 32 * width / 64
    int64_t vision_patch_size = 16;
    // ---- text
    int64_t context_length = 77;
    int64_t vocab_size = 49408;
    int64_t text_width = 512;
    int64_t text_heads = 8;
    int64_t text_layers = 12;

    std::string str() const;  // "vision ViT 768x12 (12 heads, patch 16, image 224), text 512x12 (8 heads, ...), embed 512"
};

// The released configurations.
ClipConfig clip_vit_b16_config();
ClipConfig clip_vit_b32_config();
ClipConfig clip_rn50_config();

// The configuration of an OpenAI-named CLIP state_dict, from its names and shapes (clip.py build_model's rules);
// heads = width / head_width (OpenAI: 64). Throws naming the missing key when the dict is not OpenAI CLIP.
ClipConfig clip_config_from_state_dict(const NamedTensors& state_dict, int64_t head_width = 64);

// The causal additive mask of the text tower: (L, L), 0 on and below the diagonal, -inf above.
Tensor clip_causal_mask(int64_t length, DType dtype = DType::f32, Device device = Device::cpu());

// One pre-norm block: attn (nn.MultiheadAttention, (L, N, D)), ln_1, mlp (c_fc, QuickGELU, c_proj), ln_2.
class ResidualAttentionBlock : public nn::Module {
public:
    ResidualAttentionBlock(int64_t width, int64_t heads, Generator* gen = nullptr);
    // x: (L, N, D); mask: additive (L, L) or undefined -> (L, N, D). attn_probs (N, H, L, L) when given.
    Tensor forward(const Tensor& x, const Tensor& mask, Tensor* attn_probs = nullptr);
    Tensor forward(const Tensor& x) override { return forward(x, Tensor()); }

    std::shared_ptr<nn::MultiheadAttention> attn;
    std::shared_ptr<nn::LayerNorm> ln_1, ln_2;
    std::shared_ptr<nn::Sequential> mlp;  // children c_fc, gelu, c_proj
    std::shared_ptr<nn::Linear> c_fc, c_proj;
};

class ClipTransformer : public nn::Module {
public:
    ClipTransformer(int64_t width, int64_t layers, int64_t heads, Generator* gen = nullptr);
    // x: (L, N, D) -> (L, N, D); attn_probs gets one (N, H, L, L) per block when given.
    Tensor forward(const Tensor& x, const Tensor& mask, std::vector<Tensor>* attn_probs = nullptr);
    Tensor forward(const Tensor& x) override { return forward(x, Tensor()); }
    ResidualAttentionBlock& block(size_t i) const { return *resblocks->at<ResidualAttentionBlock>(i); }

    int64_t width, layers;
    std::shared_ptr<nn::ModuleList> resblocks;
};

struct ClipVisionOutput {
    Tensor tokens;                   // (B, 1 + g*g, W): the transformer's output, before ln_post
    Tensor features;                 // (B, E): ln_post(tokens[:, 0]) @ proj
    std::vector<Tensor> attn_probs;  // per block (B, H, T, T), when asked
};

class ClipVisionTransformer : public nn::Module {
public:
    // Init as clip/model.py: class_embedding, positional_embedding and proj N(0, 1) * W^-0.5; the blocks keep
    // PyTorch's module defaults (OpenAI re-initializes only the text transformer).
    ClipVisionTransformer(int64_t image_size, int64_t patch_size, int64_t width, int64_t layers, int64_t heads,
                          int64_t output_dim, Generator* gen = nullptr);
    // images: (B, 3, image_size, image_size)
    ClipVisionOutput forward_all(const Tensor& images, bool return_attention = false);
    Tensor forward(const Tensor& images) override { return forward_all(images).features; }  // (B, E)

    int64_t image_size, patch_size, width, output_dim;
    Tensor class_embedding;       // (W)
    Tensor positional_embedding;  // (g*g + 1, W)
    Tensor proj;                  // (W, E), used as x @ proj
    std::shared_ptr<nn::Conv2d> conv1;
    std::shared_ptr<nn::LayerNorm> ln_pre, ln_post;
    std::shared_ptr<ClipTransformer> transformer;
};

// ModifiedResNet's Bottleneck (expansion 4): every conv has stride 1; stride s > 1 is an AvgPool(s) after conv2
// and in front of the 1x1 downsample conv. A downsample exists when s > 1 or inplanes != 4 planes.
class ClipBottleneck : public nn::Module {
public:
    ClipBottleneck(int64_t inplanes, int64_t planes, int64_t stride, Generator* gen = nullptr);
    Tensor forward(const Tensor& x) override;  // x: (N, inplanes, H, W) -> (N, 4 planes, H / s, W / s)

    int64_t stride;
    std::shared_ptr<nn::Conv2d> conv1, conv2, conv3;
    std::shared_ptr<nn::BatchNorm2d> bn1, bn2, bn3;
    std::shared_ptr<nn::Sequential> downsample;  // "-1": AvgPool2d(s) (no parameters), "0": conv, "1": bn; or null
};

class AttentionPool2d : public nn::Module {
public:
    // positional_embedding N(0, 1) / sqrt(embed_dim); k/q/v/c projections registered in OpenAI's order (k, q, v, c).
    AttentionPool2d(int64_t spacial_dim, int64_t embed_dim, int64_t heads, int64_t output_dim,
                    Generator* gen = nullptr);
    // x: (N, C, H, W) with H * W = spacial_dim^2 -> (N, output_dim): the attention output of the mean token.
    Tensor forward(const Tensor& x) override;

    int64_t spacial_dim, embed_dim, heads, output_dim;
    Tensor positional_embedding;  // (spacial_dim^2 + 1, C)
    std::shared_ptr<nn::Linear> k_proj, q_proj, v_proj, c_proj;
};

class ModifiedResNet : public nn::Module {
public:
    ModifiedResNet(const std::array<int64_t, 4>& layers, int64_t output_dim, int64_t heads, int64_t input_resolution,
                   int64_t width, Generator* gen = nullptr);
    // images: (B, 3, R, R) -> layer4 features (B, 32 width, R / 32, R / 32)
    Tensor forward_features(const Tensor& images);
    Tensor forward(const Tensor& images) override;  // (B, E)

    int64_t input_resolution, width, output_dim;
    std::shared_ptr<nn::Conv2d> conv1, conv2, conv3;
    std::shared_ptr<nn::BatchNorm2d> bn1, bn2, bn3;
    std::array<std::shared_ptr<nn::Sequential>, 4> stages;  // layer1 .. layer4
    std::shared_ptr<AttentionPool2d> attnpool;
};

struct ClipTextOutput {
    Tensor tokens;                   // (B, L, W_t) after ln_final
    Tensor features;                 // (B, E): the eot row @ text_projection
    std::vector<Tensor> attn_probs;  // per block (B, H, L, L) (causal: zero above the diagonal), when asked
};

// Zero-shot classification as the CLIP README: logits = exp(logit_scale) * normalize(img) @ normalize(txt)^T
// (normalize: x / ||x||_2 over dim 1, no epsilon, as clip/model.py), probs = softmax over the texts (dim 1).
struct ClipZeroShot {
    Tensor logits;  // (B_img, K)
    Tensor probs;   // (B_img, K), rows sum to 1
};
// image_features: (B_img, E), text_features: (K, E), both unnormalized; logit_scale: () the log of the scale.
ClipZeroShot clip_zero_shot(const Tensor& image_features, const Tensor& text_features, const Tensor& logit_scale);

struct ClipOutput {
    Tensor logits_per_image;  // (B_img, B_txt) = exp(logit_scale) * normalized image @ normalized text^T
    Tensor logits_per_text;   // its transpose
    Tensor image_features;    // (B_img, E), before normalization
    Tensor text_features;     // (B_txt, E), before normalization
};

class Clip : public nn::Module {
public:
    // Init as clip/model.py initialize_parameters (token_embedding N(0, .02), positional_embedding N(0, .01), text
    // block weights with OpenAI's stds, text_projection N(0, W_t^-0.5), logit_scale ln(1 / 0.07), ModifiedResNet
    // attnpool N(0, C^-0.5) and zero bn3.weight in every block). Values differ from PyTorch's for a seed.
    explicit Clip(const ClipConfig& cfg, Generator* gen = nullptr);

    Tensor encode_image(const Tensor& images);  // (B, 3, R, R) -> (B, E)
    Tensor encode_text(const Tensor& text);     // ids (B, context_length), i64 or i32 -> (B, E)
    // The text tower with its per-block attention probabilities (nn.MultiheadAttention per head, not averaged).
    ClipTextOutput encode_text_all(const Tensor& text, bool return_attention = false);
    ClipOutput forward(const Tensor& images, const Tensor& text);
    // images (B, 3, R, R) against K prompts (K, context_length) -> logits and probabilities (B, K).
    ClipZeroShot zero_shot(const Tensor& images, const Tensor& text);

    ClipConfig cfg;
    nn::ModulePtr visual;                                 // one of the two below
    std::shared_ptr<ClipVisionTransformer> visual_vit;    // null for a ResNet tower
    std::shared_ptr<ModifiedResNet> visual_resnet;        // null for a ViT tower
    std::shared_ptr<ClipTransformer> transformer;
    std::shared_ptr<nn::Embedding> token_embedding;
    Tensor positional_embedding;  // (context_length, W_t)
    std::shared_ptr<nn::LayerNorm> ln_final;
    Tensor text_projection;       // (W_t, E)
    Tensor logit_scale;           // ()
};

}  // namespace wsdol::models
