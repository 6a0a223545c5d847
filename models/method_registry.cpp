// method_registry.cpp — the method table and MethodConfig's option reads (see method_registry.h).
#include "models/method_registry.h"

#include "engine/core/parse.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "engine/core/error.h"
#include "models/vit.h"

namespace wsdol::models {

namespace {

std::map<std::string, MethodInfo>& table() {
    static std::map<std::string, MethodInfo> t;
    return t;
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
    const double v = it == options.end() ? fallback : parse_number(str("method option '", key, "'"), it->second);
    used_[key] = number_text(v);
    return v;
}

int64_t MethodConfig::get_int(const std::string& key, int64_t fallback) const {
    auto it = options.find(key);
    const int64_t v = it == options.end() ? fallback : parse_integer(str("method option '", key, "'"), it->second);
    used_[key] = std::to_string(v);
    return v;
}

bool MethodConfig::get_bool(const std::string& key, bool fallback) const {
    auto it = options.find(key);
    const bool v = it == options.end() ? fallback : parse_boolean(str("method option '", key, "'"), it->second);
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

const MethodInfo& method_info(const std::string& name) {
    auto it = table().find(name);
    if (it == table().end()) {
        std::string known;
        for (const auto& [n, info] : table()) known += (known.empty() ? "" : ", ") + n;
        fail(str("unknown method '", name, "' (known: ", known, ")"));
    }
    return it->second;
}

std::unique_ptr<Method> make_method(const std::string& name, const MethodConfig& config) {
    const auto it = table().find(method_info(name).name);
    WSDOL_CHECK(!config.class_names.empty(), "method ", name, ": no classes given");
    std::unique_ptr<Method> method = it->second.make(config);
    WSDOL_CHECK(method != nullptr, "method ", name, ": the factory returned nothing");
    for (const auto& [key, value] : config.options) {
        if (config.options_used().count(key)) continue;
        std::string valid;
        for (const auto& [k, v] : config.options_used()) valid += (valid.empty() ? "" : ", ") + k;
        fail(str("method ", name, ": unknown option '", key, "' (= ", value, "); valid options: ", valid));
    }
    return method;
}

void read_vit_options(const MethodConfig& config, ViTConfig& cfg, const std::string& method) {
    cfg.image_size = config.get_int("image_size", cfg.image_size);
    cfg.patch_size = config.get_int("patch_size", cfg.patch_size);
    cfg.embed_dim = config.get_int("embed_dim", cfg.embed_dim);
    cfg.depth = config.get_int("depth", cfg.depth);
    cfg.num_heads = config.get_int("num_heads", cfg.num_heads);
    cfg.drop_path_rate = config.get_double("drop_path_rate", cfg.drop_path_rate);
    check_vit_shape(method, cfg.image_size, cfg.patch_size, cfg.embed_dim,
                    cfg.depth, cfg.num_heads, cfg.mlp_ratio, cfg.drop_path_rate);
}

}  // namespace wsdol::models

