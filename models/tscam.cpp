// tscam.cpp — TS-CAM's network (see tscam.h).
#include "models/tscam.h"

#include "engine/autograd/autograd.h"
#include "engine/core/error.h"
#include "engine/ops/ops.h"

namespace wsdol::models {

namespace {
ViTConfig without_token_head(ViTConfig v) {
    v.num_classes = 0;
    v.num_prefix_tokens = 1;
    v.distilled = false;
    v.final_norm = true;
    return v;
}
}  // namespace

ViTConfig Tscam::deit_small(int64_t num_classes) {
    ViTConfig v;
    v.embed_dim = 384;
    v.depth = 12;
    v.num_heads = 6;
    v.drop_path_rate = 0.1;
    v.num_classes = num_classes;
    return v;
}

Tscam::Tscam(const ViTConfig& c, Generator* gen) : VisionTransformer(without_token_head(c), gen), num_classes(c.num_classes) {
    WSDOL_CHECK(num_classes >= 1, "TS-CAM: num_classes must be positive, got ", num_classes);
    conv_head = register_module("head", std::make_shared<nn::Conv2d>(cfg.embed_dim, num_classes, 3, 1, 1, 1, 1, true, gen));
}

TscamOutput Tscam::forward_tscam(const Tensor& images) {
    WSDOL_CHECK(images.dim() == 4 && images.size(2) == cfg.image_size && images.size(3) == cfg.image_size,
                "TS-CAM: images must be (B, 3, ", cfg.image_size, ", ", cfg.image_size, "), got ",
                shape_str(images.shape()));
    ViTOutput v = forward_all(images, true);
    TscamOutput o;
    const int64_t B = images.size(0), g = v.grid_h, D = cfg.embed_dim;
    o.attn = v.attn_probs;
    o.x_out = conv_head->forward(v.tokens.narrow(1, 1, g * g).transpose(1, 2).reshape({B, D, g, g}));
    o.logits = mean(o.x_out, {2, 3});
    return o;
}

Tensor Tscam::cams(const TscamOutput& out) {
    const int64_t B = out.x_out.size(0), g = out.x_out.size(2);
    const Tensor a = sum(mean(stack(out.attn, 0), {2}), {0});  // (B, T, T): sum over blocks of the head mean
    const Tensor m = a.select(1, 0).narrow(1, 1, g * g).reshape({B, 1, g, g});
    return mul(m, out.x_out.detach());
}

Tensor Tscam::loss(const TscamOutput& out, const Tensor& labels) { return cross_entropy(out.logits, labels); }

}  // namespace wsdol::models
