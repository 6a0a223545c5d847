// method_registry.cpp — the method table and MethodConfig's option reads (see method_registry.h).
#include "models/method_registry.h"

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

void read_vit_options(const MethodConfig& config, ViTConfig& cfg) {
    cfg.image_size = config.get_int("image_size", cfg.image_size);
    cfg.patch_size = config.get_int("patch_size", cfg.patch_size);
    cfg.embed_dim = config.get_int("embed_dim", cfg.embed_dim);
    cfg.depth = config.get_int("depth", cfg.depth);
    cfg.num_heads = config.get_int("num_heads", cfg.num_heads);
    cfg.drop_path_rate = config.get_double("drop_path", cfg.drop_path_rate);
}

}  // namespace wsdol::models

