// cdtr.cpp — CDTR's network (see cdtr.h).
#include "models/cdtr.h"

#include <cmath>
#include <map>

#include "engine/autograd/autograd.h"
#include "engine/core/error.h"
#include "engine/eval/cam_boxes.h"
#include "engine/nn/init.h"
#include "engine/ops/deform_conv.h"
#include "engine/ops/ops.h"

namespace wsdol::models {
namespace {

class Container : public nn::Module {
public:
    Container() : nn::Module("Module") {}
};

// NEWConv's UConv: [Conv3x3 no bias, BN, (LeakyReLU), Conv3x3 no bias, BN, (LeakyReLU)] under 0, 1, 3, 4.
std::shared_ptr<nn::Sequential> make_uconv(int64_t c_in, int64_t c_out, double momentum, Generator* gen) {
    auto s = std::make_shared<nn::Sequential>();
    s->add("0", std::make_shared<nn::Conv2d>(c_in, c_out, 3, 1, 1, 1, 1, false, gen));
    s->add("1", std::make_shared<nn::BatchNorm2d>(c_out, 1e-5, momentum));
    s->add("3", std::make_shared<nn::Conv2d>(c_out, c_out, 3, 1, 1, 1, 1, false, gen));
    s->add("4", std::make_shared<nn::BatchNorm2d>(c_out, 1e-5, momentum));
    return s;
}

template <typename M>
M& child_as(const nn::Module& m, const char* name) {
    auto c = std::dynamic_pointer_cast<M>(m.child(name));
    WSDOL_CHECK(c != nullptr, "CDTR: child '", name, "' of ", m.type_name(), " has an unexpected type");
    return *c;
}

Tensor run_uconv(const nn::Sequential& s, const Tensor& x) {
    Tensor y = leaky_relu(child_as<nn::BatchNorm2d>(s, "1").forward(child_as<nn::Conv2d>(s, "0").forward(x)), 0.01);
    return leaky_relu(child_as<nn::BatchNorm2d>(s, "4").forward(child_as<nn::Conv2d>(s, "3").forward(y)), 0.01);
}

Tensor gap(const Tensor& x) { return mean(x, {2, 3}); }  // (B, C, h, w) -> (B, C)

}  // namespace

CdtrConfig CdtrConfig::deit_small(int64_t num_classes) {
    CdtrConfig c;
    c.vit.embed_dim = 384;
    c.vit.depth = 12;
    c.vit.num_heads = 6;
    c.vit.drop_path_rate = 0.1;
    c.num_classes = num_classes;
    return c;
}

CdtrCsm::CdtrCsm(int64_t c_in, int64_t num_classes, int64_t c_base, double bn_momentum, Generator* gen)
    : nn::Module("cnn") {
    auto down = register_module("down_1", std::make_shared<nn::Sequential>());
    auto down_new = down->add("1", std::make_shared<Container>());
    down_conv = down_new->register_module("UConv", make_uconv(c_in, 2 * c_base, bn_momentum, gen));
    auto up = register_module("up_1", std::make_shared<Container>());
    auto up_new = up->register_module("conv", std::make_shared<Container>());
    up_conv = up_new->register_module("UConv", make_uconv(c_in + 2 * c_base, num_classes, bn_momentum, gen));
}

Tensor CdtrCsm::forward(const Tensor& x) {
    WSDOL_CHECK(x.dim() == 4 && x.size(2) % 2 == 0 && x.size(3) % 2 == 0,
                "CDTR CSM: input must be (B, blocks x heads, g, g) with an even grid, got ", shape_str(x.shape()));
    const Tensor down = run_uconv(*down_conv, max_pool2d(x, {2, 2}, {2, 2}));
    const Tensor up = interpolate(down, x.size(2), x.size(3), InterpMode::bilinear, false);
    return run_uconv(*up_conv, cat({x, up}, 1));
}

Tensor cls_patch_attention(const Tensor& attn, int64_t grid) {
    const int64_t B = attn.size(0), H = attn.size(1);
    return attn.select(2, 0).narrow(2, 1, grid * grid).reshape({B, H, grid, grid});
}

Cdtr::Cdtr(const CdtrConfig& c, Generator* gen)
    : VisionTransformer(
          [&] {
              ViTConfig v = c.vit;
              v.num_classes = 0;  // no token head: the conv head replaces it
              v.num_prefix_tokens = 1;
              v.distilled = false;
              v.final_norm = true;
              return v;
          }(),
          gen),
      cdtr_cfg(c) {
    const int64_t C = c.num_classes, D = cfg.embed_dim, heads = cfg.num_heads, depth = cfg.depth;
    WSDOL_CHECK(C >= 1, "CDTR: num_classes must be positive, got ", C);
    ocm_k_ = c.ocm_blocks < 0 ? depth - 3 : c.ocm_blocks;
    WSDOL_CHECK(ocm_k_ >= 1 && ocm_k_ <= depth, "CDTR: OCM needs 1..depth blocks, got K = ", ocm_k_, " for depth ", depth);
    WSDOL_CHECK(cfg.image_size % cfg.patch_size == 0 && (cfg.image_size / cfg.patch_size) % 2 == 0,
                "CDTR: the patch grid must be even (CSM pools 2x2), got image ", cfg.image_size, " patch ",
                cfg.patch_size);
    conv_head = register_module("head", std::make_shared<nn::Conv2d>(D, C, 3, 1, 1, 1, 1, true, gen));
    att_layer = register_module("att_layer", std::make_shared<CdtrCsm>(depth * heads, C, c.csm_base, c.csm_bn_momentum, gen));
    att_cls = register_module("att_cls", std::make_shared<nn::Conv2d>(C, C, 1, 1, 0, 1, 1, false, gen));
    if (c.ski) {
        auto dnc = register_module("dnc_att_layer", std::make_shared<Container>());
        conv_offset = dnc->register_module("conv_offset", std::make_shared<nn::Conv2d>(C, 18, 3, 1, 1, 1, 1, true, gen));
        // sba_util: the offset conv's weight is replaced by zeros; its bias keeps PyTorch's default U(+-1/sqrt(9C)),
        // so the initial offsets are constant, fractional and non-zero.
        {
            NoGradGuard ng;
            conv_offset->weight.zero_();
        }
        auto deform = dnc->register_module("deform_conv", std::make_shared<Container>());
        deform_weight = deform->register_parameter("weight", Tensor::empty({C, C, 3, 3}));
        // INFERRED (methods.md §0.1): mmcv >= 1.3.15 DeformConv2d init, kaiming_uniform(nonlinearity relu):
        // U(+-sqrt(6 / (9 C))); CDTR's mmcv 1.x is unpinned.
        nn::kaiming_uniform_(deform_weight, 0.0, nn::FanMode::fan_in, "relu", gen);
    }
    awl = register_module("AutomaticWeightedLoss", std::make_shared<AutomaticWeightedLoss>(5));
    for (int64_t k = 0; k < ocm_k_; ++k) {
        auto s = register_module("block" + std::to_string(k), std::make_shared<nn::Sequential>());
        s->add("0", std::make_shared<nn::Conv2d>(heads, 1, 1, 1, 0, 1, 1, false, gen));
        s->add("1", std::make_shared<nn::BatchNorm2d>(1));
        ocm_block.push_back(s);
    }
    block_catconv = register_module("block_catconv", std::make_shared<nn::Conv2d>(ocm_k_, 1, 3, 1, 1, 1, 1, false, gen));
    block_catbn = register_module("block_catbn", std::make_shared<nn::BatchNorm2d>(1));
}

CdtrOutput Cdtr::forward_cdtr(const Tensor& images) {
    WSDOL_CHECK(images.dim() == 4 && images.size(2) == cfg.image_size && images.size(3) == cfg.image_size,
                "CDTR: images must be (B, 3, ", cfg.image_size, ", ", cfg.image_size, "), got ",
                shape_str(images.shape()));
    ViTOutput v = forward_all(images, true);
    CdtrOutput o;
    const int64_t B = images.size(0), g = v.grid_h, D = cfg.embed_dim;
    o.attn = v.attn_probs;
    // The class-token row's patch columns of every block, (B, heads, g, g) each. Only these rows are used, so the
    // maps are built from them instead of stacking the blocks' full (B, heads, T, T) attention as the code does
    // (the same values: a row selection is exact and the reductions run in the code's order).
    std::vector<Tensor> per_block;
    for (const Tensor& a : o.attn) per_block.push_back(cls_patch_attention(a, g));
    // m_ca: mean over blocks, then sum over heads
    o.m_ca = sum(mean(stack(per_block, 0), {0}), {1});  // (B, g, g)
    const Tensor patches = v.tokens.narrow(1, 1, g * g).transpose(1, 2).reshape({B, D, g, g});
    o.x_out = conv_head->forward(patches);
    o.logits = gap(o.x_out);
    o.x_csm = att_cls->forward(att_layer->forward(cat(per_block, 1)));  // channel = heads * block + head
    o.csm_logits = gap(o.x_csm);
    std::vector<Tensor> ocm;
    for (int64_t k = 0; k < ocm_k_; ++k) {
        const nn::Sequential& s = *ocm_block[static_cast<size_t>(k)];
        ocm.push_back(leaky_relu(child_as<nn::BatchNorm2d>(s, "1").forward(child_as<nn::Conv2d>(s, "0").forward(per_block[k])), 0.01));
    }
    o.m_ocm = sigmoid(block_catbn->forward(block_catconv->forward(cat(ocm, 1))));
    if (conv_offset) {
        const Tensor offset = conv_offset->forward(mul(o.x_out, o.m_ca.unsqueeze(1)));
        o.ski_logits = gap(deform_conv2d(o.x_csm, offset, deform_weight, Tensor(), {1, 1}, {1, 1}));
    }
    return o;
}

Tensor Cdtr::object_map(const CdtrOutput& out, const Tensor& labels) {
    WSDOL_CHECK(labels.dim() == 1 && labels.size(0) == out.x_out.size(0) && labels.dtype() == DType::i64,
                "CDTR object_map: labels must be (B) i64 for B = ", out.x_out.size(0), ", got ",
                shape_str(labels.shape()));
    const Tensor fused = mul(out.m_ca.unsqueeze(1), add(out.x_out.detach(), out.x_csm.detach()));  // (B, C, g, g)
    const int64_t B = fused.size(0), g = fused.size(2);
    const Tensor idx = labels.reshape({B, 1, 1, 1}).expand({B, 1, g, g}).contiguous();
    return gather(fused, 1, idx);  // (B, 1, g, g)
}

Tensor Cdtr::fused_map(const CdtrOutput& out) const {
    NoGradGuard ng;
    Tensor f = mul(out.m_ca.unsqueeze(1), add(out.x_out, out.x_csm));
    return cdtr_cfg.imagenet_fusion ? div(f, 2.0) : f;
}

WsolPrediction cdtr_predict(Cdtr& net, const Tensor& image, double threshold) {
    WSDOL_CHECK(image.dim() == 3, "cdtr_predict: image must be (3, S, S), got ", shape_str(image.shape()));
    NoGradGuard ng;
    nn::EvalModeGuard eval(net);
    const CdtrOutput o = net.forward_cdtr(image.unsqueeze(0));
    WsolPrediction p;
    p.scores = o.logits.squeeze(0);
    p.maps = net.fused_map(o).squeeze(0);
    p.box_class = static_cast<int>(argmax(p.scores, 0).item());
    const Tensor m = p.maps.select(0, p.box_class).to(DType::f32).contiguous();
    const std::vector<uint8_t> u8 =
        eval::cdtr_heatmap(static_cast<const float*>(m.data_ptr()), m.size(0), m.size(1), image.size(1));
    p.box = eval::largest_contour_box(u8.data(), image.size(1), image.size(1), threshold);
    return p;
}

CdtrConfig cdtr_config_from_state_dict(const NamedTensors& state, const std::string& who, int64_t head_width) {
    std::map<std::string, Tensor> by_name(state.begin(), state.end());
    auto get = [&](const std::string& name, int64_t dims) -> const Tensor& {
        const auto it = by_name.find(name);
        WSDOL_CHECK(it != by_name.end(), who, ": not a CDTR state_dict: no tensor '", name, "'");
        WSDOL_CHECK(it->second.dim() == dims, who, ": tensor '", name, "' is ", shape_str(it->second.shape()),
                    ", expected ", dims, " dimensions");
        return it->second;
    };
    CdtrConfig c;
    const Tensor& head = get("head.weight", 4);
    const Tensor& proj = get("patch_embed.proj.weight", 4);
    const Tensor& pos = get("pos_embed", 3);
    c.num_classes = head.size(0);
    c.vit.embed_dim = proj.size(0);
    c.vit.patch_size = proj.size(2);
    WSDOL_CHECK(head_width >= 1 && c.vit.embed_dim % head_width == 0, who, ": embed_dim ", c.vit.embed_dim,
                " is not a multiple of the head width ", head_width);
    c.vit.num_heads = c.vit.embed_dim / head_width;
    const auto grid = static_cast<int64_t>(std::llround(std::sqrt(double(pos.size(1) - 1))));
    WSDOL_CHECK(grid * grid + 1 == pos.size(1), who, ": pos_embed ", shape_str(pos.shape()), " is not 1 + g^2 tokens");
    c.vit.image_size = grid * c.vit.patch_size;
    int64_t depth = 0;
    while (by_name.count("blocks." + std::to_string(depth) + ".norm1.weight")) ++depth;
    WSDOL_CHECK(depth >= 1, who, ": no transformer blocks (blocks.0.*)");
    c.vit.depth = depth;
    c.csm_base = get("att_layer.down_1.1.UConv.0.weight", 4).size(0) / 2;
    int64_t k = 0;
    while (by_name.count("block" + std::to_string(k) + ".0.weight")) ++k;
    c.ocm_blocks = k;
    c.ski = by_name.count("dnc_att_layer.deform_conv.weight") != 0;
    return c;
}

}  // namespace wsdol::models
