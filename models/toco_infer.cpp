// toco_infer.cpp — ToCo / DIAL inference and the released checkpoint layout (see toco_infer.h).
#include "models/toco_infer.h"

#include <map>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"
#include "models/toco_labels.h"
#include "models/toco_training.h"

namespace wsdol::models {

Tensor toco_segment_logits(TocoNet& net, const Tensor& images, const std::vector<double>& scales) {
    WSDOL_CHECK(images.defined() && images.dim() == 4 && images.size(1) == 3,
                "toco inference: images must be (B, 3, H, W), got ",
                images.defined() ? shape_str(images.shape()) : "undefined");
    WSDOL_CHECK(!scales.empty(), "toco inference: no scales");
    NoGradGuard no_grad;
    nn::EvalModeGuard eval(net);
    const int64_t B = images.size(0), H = images.size(2), W = images.size(3);
    Tensor best;
    for (double s : scales) {
        const auto h = static_cast<int64_t>(double(H) * s), w = static_cast<int64_t>(double(W) * s);
        const Tensor xs = interpolate(images, h, w, InterpMode::bilinear, false);
        Tensor seg = net.forward_all(cat({xs, xs.flip({3})}, 0)).seg;
        seg = interpolate(seg, H, W, InterpMode::bilinear, false);
        const Tensor merged = add(seg.narrow(0, 0, B), seg.narrow(0, B, B).flip({3}));
        best = best.defined() ? maximum(best, merged) : merged;
    }
    return best.contiguous();
}

std::pair<Tensor, Tensor> toco_cam_maps(TocoNet& net, const Tensor& images, int64_t input_size,
                                        const std::vector<double>& scales) {
    WSDOL_CHECK(images.defined() && images.dim() == 4 && images.size(1) == 3,
                "toco CAMs: images must be (B, 3, H, W), got ", images.defined() ? shape_str(images.shape()) : "undefined");
    WSDOL_CHECK(input_size >= net.cfg.vit.patch_size, "toco CAMs: input size ", input_size, " is below the patch size");
    NoGradGuard no_grad;
    nn::EvalModeGuard eval(net);
    const int64_t H = images.size(2), W = images.size(3);
    const Tensor x = interpolate(images, input_size, input_size, InterpMode::bilinear, false);
    auto [cams, aux] = toco_multi_scale_cams(net, x, scales);
    return {interpolate(cams, H, W, InterpMode::bilinear, false).contiguous(),
            interpolate(aux, H, W, InterpMode::bilinear, false).contiguous()};
}

NamedTensors toco_release_state_dict(const NamedTensors& state) {
    NamedTensors out;
    for (const auto& [name, t] : state) {
        std::string n = name.rfind("module.", 0) == 0 ? name.substr(7) : name;
        if (n.rfind("encoder.head.", 0) == 0) continue;
        out.emplace_back(n, t);
    }
    return out;
}

TocoConfig toco_config_from_state_dict(const NamedTensors& state, const std::string& label, int64_t num_heads) {
    std::map<std::string, Tensor> m(state.begin(), state.end());
    auto need = [&](const std::string& key) -> const Tensor& {
        auto it = m.find(key);
        WSDOL_CHECK(it != m.end(), label, ": not a ToCo model_seg_neg state_dict (no '", key, "')");
        return it->second;
    };
    TocoConfig c;
    const Tensor& cls = need("encoder.cls_token");
    WSDOL_CHECK(cls.dim() == 3 && cls.size(1) == 1, label, ": encoder.cls_token must be (1, 1, D), got ",
                shape_str(cls.shape()));
    c.vit.embed_dim = cls.size(2);
    if (num_heads <= 0) {
        WSDOL_CHECK(c.vit.embed_dim % 64 == 0, label, ": embed_dim ", c.vit.embed_dim,
                    " is not a multiple of 64 (num_heads is read as D / 64); give the head count");
        num_heads = c.vit.embed_dim / 64;  // INFERRED: head width 64, as every ToCo backbone
    }
    WSDOL_CHECK(c.vit.embed_dim % num_heads == 0, label, ": embed_dim ", c.vit.embed_dim, " is not divisible by ",
                num_heads, " heads");
    c.vit.num_heads = num_heads;
    const Tensor& pw = need("encoder.patch_embed.proj.weight");
    WSDOL_CHECK(pw.dim() == 4 && pw.size(2) == pw.size(3), label, ": encoder.patch_embed.proj.weight must be (D, 3, p, p)");
    c.vit.patch_size = pw.size(2);
    const Tensor& pos = need("encoder.pos_embed");
    const int64_t n = pos.size(1) - 1;
    int64_t g = 1;
    while (g * g < n) ++g;
    WSDOL_CHECK(g * g == n, label, ": encoder.pos_embed has ", n, " patch positions, not a square grid");
    c.vit.image_size = g * c.vit.patch_size;
    int64_t depth = 0;
    while (m.count("encoder.blocks." + std::to_string(depth) + ".norm1.weight")) ++depth;
    WSDOL_CHECK(depth > 3, label, ": ", depth, " encoder blocks (aux_layer -3 needs at least 4)");
    c.vit.depth = depth;
    const Tensor& fc1 = need("encoder.blocks.0.mlp.fc1.weight");
    c.vit.mlp_ratio = double(fc1.size(0)) / double(c.vit.embed_dim);
    const Tensor& c8 = need("decoder.conv8.weight");
    c.num_classes = c8.size(0);
    c.decoder_dim = c8.size(1);
    c.ctc_hidden = need("proj_head.mlp.0.weight").size(0);
    c.ctc_bottleneck = need("proj_head.mlp.4.weight").size(0);
    c.ctc_out = need("proj_head.last_layer.weight_v").size(0);
    WSDOL_CHECK(need("classifier.weight").size(0) == c.num_classes - 1, label, ": classifier has ",
                need("classifier.weight").size(0), " classes, the decoder ", c.num_classes, " (with background)");
    if (m.count("proj_visual.weight")) {
        c.dial = true;
        c.joint_dim = m["proj_visual.weight"].size(0);
        c.text_dim = need("proj_text.weight").size(1);
    }
    return c;
}

}  // namespace wsdol::models
