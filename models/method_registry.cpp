// method_registry.cpp — the method table and MethodConfig's option reads (see method_registry.h).
#include "models/method_registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "engine/core/error.h"

namespace wsdol::models {

namespace {

std::map<std::string, MethodInfo>& table() {
    static std::map<std::string, MethodInfo> t;
    return t;
}

// Shortest text that reads back to the same double.
std::string number_text(double v) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

}  // namespace

std::string MethodConfig::get(const std::string& key, const std::string& fallback) const {
    auto it = options.find(key);
    const std::string value = it == options.end() ? fallback : it->second;
    used_[key] = value;
    return value;
}

double MethodConfig::get_double(const std::string& key, double fallback) const {
    auto it = options.find(key);
    if (it == options.end()) {
        used_[key] = number_text(fallback);
        return fallback;
    }
    const std::string& s = it->second;
    double v = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    WSDOL_CHECK(r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(v), "method option '", key,
                "': expected a number, got '", s, "'");
    used_[key] = number_text(v);
    return v;
}

int64_t MethodConfig::get_int(const std::string& key, int64_t fallback) const {
    auto it = options.find(key);
    if (it == options.end()) {
        used_[key] = std::to_string(fallback);
        return fallback;
    }
    const std::string& s = it->second;
    int64_t v = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    WSDOL_CHECK(r.ec == std::errc() && r.ptr == s.data() + s.size(), "method option '", key,
                "': expected an integer, got '", s, "'");
    used_[key] = std::to_string(v);
    return v;
}

bool MethodConfig::get_bool(const std::string& key, bool fallback) const {
    auto it = options.find(key);
    bool v = fallback;
    if (it != options.end()) {
        const std::string& s = it->second;
        if (s == "true" || s == "1" || s == "yes") v = true;
        else if (s == "false" || s == "0" || s == "no") v = false;
        else fail(str("method option '", key, "': expected true or false, got '", s, "'"));
    }
    used_[key] = v ? "true" : "false";
    return v;
}

bool register_method(MethodInfo info) {
    const std::string name = info.name;
    table()[name] = std::move(info);
    return true;
}

std::vector<MethodInfo> registered_methods() {
    std::vector<MethodInfo> out;
    for (const auto& [name, info] : table()) out.push_back(info);
    return out;
}

bool has_method(const std::string& name) { return table().count(name) != 0; }

std::unique_ptr<Method> make_method(const std::string& name, const MethodConfig& config) {
    auto it = table().find(name);
    if (it == table().end()) {
        std::string known;
        for (const auto& [n, info] : table()) known += (known.empty() ? "" : ", ") + n;
        fail(str("unknown method '", name, "' (known: ", known, ")"));
    }
    WSDOL_CHECK(!config.class_names.empty(), "method ", name, ": no classes given");
    std::unique_ptr<Method> method = it->second.make(config);
    WSDOL_CHECK(method != nullptr, "method ", name, ": the factory returned nothing");
    for (const auto& [key, value] : config.options)
        WSDOL_CHECK(config.options_used().count(key), "method ", name, ": unknown option '", key, "' (= ", value, ")");
    return method;
}

}  // namespace wsdol::models

// ---------------------------------------------------------------------------------------------------------------
// The built-in methods. Each factory reads its options, builds the network from the MethodConfig's generator,
// and loads pretrained files when given (not when the weights come from a checkpoint).

#include "models/cam_method.h"
#include "weights/name_maps.h"
#include "weights/weights_file.h"

namespace wsdol::models {

void load_backbone_weights(nn::Module& backbone, const std::string& path, const std::string& target,
                           const MethodConfig& config) {
    const weights::Architecture arch =
        target == "timm_vit" ? weights::Architecture::timm_vit : weights::Architecture::torchvision_resnet;
    const weights::WeightsFile file = weights::read_weights(path);
    const weights::LoadResult r = weights::load_into(backbone, file.tensors, arch, false);
    WSDOL_CHECK(!r.architecture_mismatch, "--backbone ", path, ": expected a ",
                weights::architecture_name(arch), " checkpoint, found ", r.file.description);
    WSDOL_CHECK(r.report.missing.empty() && r.report.mismatched.empty(), "--backbone ", path,
                ": does not fit the backbone:\n", r.report.str());
    config.say(str("backbone: loaded ", path, " (", r.file.description, ")"));
}

namespace {

// ViT options shared by the ViT-based methods; a pretrained file sets the widths it has.
ViTConfig vit_options(const MethodConfig& c, ViTConfig v) {
    v.image_size = c.get_int("image_size", v.image_size);
    v.patch_size = c.get_int("patch_size", v.patch_size);
    v.embed_dim = c.get_int("embed_dim", v.embed_dim);
    v.depth = c.get_int("depth", v.depth);
    v.num_heads = c.get_int("num_heads", v.num_heads);
    v.drop_path_rate = c.get_double("drop_path_rate", v.drop_path_rate);
    WSDOL_CHECK(v.image_size % v.patch_size == 0, "method option 'image_size' (", v.image_size,
                ") must be a multiple of 'patch_size' (", v.patch_size, ")");
    WSDOL_CHECK(v.embed_dim % v.num_heads == 0, "method option 'embed_dim' (", v.embed_dim,
                ") must be a multiple of 'num_heads' (", v.num_heads, ")");
    return v;
}

std::unique_ptr<Method> make_cam(const MethodConfig& c) {
    const std::string backbone = c.get("backbone", "vit");
    CamConfig cfg = cam_config(cam_backbone_from_name(backbone), int64_t(c.class_names.size()));
    if (cfg.backbone == CamBackbone::vit) cfg.vit = vit_options(c, cfg.vit);
    auto method = std::make_unique<CamMethod>(cfg, c.generator);
    if (c.weights_from_checkpoint) return method;
    if (c.backbone_weights.empty()) {
        c.say(str("cam: no --backbone given: the ", backbone, " backbone starts from random initialisation"));
    } else if (cfg.backbone == CamBackbone::vit) {
        load_backbone_weights(*method->net().vit, c.backbone_weights, "timm_vit", c);
    } else {
        load_backbone_weights(*method->net().resnet50, c.backbone_weights, "torchvision_resnet", c);
    }
    return method;
}

}  // namespace

WSDOL_METHOD(MethodInfo{"cam", "CAM baseline (backbone vit | resnet50; options: backbone, image_size, patch_size, "
                               "embed_dim, depth, num_heads, drop_path_rate)",
                        make_cam});

}  // namespace wsdol::models
