// toco.cpp — the ToCo / DIAL network (see toco.h): encoder with the aux-layer output, classifiers with GMP, LargeFOV,
// the weight-normed CTC head and its EMA teacher, DIAL's projections.
#include "models/toco.h"

#include "engine/autograd/autograd.h"
#include "engine/nn/init.h"
#include "engine/ops/ops.h"

namespace wsdol::models {

namespace {
class Group : public nn::Module {
public:
    explicit Group(const char* type) : nn::Module(type) {}
};
}  // namespace

TocoConfig toco_vit_b16(int64_t num_classes) {
    TocoConfig c;
    c.vit.image_size = 224;
    c.vit.patch_size = 16;
    c.vit.embed_dim = 768;
    c.vit.depth = 12;
    c.vit.num_heads = 12;
    c.num_classes = num_classes;
    return c;
}

CtcHead::CtcHead(int64_t in_dim, int64_t hidden, int64_t bottleneck, int64_t out_dim, Generator* gen)
    : nn::Module("CTCHead") {
    mlp = register_module("mlp", std::make_shared<nn::Sequential>());
    auto l0 = mlp->push_back(std::make_shared<nn::Linear>(in_dim, hidden, true, gen));
    mlp->push_back(std::make_shared<nn::GELU>());
    auto l2 = mlp->push_back(std::make_shared<nn::Linear>(hidden, hidden, true, gen));
    mlp->push_back(std::make_shared<nn::GELU>());
    auto l4 = mlp->push_back(std::make_shared<nn::Linear>(hidden, bottleneck, true, gen));
    for (auto& l : {l0, l2, l4}) {  // DINO's _init_weights: trunc_normal(.02), zero bias
        nn::trunc_normal_(l->weight, 0.0, 0.02, -2.0, 2.0, gen);
        nn::zeros_(l->bias);
    }
    // weight_norm(Linear(bottleneck, out, bias=False)): v = the Linear's default init, g filled with 1 and frozen
    // (norm_last_layer=True).
    auto last = std::make_shared<Group>("WeightNormLinear");
    register_module("last_layer", last);
    nn::Linear init(bottleneck, out_dim, false, gen);
    weight_g = last->register_parameter("weight_g", Tensor::ones({out_dim, 1}), false);
    weight_v = last->register_parameter("weight_v", init.weight.detach().clone());
}

Tensor CtcHead::forward(const Tensor& x) {
    Tensor h = normalize(mlp->forward(x), 2.0, -1, 1e-12);
    // torch._weight_norm(v, g, 0) = v * (g / ||v_row||)
    Tensor w = mul(weight_v, div(weight_g, sqrt(sum(mul(weight_v, weight_v), {1}, true))));
    return linear(h, w);
}

TocoNet::TocoNet(const TocoConfig& c, Generator* gen) : nn::Module("TocoNetwork"), cfg(c) {
    WSDOL_CHECK(cfg.num_classes >= 2, "toco: num_classes (background included) must be >= 2, got ", cfg.num_classes);
    WSDOL_CHECK(cfg.aux_layer != 0 && cfg.aux_layer >= -cfg.vit.depth && cfg.aux_layer < cfg.vit.depth,
                "toco: aux_layer ", cfg.aux_layer, " is not a block index of a ", cfg.vit.depth, "-block encoder");
    ViTConfig v = cfg.vit;
    v.num_classes = 0;
    v.final_norm = true;
    v.pos_embed_resize = PosEmbedResize::bicubic;
    encoder = register_module("encoder", std::make_shared<VisionTransformer>(v, gen));
    encoder->pos_embed.set_requires_grad(false);  // ToCo: pos_embed.requires_grad = False
    const int64_t D = v.embed_dim, C = cfg.num_classes - 1;
    proj_head = register_module("proj_head", std::make_shared<CtcHead>(D, cfg.ctc_hidden, cfg.ctc_bottleneck, cfg.ctc_out, gen));
    proj_head_t = register_module("proj_head_t", std::make_shared<CtcHead>(D, cfg.ctc_hidden, cfg.ctc_bottleneck, cfg.ctc_out, gen));
    {
        NoGradGuard no_grad;
        const NamedTensors s = proj_head->named_parameters();
        NamedTensors t = proj_head_t->named_parameters();
        for (size_t i = 0; i < s.size(); ++i) {
            t[i].second.copy_(s[i].second);
            t[i].second.set_requires_grad(false);
        }
    }
    decoder = register_module("decoder", std::make_shared<Group>("LargeFOV"));
    const int64_t dd = cfg.decoder_dim, dil = cfg.decoder_dilation;
    conv6 = decoder->register_module("conv6", std::make_shared<nn::Conv2d>(D, dd, 3, 1, dil, dil, 1, false, gen));
    conv7 = decoder->register_module("conv7", std::make_shared<nn::Conv2d>(dd, dd, 3, 1, dil, dil, 1, false, gen));
    conv8 = decoder->register_module("conv8", std::make_shared<nn::Conv2d>(dd, cfg.num_classes, 1, 1, 0, 1, 1, false, gen));
    classifier = register_module("classifier", std::make_shared<nn::Conv2d>(D, C, 1, 1, 0, 1, 1, false, gen));
    aux_classifier = register_module("aux_classifier", std::make_shared<nn::Conv2d>(D, C, 1, 1, 0, 1, 1, false, gen));
    if (cfg.dial) {
        // INFERRED (§3.8): one Linear each, PyTorch's default init.
        proj_visual = register_module("proj_visual", std::make_shared<nn::Linear>(D, cfg.joint_dim, true, gen));
        proj_text = register_module("proj_text", std::make_shared<nn::Linear>(cfg.text_dim, cfg.joint_dim, true, gen));
    }
}

void TocoNet::features(const Tensor& images, Tensor* cls_token, Tensor* x4, Tensor* x_aux) {
    auto& e = *encoder;
    WSDOL_CHECK(images.defined() && images.dim() == 4 && images.size(1) == e.cfg.in_chans &&
                    images.size(2) >= e.cfg.patch_size && images.size(3) >= e.cfg.patch_size,
                "toco: expected images (B, ", e.cfg.in_chans, ", H, W) with H, W >= ", e.cfg.patch_size, ", got ",
                images.defined() ? shape_str(images.shape()) : "undefined");
    const int64_t B = images.size(0), D = e.cfg.embed_dim;
    Tensor x = e.patch_proj->forward(images);  // (B, D, h, w)
    const int64_t h = x.size(2), w = x.size(3);
    x = cat({e.cls_token.expand({B, 1, D}), x.flatten(2).transpose(1, 2)}, 1);
    // ToCo resizes the patch part of pos_embed bicubically to (h, w) every forward (identity at the native grid).
    x = e.pos_drop->forward(add(x, resize_pos_embed(e.pos_embed, 1, h, w, PosEmbedResize::bicubic)));
    const int64_t depth = static_cast<int64_t>(e.blocks->size());
    const int64_t aux = cfg.aux_layer < 0 ? depth + cfg.aux_layer : cfg.aux_layer;
    Tensor aux_tokens;
    for (int64_t i = 0; i < depth; ++i) {
        x = e.blocks->at<Block>(static_cast<size_t>(i))->forward(x);
        if (i == aux) aux_tokens = x;
    }
    x = e.norm->forward(x);
    if (aux == depth - 1) aux_tokens = x;  // embeds[-1] is replaced by the normed output
    auto to_2d = [&](const Tensor& t) { return t.narrow(1, 1, h * w).transpose(1, 2).reshape({B, D, h, w}); };
    if (cls_token) *cls_token = x.select(1, 0);
    if (x4) *x4 = to_2d(x);
    if (x_aux) *x_aux = to_2d(aux_tokens);
}

TocoOutput TocoNet::forward_all(const Tensor& images) {
    TocoOutput o;
    features(images, &o.cls_token, &o.x4, &o.x_aux);
    o.seg = conv8->forward(relu(conv7->forward(relu(conv6->forward(o.x4)))));
    const int64_t B = images.size(0), C = cfg.num_classes - 1;
    o.aux_logits = aux_classifier->forward(adaptive_max_pool2d(o.x_aux, {1, 1})).reshape({B, C});
    o.cls_logits = classifier->forward(adaptive_max_pool2d(o.x4, {1, 1})).reshape({B, C});
    return o;
}

std::pair<Tensor, Tensor> TocoNet::cams(const Tensor& images) {
    NoGradGuard no_grad;
    Tensor x4, xa;
    features(images, nullptr, &x4, &xa);
    Tensor cam = conv2d(x4, classifier->weight, Tensor());
    Tensor cam_aux = conv2d(xa, aux_classifier->weight, Tensor());
    return {cam_aux, cam};
}

void TocoNet::ema_update() {
    NoGradGuard no_grad;
    const double m = cfg.ema_momentum;
    const NamedTensors s = proj_head->named_parameters();
    NamedTensors t = proj_head_t->named_parameters();
    for (size_t i = 0; i < s.size(); ++i) t[i].second.copy_(add(mul(t[i].second, m), mul(s[i].second, 1.0 - m)));
}

std::pair<Tensor, Tensor> TocoNet::forward_proj(const std::vector<Tensor>& crops) {
    WSDOL_CHECK(crops.size() >= 2, "toco forward_proj: need the two global views, got ", crops.size(), " crops");
    ema_update();
    // ToCo runs the encoder on the global views twice (once detached for the teacher); one pass gives the same
    // values and gradients when there is no stochastic layer (drop-path 0, ToCo's default).
    Tensor g_cls;
    features(cat({crops[0], crops[1]}, 0), &g_cls, nullptr, nullptr);
    Tensor teacher;
    {
        NoGradGuard no_grad;
        teacher = proj_head_t->forward(g_cls.detach());
    }
    std::vector<Tensor> student_in{g_cls};
    if (crops.size() > 2) {
        Tensor l_cls;
        features(cat(std::vector<Tensor>(crops.begin() + 2, crops.end()), 0), &l_cls, nullptr, nullptr);
        student_in.push_back(l_cls);
    }
    return {teacher, proj_head->forward(cat(student_in, 0))};
}

std::vector<std::vector<Tensor>> TocoNet::param_groups() const {
    std::vector<std::vector<Tensor>> g(4);
    for (const auto& [name, p] : encoder->named_parameters()) {
        if (!p.requires_grad()) continue;
        g[name.find("norm") != std::string::npos ? 1 : 0].push_back(p);
    }
    g[2].push_back(classifier->weight);
    g[2].push_back(aux_classifier->weight);
    for (const auto& p : proj_head->parameters())
        if (p.requires_grad()) g[2].push_back(p);
    if (proj_visual) {
        for (const auto& p : proj_visual->parameters()) g[2].push_back(p);
        for (const auto& p : proj_text->parameters()) g[2].push_back(p);
    }
    for (const auto& p : decoder->parameters()) g[3].push_back(p);
    return g;
}

}  // namespace wsdol::models
