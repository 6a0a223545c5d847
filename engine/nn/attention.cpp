// attention.cpp — timm Attention and PyTorch MultiheadAttention over the attention op.
#include "engine/nn/attention.h"

#include <cmath>

#include "engine/nn/init.h"
#include "engine/ops/ops.h"

namespace wsdol::nn {

namespace {

// Attention-probability dropout needs P itself, so the op's own P @ v is replaced by dropout(P) @ v. Only taken
// in training with p > 0 (ViT/CLIP fine-tuning recipes use p = 0, which keeps the single-node path).
AttentionOutput attend_with_dropout(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                                    std::optional<double> scale, double p, bool training, Generator* gen,
                                    bool return_probs) {
    if (!training || p == 0.0) return attention(q, k, v, mask, scale, return_probs);
    AttentionOutput r = attention(q, k, v, mask, scale, true);
    r.out = matmul(dropout(r.probs, p, true, gen), v);
    if (!return_probs) r.probs = Tensor();
    return r;
}

// A 3-D (B * H, Tq, Tk) mask as PyTorch's MultiheadAttention takes it, read as (B, H, Tq, Tk).
Tensor heads_mask(const Tensor& mask, int64_t B, int64_t H, const char* who) {
    if (!mask.defined() || mask.dim() != 3) return mask;
    WSDOL_CHECK(mask.size(0) == B * H || mask.size(0) == 1, who, ": a 3-D mask must be (B * num_heads, Tq, Tk) = (",
                B * H, ", Tq, Tk), got ", shape_str(mask.shape()));
    if (mask.size(0) == 1) return mask;
    return mask.reshape({B, H, mask.size(1), mask.size(2)});
}

}  // namespace

// ---------------------------------------------------------------- timm Attention

Attention::Attention(int64_t dim_, int64_t heads, bool qkv_bias, double attn_p, double proj_p, Generator* gen,
                     DType dtype)
    : Module("Attention"), dim(dim_), num_heads(heads) {
    WSDOL_CHECK(heads > 0 && dim_ % heads == 0, "Attention: dim ", dim_, " must be divisible by num_heads ", heads);
    head_dim = dim / num_heads;
    scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
    qkv = register_module("qkv", std::make_shared<Linear>(dim, 3 * dim, qkv_bias, gen, dtype));
    attn_drop = register_module("attn_drop", std::make_shared<Dropout>(attn_p, gen));
    proj = register_module("proj", std::make_shared<Linear>(dim, dim, true, gen, dtype));
    proj_drop = register_module("proj_drop", std::make_shared<Dropout>(proj_p, gen));
}

AttentionOutput Attention::forward(const Tensor& x, const Tensor& mask, bool return_probs) {
    WSDOL_CHECK(x.defined() && x.dim() == 3 && x.size(2) == dim, "Attention: expected x (B, N, ", dim, "), got ",
                x.defined() ? shape_str(x.shape()) : "undefined");
    const int64_t B = x.size(0), N = x.size(1);
    // timm: qkv(x).reshape(B, N, 3, H, hd).permute(2, 0, 3, 1, 4) -> q, k, v each (B, H, N, hd)
    Tensor packed = qkv->forward(x).reshape({B, N, 3, num_heads, head_dim}).permute({2, 0, 3, 1, 4});
    Tensor q = packed.select(0, 0), k = packed.select(0, 1), v = packed.select(0, 2);
    AttentionOutput r = attend_with_dropout(q, k, v, heads_mask(mask, B, num_heads, "Attention"), scale,
                                            attn_drop->p, training_, attn_drop->gen, return_probs);
    Tensor y = r.out.transpose(1, 2).reshape({B, N, dim});  // (B, N, H, hd) -> (B, N, D)
    r.out = proj_drop->forward(proj->forward(y));
    return r;
}

std::string Attention::extra_repr() const { return str("dim=", dim, ", num_heads=", num_heads); }

// ---------------------------------------------------------------- PyTorch MultiheadAttention

MultiheadAttention::MultiheadAttention(int64_t embed, int64_t heads, double dropout_p, bool bias, bool batch_first_,
                                       Generator* gen_, DType dtype)
    : Module("MultiheadAttention"), embed_dim(embed), num_heads(heads), dropout(dropout_p),
      batch_first(batch_first_), gen(gen_) {
    WSDOL_CHECK(heads > 0 && embed % heads == 0, "MultiheadAttention: embed_dim ", embed,
                " must be divisible by num_heads ", heads);
    WSDOL_CHECK(dropout_p >= 0.0 && dropout_p <= 1.0, "MultiheadAttention: dropout must be in [0, 1], got ", dropout_p);
    head_dim = embed / heads;
    // Registration order as PyTorch: in_proj_weight, in_proj_bias, then out_proj.
    in_proj_weight = register_parameter("in_proj_weight", Tensor::empty({3 * embed, embed}, dtype));
    if (bias) in_proj_bias = register_parameter("in_proj_bias", Tensor::zeros({3 * embed}, dtype));
    out_proj = register_module("out_proj", std::make_shared<Linear>(embed, embed, bias, gen, dtype));
    init::xavier_uniform_(in_proj_weight, 1.0, gen);
    if (out_proj->bias.defined()) init::zeros_(out_proj->bias);
}

AttentionOutput MultiheadAttention::attend(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                                           bool need_weights) {
    const int64_t B = q.size(0), Tq = q.size(2);
    AttentionOutput r = attend_with_dropout(q, k, v, heads_mask(mask, B, num_heads, "MultiheadAttention"),
                                            std::nullopt, dropout, training_, gen, need_weights);
    // (B, H, Tq, hd) -> (Tq, B, H, hd) -> (Tq, B, D), or (B, Tq, D) batch-first.
    Tensor y = batch_first ? r.out.transpose(1, 2).reshape({B, Tq, embed_dim})
                           : r.out.permute({2, 0, 1, 3}).reshape({Tq, B, embed_dim});
    r.out = out_proj->forward(y);
    return r;
}

namespace {
// (T, B, D) (or (B, T, D) batch-first) -> (B, H, T, hd)
Tensor split_heads(const Tensor& x, bool batch_first, int64_t heads, int64_t head_dim) {
    const int64_t T = batch_first ? x.size(1) : x.size(0), B = batch_first ? x.size(0) : x.size(1);
    Tensor xb = batch_first ? x : x.transpose(0, 1);  // (B, T, D)
    return xb.reshape({B, T, heads, head_dim}).transpose(1, 2);
}

void check_seq(const Tensor& x, int64_t D, bool batch_first, const char* what) {
    WSDOL_CHECK(x.defined() && x.dim() == 3 && x.size(2) == D, "MultiheadAttention: expected ", what, " ",
                batch_first ? "(B, T, " : "(T, B, ", D, "), got ", x.defined() ? shape_str(x.shape()) : "undefined");
}
}  // namespace

AttentionOutput MultiheadAttention::forward(const Tensor& x, const Tensor& mask, bool need_weights) {
    check_seq(x, embed_dim, batch_first, "x");
    Tensor packed = linear(x, in_proj_weight, in_proj_bias);  // (T, B, 3D): q | k | v along the last dim
    auto part = [&](int64_t block) {
        return split_heads(packed.narrow(-1, block * embed_dim, embed_dim), batch_first, num_heads, head_dim);
    };
    return attend(part(0), part(1), part(2), mask, need_weights);
}

AttentionOutput MultiheadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                            const Tensor& mask, bool need_weights) {
    check_seq(query, embed_dim, batch_first, "query");
    check_seq(key, embed_dim, batch_first, "key");
    check_seq(value, embed_dim, batch_first, "value");
    WSDOL_CHECK(key.shape() == value.shape(), "MultiheadAttention: key ", shape_str(key.shape()), " and value ",
                shape_str(value.shape()), " must have the same shape");
    const int bdim = batch_first ? 0 : 1;
    WSDOL_CHECK(query.size(bdim) == key.size(bdim), "MultiheadAttention: query ", shape_str(query.shape()),
                " and key ", shape_str(key.shape()), " have different batch sizes");
    // PyTorch's _in_projection_packed for distinct q, k, v: the packed weight's row blocks applied separately.
    auto project = [&](const Tensor& t, int64_t block) {
        Tensor w = in_proj_weight.narrow(0, block * embed_dim, embed_dim);
        Tensor b = in_proj_bias.defined() ? in_proj_bias.narrow(0, block * embed_dim, embed_dim) : Tensor();
        return split_heads(linear(t, w, b), batch_first, num_heads, head_dim);
    };
    return attend(project(query, 0), project(key, 1), project(value, 2), mask, need_weights);
}

std::string MultiheadAttention::extra_repr() const {
    return str("embed_dim=", embed_dim, ", num_heads=", num_heads, batch_first ? ", batch_first=True" : "");
}

}  // namespace wsdol::nn
