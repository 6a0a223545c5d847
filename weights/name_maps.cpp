// name_maps.cpp — the HF CLIP / timm CLIP -> OpenAI CLIP renames, the TorchScript clean-up, and load_into().
#include "weights/name_maps.h"

#include <array>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "engine/autograd/autograd.h"

namespace wsdol::weights {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }
bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A fresh contiguous copy of a 2-D tensor's transpose, in its own dtype: (out, in) Linear weight <-> (in, out) CLIP
// projection parameter.
Tensor transposed_copy(const Tensor& w) {
    NoGradGuard no_grad;
    Tensor out = Tensor::empty({w.size(1), w.size(0)}, w.dtype(), w.device());
    out.copy_(w.t());
    return out;
}

// "<prefix><i>.<rest>" -> (i, rest), when name has that form
std::optional<std::pair<std::string, std::string>> split_block(const std::string& name, const std::string& prefix) {
    if (!starts_with(name, prefix)) return std::nullopt;
    const size_t dot = name.find('.', prefix.size());
    if (dot == std::string::npos || dot == prefix.size()) return std::nullopt;
    const std::string index = name.substr(prefix.size(), dot - prefix.size());
    for (char c : index)
        if (c < '0' || c > '9') return std::nullopt;
    return std::make_pair(index, name.substr(dot + 1));
}

// Output under construction: entries in file order; a packed q|k|v tensor is built once its three parts are seen
// and placed where the first of them was.
class Builder {
public:
    void put(const std::string& name, const Tensor& t) { out_.tensors.emplace_back(name, t); }
    void drop(const std::string& name, const std::string& why) { out_.dropped.push_back(name + " (" + why + ")"); }
    // part: 0 = q, 1 = k, 2 = v, of the packed tensor `packed_name`; `original` is the file's name for the part
    void part(const std::string& packed_name, int part, const std::string& original, const Tensor& t) {
        auto [it, fresh] = groups_.try_emplace(packed_name);
        if (fresh) {
            it->second.slot = out_.tensors.size();
            out_.tensors.emplace_back(packed_name, Tensor());  // filled in finish()
        }
        it->second.parts[part] = {original, t};
    }
    MappedTensors finish() {
        NamedTensors leftovers;  // parts of incomplete or inconsistent triples, under their file names
        for (auto& [packed_name, g] : groups_) {
            bool complete = true;
            for (const auto& p : g.parts) complete = complete && p.second.defined();
            if (complete) {
                const Shape& s = g.parts[0].second.shape();
                const DType dt = g.parts[0].second.dtype();
                for (const auto& p : g.parts) complete = complete && p.second.shape() == s && p.second.dtype() == dt;
                complete = complete && !s.empty();
            }
            if (!complete) {
                for (const auto& p : g.parts)
                    if (p.second.defined()) leftovers.emplace_back(p.first, p.second);
                continue;
            }
            // rows [0, D) q, [D, 2D) k, [2D, 3D) v: PyTorch's MultiheadAttention packing (formats.md §3.1)
            Shape packed_shape = g.parts[0].second.shape();
            const int64_t D = packed_shape[0];
            packed_shape[0] = 3 * D;
            NoGradGuard no_grad;
            Tensor packed = Tensor::empty(packed_shape, g.parts[0].second.dtype(), g.parts[0].second.device());
            for (int i = 0; i < 3; ++i) packed.narrow(0, i * D, D).copy_(g.parts[i].second);
            out_.tensors[g.slot].second = packed;
        }
        NamedTensors kept;
        for (auto& entry : out_.tensors)
            if (entry.second.defined()) kept.push_back(std::move(entry));
        for (auto& entry : leftovers) kept.push_back(std::move(entry));
        out_.tensors = std::move(kept);
        return std::move(out_);
    }

private:
    struct Group {
        size_t slot = 0;
        std::array<std::pair<std::string, Tensor>, 3> parts;
    };
    MappedTensors out_;
    std::map<std::string, Group> groups_;
};

// HF encoder layer tail -> OpenAI block tail ("layer_norm1.weight" -> "ln_1.weight"); "" when unknown.
std::string hf_block_tail(const std::string& rest) {
    static const std::pair<const char*, const char*> kRenames[] = {
        {"self_attn.out_proj.", "attn.out_proj."}, {"layer_norm1.", "ln_1."}, {"layer_norm2.", "ln_2."},
        {"mlp.fc1.", "mlp.c_fc."},                 {"mlp.fc2.", "mlp.c_proj."},
    };
    for (const auto& [from, to] : kRenames)
        if (starts_with(rest, from)) return to + rest.substr(std::string(from).size());
    return "";
}

bool all_zero(const Tensor& t) {
    for (double v : t.to_vector())
        if (v != 0.0) return false;
    return true;
}

}  // namespace

// ---------------------------------------------------------------- HF CLIPModel -> OpenAI

MappedTensors hf_clip_to_openai(const NamedTensors& hf) {
    static const std::map<std::string, std::string> kDirect = {
        {"logit_scale", "logit_scale"},
        {"vision_model.embeddings.class_embedding", "visual.class_embedding"},
        {"vision_model.embeddings.patch_embedding.weight", "visual.conv1.weight"},
        {"vision_model.embeddings.position_embedding.weight", "visual.positional_embedding"},
        {"vision_model.pre_layrnorm.weight", "visual.ln_pre.weight"},  // sic: HF's "layrnorm"
        {"vision_model.pre_layrnorm.bias", "visual.ln_pre.bias"},
        {"vision_model.post_layernorm.weight", "visual.ln_post.weight"},
        {"vision_model.post_layernorm.bias", "visual.ln_post.bias"},
        {"text_model.embeddings.token_embedding.weight", "token_embedding.weight"},
        {"text_model.embeddings.position_embedding.weight", "positional_embedding"},
        {"text_model.final_layer_norm.weight", "ln_final.weight"},
        {"text_model.final_layer_norm.bias", "ln_final.bias"},
    };
    static const std::pair<const char*, const char*> kTowers[] = {
        {"vision_model.encoder.layers.", "visual.transformer.resblocks."},
        {"text_model.encoder.layers.", "transformer.resblocks."},
    };
    Builder b;
    for (const auto& [name, t] : hf) {
        if (auto it = kDirect.find(name); it != kDirect.end()) {
            b.put(it->second, t);
            continue;
        }
        if (ends_with(name, "embeddings.position_ids")) {
            b.drop(name, "HF position_ids buffer, not a weight");
            continue;
        }
        if ((name == "visual_projection.weight" || name == "text_projection.weight") && t.dim() == 2) {
            // Linear(W, E, bias=False).weight is (E, W); OpenAI's parameter is (W, E), used as x @ P
            b.put(name == "visual_projection.weight" ? "visual.proj" : "text_projection", transposed_copy(t));
            continue;
        }
        bool mapped = false;
        for (const auto& [hf_prefix, our_prefix] : kTowers) {
            auto block = split_block(name, hf_prefix);
            if (!block) continue;
            const auto& [index, rest] = *block;
            const std::string base = std::string(our_prefix) + index + ".";
            static const char* kParts[] = {"self_attn.q_proj.", "self_attn.k_proj.", "self_attn.v_proj."};
            for (int p = 0; p < 3 && !mapped; ++p) {
                const std::string part = kParts[p];
                if (rest == part + "weight" || rest == part + "bias") {
                    b.part(base + "attn.in_proj_" + rest.substr(part.size()), p, name, t);
                    mapped = true;
                }
            }
            if (!mapped) {
                const std::string tail = hf_block_tail(rest);
                if (!tail.empty()) {
                    b.put(base + tail, t);
                    mapped = true;
                }
            }
            break;
        }
        if (!mapped) b.put(name, t);  // unknown: a strict load reports it under its own name
    }
    return b.finish();
}

// ---------------------------------------------------------------- timm CLIP tower -> OpenAI

MappedTensors timm_clip_to_openai(const NamedTensors& timm) {
    static const std::map<std::string, std::string> kDirect = {
        {"patch_embed.proj.weight", "visual.conv1.weight"},
        {"norm_pre.weight", "visual.ln_pre.weight"}, {"norm_pre.bias", "visual.ln_pre.bias"},
        {"norm.weight", "visual.ln_post.weight"},     {"norm.bias", "visual.ln_post.bias"},
    };
    static const std::pair<const char*, const char*> kBlock[] = {
        {"norm1.", "ln_1."},           {"norm2.", "ln_2."},           {"attn.qkv.", "attn.in_proj_"},
        {"attn.proj.", "attn.out_proj."}, {"mlp.fc1.", "mlp.c_fc."}, {"mlp.fc2.", "mlp.c_proj."},
    };
    Builder b;
    for (const auto& [name, t] : timm) {
        if (auto it = kDirect.find(name); it != kDirect.end()) {
            b.put(it->second, t);
        } else if (name == "cls_token" && t.dim() == 3 && t.size(0) == 1 && t.size(1) == 1) {
            b.put("visual.class_embedding", t.reshape({t.size(2)}));
        } else if (name == "pos_embed" && t.dim() == 3 && t.size(0) == 1) {
            b.put("visual.positional_embedding", t.reshape({t.size(1), t.size(2)}));
        } else if (name == "head.weight" && t.dim() == 2) {
            b.put("visual.proj", transposed_copy(t));  // (E, W) Linear weight -> (W, E)
        } else if (name == "head.bias" && all_zero(t)) {
            b.drop(name, "all zero: OpenAI's proj has no bias");
        } else if (auto block = split_block(name, "blocks.")) {
            const auto& [index, rest] = *block;
            std::string mapped;
            for (const auto& [from, to] : kBlock)
                if (starts_with(rest, from)) mapped = to + rest.substr(std::string(from).size());
            b.put(mapped.empty() ? name : "visual.transformer.resblocks." + index + "." + mapped, t);
        } else {
            b.put(name, t);  // e.g. a non-zero head.bias or a patch bias: reported as unexpected
        }
    }
    return b.finish();
}

// ---------------------------------------------------------------- OpenAI clean-up

MappedTensors openai_clip_clean(const NamedTensors& openai) {
    Builder b;
    for (const auto& [name, t] : openai) {
        if ((name == "input_resolution" || name == "context_length" || name == "vocab_size") && t.dim() == 0 &&
            !is_floating(t.dtype())) {
            b.drop(name, "TorchScript release scalar, not a weight");
        } else if (name == "attn_mask" || ends_with(name, ".attn_mask")) {
            b.drop(name, "causal mask constant, rebuilt by the model");
        } else {
            b.put(name, t);
        }
    }
    return b.finish();
}

// ---------------------------------------------------------------- dispatch

namespace {
bool is_model_naming(Architecture a) {
    return a == Architecture::openai_clip_vit || a == Architecture::openai_clip_resnet || a == Architecture::timm_vit ||
           a == Architecture::timm_deit_distilled || a == Architecture::torchvision_resnet ||
           a == Architecture::wide_resnet38;
}
}  // namespace

bool can_map(Architecture file, Architecture target) {
    if (!is_model_naming(target)) return false;
    if (file == target) return true;
    return target == Architecture::openai_clip_vit && (file == Architecture::hf_clip || file == Architecture::timm_clip_vit);
}

MappedTensors map_names(const NamedTensors& tensors, Architecture file, Architecture target) {
    WSDOL_CHECK(can_map(file, target), "map_names: no map from a ", architecture_name(file), " checkpoint to ",
                architecture_name(target), " names");
    if (file == Architecture::hf_clip) {
        MappedTensors renamed = hf_clip_to_openai(tensors);
        MappedTensors cleaned = openai_clip_clean(renamed.tensors);
        cleaned.dropped.insert(cleaned.dropped.begin(), renamed.dropped.begin(), renamed.dropped.end());
        return cleaned;
    }
    if (file == Architecture::timm_clip_vit) return timm_clip_to_openai(tensors);
    if (file == Architecture::openai_clip_vit || file == Architecture::openai_clip_resnet)
        return openai_clip_clean(tensors);
    return MappedTensors{tensors, {}};
}

// ---------------------------------------------------------------- loading

std::string LoadResult::str() const {
    std::ostringstream s;
    s << "checkpoint: " << file.description << " [" << architecture_name(file.arch) << "], model: "
      << architecture_name(target) << "\n";
    if (architecture_mismatch)
        s << "architecture mismatch: a " << architecture_name(file.arch) << " checkpoint cannot be loaded into a "
          << architecture_name(target) << " model\n";
    s << report.str();
    auto list = [&](const char* what, const std::vector<std::string>& names) {
        if (names.empty()) return;
        s << what << " (" << names.size() << "):";
        for (const std::string& n : names) s << "\n  " << n;
        s << "\n";
    };
    list("optional keys missing (the model keeps its values)", optional_missing);
    list("dropped", dropped);
    list("outside the prefix", outside_prefix);
    return s.str();
}

LoadResult load_into(nn::Module& model, const NamedTensors& file_tensors, Architecture target,
                     const LoadOptions& options) {
    WSDOL_CHECK(is_model_naming(target), "load_into: target must be a model naming (openai_clip_vit, "
                "openai_clip_resnet, timm_vit, timm_deit_distilled, torchvision_resnet, wide_resnet38), got ",
                architecture_name(target));
    LoadResult result;
    result.file = detect_architecture(file_tensors);
    result.target = target;

    // The map; a checkpoint of an unknown or unmappable family is compared name by name as it is.
    MappedTensors mapped;
    if (result.file.arch != Architecture::unknown && !can_map(result.file.arch, target)) {
        result.architecture_mismatch = true;
        mapped.tensors = file_tensors;
    } else if (result.file.arch == Architecture::unknown) {
        mapped.tensors = file_tensors;
    } else {
        mapped = map_names(file_tensors, result.file.arch, target);
    }
    result.dropped = mapped.dropped;

    std::map<std::string, Tensor> state;
    for (auto& [name, t] : mapped.tensors) {
        std::string key = name;
        if (!options.prefix.empty()) {
            if (!starts_with(name, options.prefix)) {
                result.outside_prefix.push_back(name);
                continue;
            }
            key = name.substr(options.prefix.size());
        }
        WSDOL_CHECK(state.emplace(key, t).second, "load_into: key '", key, "' appears twice after the name map");
    }

    // The comparison load_state_dict makes, done here first so that optional keys can be told apart and a strict
    // failure can name the architectures as well as the keys.
    std::set<std::string> own;
    for (const auto& [name, dst] : model.state_dict()) {
        own.insert(name);
        auto it = state.find(name);
        if (it == state.end()) {
            if (name == "num_batches_tracked" || ends_with(name, ".num_batches_tracked"))
                result.optional_missing.push_back(name);
            else
                result.report.missing.push_back(name);
        } else if (!it->second.defined() || it->second.shape() != dst.shape()) {
            result.report.mismatched.push_back(wsdol::str(
                name, ": checkpoint ", it->second.defined() ? shape_str(it->second.shape()) : "undefined", " vs model ",
                shape_str(dst.shape())));
        }
    }
    for (const auto& [name, t] : state)
        if (!own.count(name)) result.report.unexpected.push_back(name);

    if (options.strict && !result.ok())
        fail(wsdol::str("load_into (strict): the checkpoint does not match the model\n", result.str()));
    model.load_state_dict(state, /*strict=*/false);  // copies exactly the keys that match by name and shape
    return result;
}

LoadResult load_into(nn::Module& model, const NamedTensors& file_tensors, Architecture target, bool strict) {
    LoadOptions options;
    options.strict = strict;
    return load_into(model, file_tensors, target, options);
}

}  // namespace wsdol::weights
