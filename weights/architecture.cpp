// architecture.cpp — which network a set of named tensors belongs to, from names and shapes only: marker keys pick
// the family, shapes give the configuration (as openai/CLIP build_model does), and the released sizes get their
// names ("OpenAI CLIP ViT-B/16", "DeiT-S/16", "ResNet-50"); anything else is described as a custom size.
// Parameter counts follow formats.md §3.9: floating tensors only, BN running statistics and counters excluded
// (as are integer buffers such as HF position_ids and the TorchScript scalars, and CLIP's attn_mask constants).
#include "weights/architecture.h"

#include <array>
#include <cmath>
#include <map>
#include <set>

namespace wsdol::weights {

const char* architecture_name(Architecture arch) {
    switch (arch) {
        case Architecture::unknown: return "unknown";
        case Architecture::openai_clip_vit: return "openai_clip_vit";
        case Architecture::openai_clip_resnet: return "openai_clip_resnet";
        case Architecture::hf_clip: return "hf_clip";
        case Architecture::timm_clip_vit: return "timm_clip_vit";
        case Architecture::timm_vit: return "timm_vit";
        case Architecture::timm_deit_distilled: return "timm_deit_distilled";
        case Architecture::torchvision_resnet: return "torchvision_resnet";
        case Architecture::wide_resnet38: return "wide_resnet38";
    }
    return "?";
}

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// Names and shapes, with lookups that answer 0 / -1 instead of throwing, so a damaged checkpoint still gets a
// best-effort description.
class Shapes {
public:
    explicit Shapes(const NamedTensors& t) {
        for (const auto& [name, tensor] : t) shapes_[name] = tensor.defined() ? tensor.shape() : Shape{};
    }
    bool has(const std::string& k) const { return shapes_.count(k) != 0; }
    // dim d of k's shape, or -1 when k is absent or has fewer dims
    int64_t dim(const std::string& k, int d) const {
        auto it = shapes_.find(k);
        if (it == shapes_.end()) return -1;
        const Shape& s = it->second;
        if (d < 0) d += static_cast<int>(s.size());
        return d >= 0 && d < static_cast<int>(s.size()) ? s[d] : -1;
    }
    // number of distinct block indices i in "<prefix>i.<rest>"
    int64_t count_indices(const std::string& prefix) const {
        std::set<std::string> seen;
        for (const auto& [name, s] : shapes_)
            if (starts_with(name, prefix)) {
                const size_t dot = name.find('.', prefix.size());
                if (dot != std::string::npos) seen.insert(name.substr(prefix.size(), dot - prefix.size()));
            }
        return static_cast<int64_t>(seen.size());
    }

private:
    std::map<std::string, Shape> shapes_;
};

// side of a square grid with `tokens - prefix` cells, or -1
int64_t grid_side(int64_t tokens, int64_t prefix) {
    if (tokens < prefix) return -1;
    const auto g = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(tokens - prefix))));
    return g * g + prefix == tokens ? g : -1;
}

// ---- CLIP (OpenAI and HF names share this description)

struct ClipShape {
    bool resnet = false;
    int64_t vision_width = -1, vision_layers = -1, patch = -1, image = -1;
    std::array<int64_t, 4> stages{-1, -1, -1, -1};
    int64_t text_width = -1, text_layers = -1, context = -1, vocab = -1, embed = -1;
};

struct NamedClip {
    const char* name;
    ClipShape shape;
};

bool same_clip(const ClipShape& a, const ClipShape& b) {
    return a.resnet == b.resnet && a.vision_width == b.vision_width && a.image == b.image && a.embed == b.embed &&
           a.text_width == b.text_width && a.text_layers == b.text_layers && a.context == b.context &&
           a.vocab == b.vocab &&
           (a.resnet ? a.stages == b.stages : (a.vision_layers == b.vision_layers && a.patch == b.patch));
}

// The OpenAI releases (clip.py _MODELS) this description names.
const NamedClip kReleasedClips[] = {
    {"ViT-B/32", {false, 768, 12, 32, 224, {}, 512, 12, 77, 49408, 512}},
    {"ViT-B/16", {false, 768, 12, 16, 224, {}, 512, 12, 77, 49408, 512}},
    {"ViT-L/14", {false, 1024, 24, 14, 224, {}, 768, 12, 77, 49408, 768}},
    {"ViT-L/14@336px", {false, 1024, 24, 14, 336, {}, 768, 12, 77, 49408, 768}},
    {"RN50", {true, 64, -1, -1, 224, {3, 4, 6, 3}, 512, 12, 77, 49408, 1024}},
    {"RN101", {true, 64, -1, -1, 224, {3, 4, 23, 3}, 512, 12, 77, 49408, 512}},
    {"RN50x4", {true, 80, -1, -1, 288, {4, 6, 10, 6}, 640, 12, 77, 49408, 640}},
    {"RN50x16", {true, 96, -1, -1, 384, {6, 8, 18, 8}, 768, 12, 77, 49408, 768}},
    {"RN50x64", {true, 128, -1, -1, 448, {3, 15, 36, 10}, 1024, 12, 77, 49408, 1024}},
};

std::string describe_clip(const char* family, const ClipShape& c) {
    std::string vision;
    if (c.resnet)
        vision = str("vision ModifiedResNet (", c.stages[0], ",", c.stages[1], ",", c.stages[2], ",", c.stages[3],
                     ") width ", c.vision_width, ", image ", c.image);
    else
        vision = str("vision ", c.vision_width, "x", c.vision_layers, ", patch ", c.patch, ", image ", c.image);
    const std::string sizes = str(vision, "; text ", c.text_width, "x", c.text_layers, ", context ", c.context,
                                  ", vocab ", c.vocab, "; embed ", c.embed);
    for (const NamedClip& r : kReleasedClips)
        if (same_clip(c, r.shape)) return str(family, " ", r.name, " (", sizes, ")");
    return str(family, c.resnet ? " ResNet" : " ViT", " (custom size: ", sizes, ")");
}

ClipShape openai_clip_shape(const Shapes& s) {
    ClipShape c;
    c.resnet = !s.has("visual.proj");
    if (c.resnet) {
        for (int b = 0; b < 4; ++b) c.stages[b] = s.count_indices(str("visual.layer", b + 1, "."));
        c.vision_width = s.dim("visual.layer1.0.conv1.weight", 0);
        const int64_t g = grid_side(s.dim("visual.attnpool.positional_embedding", 0), 1);
        c.image = g < 0 ? -1 : 32 * g;
    } else {
        c.vision_width = s.dim("visual.conv1.weight", 0);
        c.patch = s.dim("visual.conv1.weight", 3);
        c.vision_layers = s.count_indices("visual.transformer.resblocks.");
        const int64_t g = grid_side(s.dim("visual.positional_embedding", 0), 1);
        c.image = g < 0 || c.patch < 0 ? -1 : g * c.patch;
    }
    c.text_width = s.dim("ln_final.weight", 0);
    c.text_layers = s.count_indices("transformer.resblocks.");
    c.context = s.dim("positional_embedding", 0);
    c.vocab = s.dim("token_embedding.weight", 0);
    c.embed = s.dim("text_projection", 1);
    return c;
}

ClipShape hf_clip_shape(const Shapes& s) {
    ClipShape c;
    c.vision_width = s.dim("vision_model.embeddings.patch_embedding.weight", 0);
    c.patch = s.dim("vision_model.embeddings.patch_embedding.weight", 3);
    c.vision_layers = s.count_indices("vision_model.encoder.layers.");
    const int64_t g = grid_side(s.dim("vision_model.embeddings.position_embedding.weight", 0), 1);
    c.image = g < 0 || c.patch < 0 ? -1 : g * c.patch;
    c.text_width = s.dim("text_model.embeddings.token_embedding.weight", 1);
    c.vocab = s.dim("text_model.embeddings.token_embedding.weight", 0);
    c.context = s.dim("text_model.embeddings.position_embedding.weight", 0);
    c.text_layers = s.count_indices("text_model.encoder.layers.");
    c.embed = s.has("text_projection.weight") ? s.dim("text_projection.weight", 0) : s.dim("visual_projection.weight", 0);
    return c;
}

// ---- timm ViTs

std::string describe_timm_vit(const Shapes& s, bool distilled, bool clip_tower) {
    const int64_t width = s.dim("patch_embed.proj.weight", 0), patch = s.dim("patch_embed.proj.weight", 3);
    const int64_t depth = s.count_indices("blocks.");
    const int64_t prefix = std::max<int64_t>(s.dim("cls_token", 1), 1) + (distilled ? 1 : 0);
    const int64_t g = grid_side(s.dim("pos_embed", 1), prefix);
    const int64_t image = g < 0 || patch < 0 ? -1 : g * patch;
    const int64_t classes = s.has("head.weight") ? s.dim("head.weight", 0) : 0;
    const std::string sizes = str("width ", width, ", depth ", depth, ", patch ", patch, ", image ", image);
    if (clip_tower) {
        const bool b16 = width == 768 && depth == 12 && patch == 16 && image == 224;
        const bool b32 = width == 768 && depth == 12 && patch == 32 && image == 224;
        return str("timm CLIP image tower", b16 ? " ViT-B/16" : b32 ? " ViT-B/32" : " (custom size)", " (", sizes,
                   ", projection ", classes, ")");
    }
    std::string name;
    if (depth == 12 && patch == 16 && image == 224 && prefix == (distilled ? 2 : 1)) {
        if (width == 192) name = "DeiT-Ti/16";
        if (width == 384) name = "DeiT-S/16";
        if (width == 768) name = distilled ? "DeiT-B/16" : "DeiT-B/16 or ViT-B/16";
    }
    const std::string extra = prefix > (distilled ? 2 : 1) ? str(", ", prefix, " prefix tokens") : "";
    return str(name.empty() ? "timm ViT" : name, distilled ? " distilled" : "",
               name.empty() ? " (custom size: " : " (", sizes, extra, ", ", classes, " classes)");
}

// ---- torchvision ResNet

std::string describe_torchvision_resnet(const Shapes& s, const NamedTensors& t) {
    std::array<int64_t, 4> layers{};
    for (int b = 0; b < 4; ++b) layers[b] = s.count_indices(str("layer", b + 1, "."));
    const bool bottleneck = s.has("layer1.0.conv3.weight");
    const int64_t width = s.dim("conv1.weight", 0);
    const int64_t classes = s.has("fc.weight") ? s.dim("fc.weight", 0) : 0;
    bool counters = false;
    for (const auto& [name, tensor] : t) counters = counters || ends_with(name, "num_batches_tracked");
    std::string name;
    if (width == 64) {
        if (bottleneck && layers == std::array<int64_t, 4>{3, 4, 6, 3}) name = "ResNet-50";
        if (bottleneck && layers == std::array<int64_t, 4>{3, 4, 23, 3}) name = "ResNet-101";
        if (bottleneck && layers == std::array<int64_t, 4>{3, 8, 36, 3}) name = "ResNet-152";
        if (!bottleneck && layers == std::array<int64_t, 4>{2, 2, 2, 2}) name = "ResNet-18";
        if (!bottleneck && layers == std::array<int64_t, 4>{3, 4, 6, 3}) name = "ResNet-34";
    }
    return str("torchvision ", name.empty() ? "ResNet (custom size: " : name + " (",
               bottleneck ? "Bottleneck" : "BasicBlock, not supported by models/resnet.h", ", layers ", layers[0], ",",
               layers[1], ",", layers[2], ",", layers[3], ", width ", width, ", ", classes, " classes, ",
               counters ? "with" : "without", " BN counters)");
}

// ---- PSA / MCTformer ResNet-38d

// Trunk keys are conv1a.*, b2* .. b7*, bn7.*; anything else (PSA's fc8, MCTformer's fc8_seg_conv1/2, AffinityNet's
// f8_3 ...) is a task head on top, listed by top-level name.
std::string describe_wide_resnet38(const NamedTensors& t, const Shapes& s) {
    const int64_t width = s.dim("conv1a.weight", 0);
    std::set<std::string> heads;
    for (const auto& [name, tensor] : t) {
        const std::string top = name.substr(0, name.find('.'));
        const bool trunk = top == "conv1a" || top == "bn7" || (top.size() >= 2 && top[0] == 'b' && top[1] >= '2' &&
                                                                 top[1] <= '7');
        if (!trunk) heads.insert(top);
    }
    std::string extra;
    for (const std::string& h : heads) extra += (extra.empty() ? ", head " : ", ") + h;
    return str(width == 64 ? "WideResNet-38 (ResNet-38d, " : "WideResNet-38 (ResNet-38d, custom width " + str(width) + ", ",
               64 * width, " output channels, output stride 8", extra, ")");
}

bool counts_as_parameter(const std::string& name, const Tensor& t) {
    if (!t.defined() || !is_floating(t.dtype())) return false;  // position_ids, counters, TorchScript scalars
    for (const char* buffer : {"running_mean", "running_var", "attn_mask"})
        if (name == buffer || ends_with(name, std::string(".") + buffer)) return false;
    return true;
}

}  // namespace

DetectedArchitecture detect_architecture(const NamedTensors& tensors) {
    const Shapes s(tensors);
    DetectedArchitecture d;
    for (const auto& [name, t] : tensors)
        if (counts_as_parameter(name, t)) d.parameter_count += t.numel();

    if (s.has("vision_model.embeddings.patch_embedding.weight") || s.has("text_model.embeddings.token_embedding.weight")) {
        d.arch = Architecture::hf_clip;
        d.description = describe_clip("HF CLIPModel", hf_clip_shape(s));
    } else if (s.has("visual.attnpool.positional_embedding") || s.has("visual.layer1.0.conv1.weight")) {
        d.arch = Architecture::openai_clip_resnet;
        d.description = describe_clip("OpenAI CLIP", openai_clip_shape(s));
    } else if (s.has("visual.conv1.weight") || s.has("visual.proj") || s.has("visual.class_embedding")) {
        d.arch = Architecture::openai_clip_vit;
        d.description = describe_clip("OpenAI CLIP", openai_clip_shape(s));
    } else if (s.has("dist_token") && s.has("pos_embed")) {
        d.arch = Architecture::timm_deit_distilled;
        d.description = describe_timm_vit(s, true, false);
    } else if (s.has("norm_pre.weight") && s.has("pos_embed") && s.has("blocks.0.attn.qkv.weight")) {
        d.arch = Architecture::timm_clip_vit;
        d.description = describe_timm_vit(s, false, true);
    } else if (s.has("cls_token") && s.has("pos_embed") && s.has("patch_embed.proj.weight")) {
        d.arch = Architecture::timm_vit;
        d.description = describe_timm_vit(s, false, false);
    } else if (s.has("conv1a.weight") && s.has("b2.conv_branch2a.weight")) {
        d.arch = Architecture::wide_resnet38;
        d.description = describe_wide_resnet38(tensors, s);
    } else if (s.dim("conv1.weight", 1) == 3 && s.has("layer1.0.conv1.weight") && s.has("bn1.weight")) {
        d.arch = Architecture::torchvision_resnet;
        d.description = describe_torchvision_resnet(s, tensors);
    } else {
        d.description = str("unknown architecture (", tensors.size(), " tensors",
                            tensors.empty() ? "" : ", first '" + tensors.front().first + "'", ")");
    }
    return d;
}

}  // namespace wsdol::weights
