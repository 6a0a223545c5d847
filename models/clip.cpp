// clip.cpp — OpenAI CLIP: the text transformer, the ViT and ModifiedResNet image towers, the joint forward, and the
// configuration read off a state_dict (clip/model.py build_model's rules).
#include "models/clip.h"

#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "engine/autograd/autograd.h"
#include "engine/nn/init.h"
#include "engine/ops/ops.h"

namespace wsdol::models {

namespace {

// nn.AvgPool2d(k): kernel k, stride k, no padding, count_include_pad (no parameters). Only the ModifiedResNet
// downsample path holds one as a module, because its name "-1" shifts the conv and BN to "0" and "1".
class AvgPool2d : public nn::Module {
public:
    explicit AvgPool2d(int64_t k) : nn::Module("AvgPool2d"), k(k) {}
    Tensor forward(const Tensor& x) override { return k == 1 ? x : avg_pool2d(x, {k, k}, {k, k}); }
    std::string extra_repr() const override { return str("kernel_size=", k); }
    int64_t k;
};

void check_image(const Tensor& images, int64_t size, const char* who) {
    WSDOL_CHECK(images.defined() && images.dim() == 4 && images.size(1) == 3 && images.size(2) == size &&
                    images.size(3) == size,
                who, ": expected images (B, 3, ", size, ", ", size, "), got ",
                images.defined() ? shape_str(images.shape()) : "undefined");
}

}  // namespace

// ---------------------------------------------------------------- config

std::string ClipConfig::str() const {
    std::string vision;
    if (vision_resnet) {
        vision = wsdol::str("vision ModifiedResNet (", vision_resnet_layers[0], ",", vision_resnet_layers[1], ",",
                            vision_resnet_layers[2], ",", vision_resnet_layers[3], ") width ", vision_width,
                            " (attnpool ", 32 * vision_width, ", ", vision_heads, " heads), image ", image_size);
    } else {
        vision = wsdol::str("vision ViT ", vision_width, "x", vision_layers, " (", vision_heads, " heads, patch ",
                            vision_patch_size, ", image ", image_size, ")");
    }
    return wsdol::str(vision, ", text ", text_width, "x", text_layers, " (", text_heads, " heads, context ",
                      context_length, ", vocab ", vocab_size, "), embed ", embed_dim);
}

ClipConfig clip_vit_b16_config() { return ClipConfig{}; }

ClipConfig clip_vit_b32_config() {
    ClipConfig c;
    c.vision_patch_size = 32;
    return c;
}

ClipConfig clip_rn50_config() {
    ClipConfig c;
    c.embed_dim = 1024;
    c.vision_resnet = true;
    c.vision_width = 64;
    c.vision_resnet_layers = {3, 4, 6, 3};
    c.vision_heads = 32;  // 32 * 64 / 64
    return c;
}

ClipConfig clip_config_from_state_dict(const NamedTensors& state_dict, int64_t head_width) {
    WSDOL_CHECK(head_width > 0, "clip_config_from_state_dict: head_width must be positive, got ", head_width);
    std::map<std::string, Shape> shapes;
    for (const auto& [name, t] : state_dict) shapes[name] = t.shape();
    auto shape_of = [&](const std::string& key, size_t rank) -> const Shape& {
        auto it = shapes.find(key);
        WSDOL_CHECK(it != shapes.end(), "clip_config_from_state_dict: not an OpenAI CLIP state_dict (no '", key, "')");
        WSDOL_CHECK(it->second.size() == rank, "clip_config_from_state_dict: '", key, "' has shape ",
                    shape_str(it->second), ", expected ", rank, " dims");
        return it->second;
    };
    // distinct values of the name component after `prefix` (block indices), as build_model counts them
    auto count_indices = [&](const std::string& prefix) {
        std::set<std::string> seen;
        for (const auto& [name, s] : shapes)
            if (name.rfind(prefix, 0) == 0) seen.insert(name.substr(prefix.size(), name.find('.', prefix.size()) - prefix.size()));
        return static_cast<int64_t>(seen.size());
    };
    auto heads_for = [&](int64_t width, const char* what) {
        WSDOL_CHECK(width % head_width == 0, "clip_config_from_state_dict: ", what, " width ", width,
                    " is not a multiple of the head width ", head_width);
        return width / head_width;
    };
    auto grid_of = [&](int64_t tokens, const char* key) {
        const auto g = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(tokens - 1))));
        WSDOL_CHECK(g * g + 1 == tokens, "clip_config_from_state_dict: '", key, "' has ", tokens,
                    " rows, not a square grid plus one");
        return g;
    };

    ClipConfig c;
    if (shapes.count("visual.proj")) {  // build_model: vit = "visual.proj" in state_dict
        const Shape& conv = shape_of("visual.conv1.weight", 4);
        c.vision_resnet = false;
        c.vision_width = conv[0];
        c.vision_patch_size = conv[3];
        c.vision_layers = 0;
        for (const auto& [name, s] : shapes)
            if (name.rfind("visual.", 0) == 0 && name.size() > 20 &&
                name.compare(name.size() - 20, 20, ".attn.in_proj_weight") == 0)
                ++c.vision_layers;
        c.image_size = c.vision_patch_size *
                       grid_of(shape_of("visual.positional_embedding", 2)[0], "visual.positional_embedding");
        c.vision_heads = heads_for(c.vision_width, "vision");
    } else {
        c.vision_resnet = true;
        for (int b = 0; b < 4; ++b) c.vision_resnet_layers[b] = count_indices(str("visual.layer", b + 1, "."));
        c.vision_width = shape_of("visual.layer1.0.conv1.weight", 4)[0];
        c.image_size = 32 * grid_of(shape_of("visual.attnpool.positional_embedding", 2)[0],
                                    "visual.attnpool.positional_embedding");
        c.vision_heads = heads_for(32 * c.vision_width, "attnpool");
    }
    c.embed_dim = shape_of("text_projection", 2)[1];
    c.context_length = shape_of("positional_embedding", 2)[0];
    c.vocab_size = shape_of("token_embedding.weight", 2)[0];
    c.text_width = shape_of("ln_final.weight", 1)[0];
    c.text_heads = heads_for(c.text_width, "text");
    c.text_layers = count_indices("transformer.resblocks.");
    return c;
}

Tensor clip_causal_mask(int64_t length, DType dtype, Device device) {
    std::vector<double> m(static_cast<size_t>(length * length), 0.0);
    for (int64_t i = 0; i < length; ++i)
        for (int64_t j = i + 1; j < length; ++j) m[i * length + j] = -std::numeric_limits<double>::infinity();
    return Tensor::from_vector(m, {length, length}, dtype, device);
}

// ---------------------------------------------------------------- transformer

ResidualAttentionBlock::ResidualAttentionBlock(int64_t width, int64_t heads, Generator* gen)
    : nn::Module("ResidualAttentionBlock") {
    // Registration order as clip/model.py: attn, ln_1, mlp, ln_2.
    attn = register_module("attn", std::make_shared<nn::MultiheadAttention>(width, heads, 0.0, true, false, gen));
    ln_1 = register_module("ln_1", std::make_shared<nn::LayerNorm>(width, 1e-5));
    mlp = register_module("mlp", std::make_shared<nn::Sequential>());
    c_fc = mlp->add("c_fc", std::make_shared<nn::Linear>(width, 4 * width, true, gen));
    mlp->add("gelu", std::make_shared<nn::QuickGELU>());
    c_proj = mlp->add("c_proj", std::make_shared<nn::Linear>(4 * width, width, true, gen));
    ln_2 = register_module("ln_2", std::make_shared<nn::LayerNorm>(width, 1e-5));
}

Tensor ResidualAttentionBlock::forward(const Tensor& x, const Tensor& mask, Tensor* attn_probs) {
    AttentionOutput a = attn->forward(ln_1->forward(x), mask, attn_probs != nullptr);
    if (attn_probs) *attn_probs = a.probs;
    Tensor h = add(x, a.out);
    return add(h, mlp->forward(ln_2->forward(h)));
}

ClipTransformer::ClipTransformer(int64_t width_, int64_t layers_, int64_t heads, Generator* gen)
    : nn::Module("Transformer"), width(width_), layers(layers_) {
    resblocks = register_module("resblocks", std::make_shared<nn::ModuleList>());
    for (int64_t i = 0; i < layers; ++i) resblocks->push_back(std::make_shared<ResidualAttentionBlock>(width, heads, gen));
}

Tensor ClipTransformer::forward(const Tensor& x, const Tensor& mask, std::vector<Tensor>* attn_probs) {
    Tensor h = x;
    for (size_t i = 0; i < resblocks->size(); ++i) {
        Tensor probs;
        h = block(i).forward(h, mask, attn_probs ? &probs : nullptr);
        if (attn_probs) attn_probs->push_back(probs);
    }
    return h;
}

// ---------------------------------------------------------------- vision: ViT

ClipVisionTransformer::ClipVisionTransformer(int64_t image_size_, int64_t patch_size_, int64_t width_,
                                             int64_t layers, int64_t heads, int64_t output_dim_, Generator* gen)
    : nn::Module("VisionTransformer"), image_size(image_size_), patch_size(patch_size_), width(width_),
      output_dim(output_dim_) {
    WSDOL_CHECK(patch_size > 0 && image_size % patch_size == 0, "ClipVisionTransformer: image_size ", image_size,
                " is not a multiple of patch_size ", patch_size);
    const int64_t grid = image_size / patch_size;
    // Registration order as clip/model.py: conv1, class_embedding, positional_embedding, ln_pre, transformer,
    // ln_post, proj (state_dict lists the parameters first: class_embedding, positional_embedding, proj).
    conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(3, width, patch_size, patch_size, 0, 1, 1, false, gen));
    const double scale = 1.0 / std::sqrt(static_cast<double>(width));
    class_embedding = register_parameter("class_embedding", Tensor::empty({width}));
    positional_embedding = register_parameter("positional_embedding", Tensor::empty({grid * grid + 1, width}));
    ln_pre = register_module("ln_pre", std::make_shared<nn::LayerNorm>(width, 1e-5));
    transformer = register_module("transformer", std::make_shared<ClipTransformer>(width, layers, heads, gen));
    ln_post = register_module("ln_post", std::make_shared<nn::LayerNorm>(width, 1e-5));
    proj = register_parameter("proj", Tensor::empty({width, output_dim}));
    nn::normal_(class_embedding, 0.0, scale, gen);
    nn::normal_(positional_embedding, 0.0, scale, gen);
    nn::normal_(proj, 0.0, scale, gen);
}

ClipVisionOutput ClipVisionTransformer::forward_all(const Tensor& images, bool return_attention) {
    check_image(images, image_size, "ClipVisionTransformer");
    const int64_t B = images.size(0);
    Tensor x = conv1->forward(images).flatten(2).transpose(1, 2);  // (B, g*g, W)
    Tensor cls = class_embedding.reshape({1, 1, width}).expand({B, 1, width});
    x = add(cat({cls, x}, 1), positional_embedding);                 // (B, T, W)
    x = ln_pre->forward(x).permute({1, 0, 2});                      // NLD -> LND
    ClipVisionOutput out;
    x = transformer->forward(x, Tensor(), return_attention ? &out.attn_probs : nullptr);
    out.tokens = x.permute({1, 0, 2});                              // LND -> NLD
    out.features = matmul(ln_post->forward(out.tokens.select(1, 0)), proj);
    return out;
}

// ---------------------------------------------------------------- vision: ModifiedResNet

ClipBottleneck::ClipBottleneck(int64_t inplanes, int64_t planes, int64_t stride_, Generator* gen)
    : nn::Module("Bottleneck"), stride(stride_) {
    conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(inplanes, planes, 1, 1, 0, 1, 1, false, gen));
    bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(planes));
    conv2 = register_module("conv2", std::make_shared<nn::Conv2d>(planes, planes, 3, 1, 1, 1, 1, false, gen));
    bn2 = register_module("bn2", std::make_shared<nn::BatchNorm2d>(planes));
    conv3 = register_module("conv3", std::make_shared<nn::Conv2d>(planes, 4 * planes, 1, 1, 0, 1, 1, false, gen));
    bn3 = register_module("bn3", std::make_shared<nn::BatchNorm2d>(4 * planes));
    if (stride > 1 || inplanes != 4 * planes) {
        downsample = register_module("downsample", std::make_shared<nn::Sequential>());
        downsample->add("-1", std::make_shared<AvgPool2d>(stride));
        downsample->add("0", std::make_shared<nn::Conv2d>(inplanes, 4 * planes, 1, 1, 0, 1, 1, false, gen));
        downsample->add("1", std::make_shared<nn::BatchNorm2d>(4 * planes));
    }
}

Tensor ClipBottleneck::forward(const Tensor& x) {
    Tensor out = relu(bn1->forward(conv1->forward(x)));
    out = relu(bn2->forward(conv2->forward(out)));
    if (stride > 1) out = avg_pool2d(out, {stride, stride}, {stride, stride});
    out = bn3->forward(conv3->forward(out));
    return relu(add(out, downsample ? downsample->forward(x) : x));
}

AttentionPool2d::AttentionPool2d(int64_t spacial_dim_, int64_t embed_dim_, int64_t heads_, int64_t output_dim_,
                                 Generator* gen)
    : nn::Module("AttentionPool2d"), spacial_dim(spacial_dim_), embed_dim(embed_dim_), heads(heads_),
      output_dim(output_dim_) {
    WSDOL_CHECK(heads > 0 && embed_dim % heads == 0, "AttentionPool2d: embed_dim ", embed_dim,
                " must be divisible by heads ", heads);
    positional_embedding = register_parameter("positional_embedding", Tensor::empty({spacial_dim * spacial_dim + 1, embed_dim}));
    nn::normal_(positional_embedding, 0.0, 1.0 / std::sqrt(static_cast<double>(embed_dim)), gen);
    k_proj = register_module("k_proj", std::make_shared<nn::Linear>(embed_dim, embed_dim, true, gen));
    q_proj = register_module("q_proj", std::make_shared<nn::Linear>(embed_dim, embed_dim, true, gen));
    v_proj = register_module("v_proj", std::make_shared<nn::Linear>(embed_dim, embed_dim, true, gen));
    c_proj = register_module("c_proj", std::make_shared<nn::Linear>(embed_dim, output_dim, true, gen));
}

Tensor AttentionPool2d::forward(const Tensor& x) {
    WSDOL_CHECK(x.defined() && x.dim() == 4 && x.size(1) == embed_dim && x.size(2) * x.size(3) == spacial_dim * spacial_dim,
                "AttentionPool2d: expected x (N, ", embed_dim, ", H, W) with H * W = ", spacial_dim * spacial_dim,
                ", got ", x.defined() ? shape_str(x.shape()) : "undefined");
    const int64_t N = x.size(0), C = embed_dim, hd = C / heads;
    Tensor t = x.flatten(2).transpose(1, 2);                    // (N, HW, C)
    t = cat({mean(t, {1}, true), t}, 1);                        // the mean token first: (N, T, C)
    t = add(t, positional_embedding);
    const int64_t T = t.size(1);
    auto split_heads = [&](const Tensor& y, int64_t len) {      // (N, len, C) -> (N, H, len, hd)
        return y.reshape({N, len, heads, hd}).transpose(1, 2);
    };
    // Only token 0's output is used, so it is the only query (each query row of attention is independent).
    Tensor q = split_heads(q_proj->forward(t.narrow(1, 0, 1)), 1);
    Tensor k = split_heads(k_proj->forward(t), T);
    Tensor v = split_heads(v_proj->forward(t), T);
    AttentionOutput a = attention(q, k, v);                     // scale 1/sqrt(hd), as multi_head_attention_forward
    Tensor y = a.out.transpose(1, 2).reshape({N, C});           // (N, H, 1, hd) -> (N, C)
    return c_proj->forward(y);
}

ModifiedResNet::ModifiedResNet(const std::array<int64_t, 4>& layers, int64_t output_dim_, int64_t heads,
                               int64_t input_resolution_, int64_t width_, Generator* gen)
    : nn::Module("ModifiedResNet"), input_resolution(input_resolution_), width(width_), output_dim(output_dim_) {
    WSDOL_CHECK(width >= 2 && width % 2 == 0, "ModifiedResNet: width must be even and >= 2, got ", width);
    WSDOL_CHECK(input_resolution % 32 == 0, "ModifiedResNet: input_resolution ", input_resolution,
                " is not a multiple of 32");
    conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(3, width / 2, 3, 2, 1, 1, 1, false, gen));
    bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(width / 2));
    conv2 = register_module("conv2", std::make_shared<nn::Conv2d>(width / 2, width / 2, 3, 1, 1, 1, 1, false, gen));
    bn2 = register_module("bn2", std::make_shared<nn::BatchNorm2d>(width / 2));
    conv3 = register_module("conv3", std::make_shared<nn::Conv2d>(width / 2, width, 3, 1, 1, 1, 1, false, gen));
    bn3 = register_module("bn3", std::make_shared<nn::BatchNorm2d>(width));
    int64_t inplanes = width;
    for (int s = 0; s < 4; ++s) {
        WSDOL_CHECK(layers[s] >= 1, "ModifiedResNet: layer", s + 1, " needs at least one block, got ", layers[s]);
        const int64_t planes = width << s;
        stages[s] = register_module(str("layer", s + 1), std::make_shared<nn::Sequential>());
        stages[s]->push_back(std::make_shared<ClipBottleneck>(inplanes, planes, s == 0 ? 1 : 2, gen));
        inplanes = 4 * planes;
        for (int64_t b = 1; b < layers[s]; ++b) stages[s]->push_back(std::make_shared<ClipBottleneck>(inplanes, planes, 1, gen));
    }
    attnpool = register_module("attnpool", std::make_shared<AttentionPool2d>(input_resolution / 32, 32 * width, heads,
                                                                             output_dim, gen));
}

Tensor ModifiedResNet::forward_features(const Tensor& images) {
    check_image(images, input_resolution, "ModifiedResNet");
    Tensor x = relu(bn1->forward(conv1->forward(images)));
    x = relu(bn2->forward(conv2->forward(x)));
    x = relu(bn3->forward(conv3->forward(x)));
    x = avg_pool2d(x, {2, 2}, {2, 2});
    for (auto& stage : stages) x = stage->forward(x);
    return x;
}

Tensor ModifiedResNet::forward(const Tensor& images) { return attnpool->forward(forward_features(images)); }

// ---------------------------------------------------------------- CLIP

Clip::Clip(const ClipConfig& c, Generator* gen) : nn::Module("CLIP"), cfg(c) {
    // Registration order as clip/model.py: visual, transformer, token_embedding, positional_embedding, ln_final,
    // text_projection, logit_scale.
    if (cfg.vision_resnet) {
        visual_resnet = std::make_shared<ModifiedResNet>(cfg.vision_resnet_layers, cfg.embed_dim, cfg.vision_heads,
                                                         cfg.image_size, cfg.vision_width, gen);
        visual = register_module("visual", visual_resnet);
    } else {
        visual_vit = std::make_shared<ClipVisionTransformer>(cfg.image_size, cfg.vision_patch_size, cfg.vision_width,
                                                             cfg.vision_layers, cfg.vision_heads, cfg.embed_dim, gen);
        visual = register_module("visual", visual_vit);
    }
    transformer = register_module("transformer", std::make_shared<ClipTransformer>(cfg.text_width, cfg.text_layers,
                                                                                   cfg.text_heads, gen));
    token_embedding = register_module("token_embedding", std::make_shared<nn::Embedding>(cfg.vocab_size, cfg.text_width,
                                                                                       std::nullopt, gen));
    positional_embedding = register_parameter("positional_embedding", Tensor::empty({cfg.context_length, cfg.text_width}));
    ln_final = register_module("ln_final", std::make_shared<nn::LayerNorm>(cfg.text_width, 1e-5));
    text_projection = register_parameter("text_projection", Tensor::empty({cfg.text_width, cfg.embed_dim}));
    logit_scale = register_parameter("logit_scale", Tensor::scalar(std::log(1.0 / 0.07)));

    // initialize_parameters()
    NoGradGuard no_grad;
    nn::normal_(token_embedding->weight, 0.0, 0.02, gen);
    nn::normal_(positional_embedding, 0.0, 0.01, gen);
    if (visual_resnet) {
        const double pool_std = 1.0 / std::sqrt(static_cast<double>(visual_resnet->attnpool->c_proj->in_features));
        for (auto* l : {visual_resnet->attnpool->q_proj.get(), visual_resnet->attnpool->k_proj.get(),
                        visual_resnet->attnpool->v_proj.get(), visual_resnet->attnpool->c_proj.get()})
            nn::normal_(l->weight, 0.0, pool_std, gen);
        for (auto& stage : visual_resnet->stages)
            for (size_t b = 0; b < stage->size(); ++b)
                nn::zeros_(std::dynamic_pointer_cast<ClipBottleneck>((*stage)[b])->bn3->weight);
    }
    const double W = static_cast<double>(cfg.text_width);
    const double proj_std = std::pow(W, -0.5) * std::pow(2.0 * cfg.text_layers, -0.5);
    const double attn_std = std::pow(W, -0.5), fc_std = std::pow(2.0 * W, -0.5);
    for (int64_t i = 0; i < cfg.text_layers; ++i) {
        ResidualAttentionBlock& blk = transformer->block(i);
        nn::normal_(blk.attn->in_proj_weight, 0.0, attn_std, gen);
        nn::normal_(blk.attn->out_proj->weight, 0.0, proj_std, gen);
        nn::normal_(blk.c_fc->weight, 0.0, fc_std, gen);
        nn::normal_(blk.c_proj->weight, 0.0, proj_std, gen);
    }
    nn::normal_(text_projection, 0.0, attn_std, gen);
}

Tensor Clip::encode_image(const Tensor& images) { return visual->forward(images); }

Tensor Clip::encode_text(const Tensor& text) { return encode_text_all(text).features; }

ClipTextOutput Clip::encode_text_all(const Tensor& text, bool return_attention) {
    WSDOL_CHECK(text.defined() && text.dim() == 2 && text.size(1) == cfg.context_length &&
                    (text.dtype() == DType::i64 || text.dtype() == DType::i32),
                "Clip.encode_text: expected token ids (B, ", cfg.context_length, ") of int64 or int32, got ",
                text.defined() ? shape_str(text.shape()) + " " + dtype_name(text.dtype()) : "undefined");
    const Tensor ids = text.dtype() == DType::i64 ? text : text.to(DType::i64);
    const int64_t B = ids.size(0), L = cfg.context_length, W = cfg.text_width;
    Tensor x = add(token_embedding->forward(ids), positional_embedding);           // (B, L, W)
    x = x.permute({1, 0, 2});                                                      // NLD -> LND
    ClipTextOutput out;
    x = transformer->forward(x, clip_causal_mask(L, x.dtype(), x.device()), return_attention ? &out.attn_probs : nullptr);
    out.tokens = ln_final->forward(x.permute({1, 0, 2}));                          // (B, L, W)
    // The eot token is the largest id: the first argmax of each row (PyTorch's argmax returns the first maximum).
    Tensor eot = argmax(ids, 1).reshape({B, 1, 1}).expand({B, 1, W}).contiguous();
    out.features = matmul(gather(out.tokens, 1, eot).reshape({B, W}), text_projection);  // (B, E)
    return out;
}

ClipZeroShot clip_zero_shot(const Tensor& image_features, const Tensor& text_features, const Tensor& logit_scale) {
    WSDOL_CHECK(image_features.defined() && text_features.defined() && image_features.dim() == 2 &&
                    text_features.dim() == 2 && image_features.size(1) == text_features.size(1),
                "clip_zero_shot: expected image_features (B, E) and text_features (K, E), got ",
                image_features.defined() ? shape_str(image_features.shape()) : "undefined", " and ",
                text_features.defined() ? shape_str(text_features.shape()) : "undefined");
    WSDOL_CHECK(logit_scale.defined() && logit_scale.numel() == 1, "clip_zero_shot: logit_scale must be a scalar, got ",
                logit_scale.defined() ? shape_str(logit_scale.shape()) : "undefined");
    // clip/model.py: features / features.norm(dim=1, keepdim=True) (no epsilon), then
    // (logit_scale.exp() * image) @ text^T, evaluated left to right as written there.
    Tensor img = div(image_features, norm(image_features, 2.0, {1}, true));
    Tensor txt = div(text_features, norm(text_features, 2.0, {1}, true));
    ClipZeroShot z;
    z.logits = matmul(mul(img, exp(logit_scale.reshape({}))), txt.t());
    z.probs = softmax(z.logits, 1);
    return z;
}

ClipOutput Clip::forward(const Tensor& images, const Tensor& text) {
    ClipOutput out;
    out.image_features = encode_image(images);
    out.text_features = encode_text(text);
    out.logits_per_image = clip_zero_shot(out.image_features, out.text_features, logit_scale).logits;
    out.logits_per_text = out.logits_per_image.t();
    return out;
}

ClipZeroShot Clip::zero_shot(const Tensor& images, const Tensor& text) {
    return clip_zero_shot(encode_image(images), encode_text(text), logit_scale);
}

}  // namespace wsdol::models
