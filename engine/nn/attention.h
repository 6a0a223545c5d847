// attention.h — self-attention modules over the materialized attention op (engine/ops/attention.h), so each
// can hand back its per-head probabilities (B, H, Tq, Tk) with gradients flowing through them.
//   Attention          — timm's ViT/DeiT block attention: qkv Linear(D, 3D, bias = qkv_bias), proj Linear(D, D);
//                        x: (B, N, D).
//   MultiheadAttention — PyTorch's nn.MultiheadAttention names: in_proj_weight (3D, D), in_proj_bias (3D),
//                        out_proj.{weight, bias}; batch_first = false takes (T, B, D), as OpenAI CLIP does.
// Masks are additive (0 to keep, -inf to block), broadcastable to (B, H, Tq, Tk); a 2-D (Tq, Tk) mask applies
// to every sample and head (CLIP's causal text mask).
#pragma once
#include <memory>

#include "engine/nn/dropout.h"
#include "engine/nn/linear.h"
#include "engine/nn/module.h"
#include "engine/ops/attention.h"

namespace wsdol::nn {

class Attention : public Module {
public:
    // timm.models.vision_transformer.Attention: head_dim = dim / num_heads, scale = head_dim^-0.5.
    Attention(int64_t dim, int64_t num_heads = 8, bool qkv_bias = false, double attn_drop = 0.0,
              double proj_drop = 0.0, Generator* gen = nullptr, DType dtype = DType::f32);
    // x: (B, N, D) -> out (B, N, D); probs (B, H, N, N) when return_probs.
    AttentionOutput forward(const Tensor& x, const Tensor& mask, bool return_probs = false);
    Tensor forward(const Tensor& x) override { return forward(x, Tensor(), false).out; }
    std::string extra_repr() const override;

    int64_t dim, num_heads, head_dim;
    double scale;
    std::shared_ptr<Linear> qkv;
    std::shared_ptr<Dropout> attn_drop;
    std::shared_ptr<Linear> proj;
    std::shared_ptr<Dropout> proj_drop;
};

class MultiheadAttention : public Module {
public:
    // PyTorch's _reset_parameters: xavier_uniform_(in_proj_weight), in_proj_bias and out_proj.bias zero,
    // out_proj.weight keeps Linear's default init. dropout: on the attention probabilities, in training.
    MultiheadAttention(int64_t embed_dim, int64_t num_heads, double dropout = 0.0, bool bias = true,
                       bool batch_first = false, Generator* gen = nullptr, DType dtype = DType::f32);
    // query: (Tq, B, D), key/value: (Tk, B, D) ((B, T, D) when batch_first) -> out like query;
    // probs (B, H, Tq, Tk) per head when need_weights (PyTorch averages heads by default; take mean over dim 1).
    // mask: additive, broadcastable to (B, H, Tq, Tk); a 3-D (B * H, Tq, Tk) mask is read as (B, H, Tq, Tk).
    AttentionOutput forward(const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& mask,
                            bool need_weights = false);
    // Self-attention: one packed projection of x, as PyTorch's fast path for query is key is value.
    AttentionOutput forward(const Tensor& x, const Tensor& mask, bool need_weights = false);
    Tensor forward(const Tensor& x) override { return forward(x, Tensor(), false).out; }
    std::string extra_repr() const override;

    int64_t embed_dim, num_heads, head_dim;
    double dropout;
    bool batch_first;
    Generator* gen;
    Tensor in_proj_weight;  // (3D, D): rows [0, D) q, [D, 2D) k, [2D, 3D) v
    Tensor in_proj_bias;    // (3D) or undefined
    std::shared_ptr<Linear> out_proj;

private:
    // q: (B, H, Tq, hd), k, v: (B, H, Tk, hd) -> out (Tq, B, D) (or batch-first) and probs.
    AttentionOutput attend(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, bool need_weights);
};

}  // namespace wsdol::nn
