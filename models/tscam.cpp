// tscam.cpp — TS-CAM's network (see tscam.h).
#include "models/tscam.h"

#include <cmath>
#include <map>

#include "engine/autograd/autograd.h"
#include "engine/core/error.h"
#include "engine/eval/cam_boxes.h"
#include "engine/nn/module.h"
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
    // sum over blocks of the head mean of the class-token row's patch columns (only that row is used: it is
    // selected first, which gives the code's values without stacking the full (B, heads, T, T) maps)
    std::vector<Tensor> rows;
    for (const Tensor& a : out.attn) rows.push_back(a.select(2, 0).narrow(2, 1, g * g));  // (B, heads, N)
    const Tensor m = sum(mean(stack(rows, 0), {2}), {0}).reshape({B, 1, g, g});
    return mul(m, out.x_out.detach());
}

Tensor Tscam::loss(const TscamOutput& out, const Tensor& labels) { return cross_entropy(out.logits, labels); }

WsolPrediction tscam_predict(Tscam& net, const Tensor& image, int class_id, double threshold) {
    WSDOL_CHECK(image.dim() == 3, "tscam_predict: image must be (3, S, S), got ", shape_str(image.shape()));
    NoGradGuard ng;
    nn::EvalModeGuard eval(net);
    const TscamOutput o = net.forward_tscam(image.unsqueeze(0));
    WsolPrediction p;
    p.scores = o.logits.squeeze(0);
    p.maps = Tscam::cams(o).squeeze(0);
    const int64_t C = p.scores.size(0);
    WSDOL_CHECK(class_id >= -1 && class_id < C, "tscam_predict: class ", class_id, " is out of range for ", C, " classes");
    p.box_class = class_id >= 0 ? class_id : static_cast<int>(argmax(p.scores, 0).item());
    const Tensor m = p.maps.select(0, p.box_class).to(DType::f32).contiguous();
    const std::vector<uint8_t> u8 =
        eval::tscam_heatmap(static_cast<const float*>(m.data_ptr()), m.size(0), m.size(1), image.size(1));
    p.box = eval::largest_contour_box(u8.data(), image.size(1), image.size(1), threshold);
    return p;
}

ViTConfig tscam_config_from_state_dict(const NamedTensors& state, const std::string& who, int64_t head_width) {
    std::map<std::string, Tensor> by_name(state.begin(), state.end());
    auto get = [&](const std::string& name, int64_t dims) -> const Tensor& {
        const auto it = by_name.find(name);
        WSDOL_CHECK(it != by_name.end(), who, ": not a TS-CAM state_dict: no tensor '", name, "'");
        WSDOL_CHECK(it->second.dim() == dims, who, ": tensor '", name, "' is ", shape_str(it->second.shape()),
                    ", expected ", dims, " dimensions");
        return it->second;
    };
    ViTConfig v;
    const Tensor& proj = get("patch_embed.proj.weight", 4);
    const Tensor& pos = get("pos_embed", 3);
    v.num_classes = get("head.weight", 4).size(0);
    v.embed_dim = proj.size(0);
    v.patch_size = proj.size(2);
    WSDOL_CHECK(head_width >= 1 && v.embed_dim % head_width == 0, who, ": embed_dim ", v.embed_dim,
                " is not a multiple of the head width ", head_width);
    v.num_heads = v.embed_dim / head_width;
    const auto grid = static_cast<int64_t>(std::llround(std::sqrt(double(pos.size(1) - 1))));
    WSDOL_CHECK(grid * grid + 1 == pos.size(1), who, ": pos_embed ", shape_str(pos.shape()), " is not 1 + g^2 tokens");
    v.image_size = grid * v.patch_size;
    int64_t depth = 0;
    while (by_name.count("blocks." + std::to_string(depth) + ".norm1.weight")) ++depth;
    WSDOL_CHECK(depth >= 1, who, ": no transformer blocks (blocks.0.*)");
    v.depth = depth;
    return v;
}

}  // namespace wsdol::models
