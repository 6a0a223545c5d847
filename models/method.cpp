// method.cpp — the small shared parts of the method seam (models/method.h).
#include "models/method.h"

#include "engine/core/error.h"

namespace wsdol::models {

const char* label_kind_name(LabelKind kind) {
    switch (kind) {
        case LabelKind::multi_label: return "multi-label";
        case LabelKind::single_label: return "single-label";
        case LabelKind::pixel_labels: return "pixel labels";
    }
    return "?";
}

const Tensor& MethodBatch::extra(const std::string& name) const {
    auto it = extras.find(name);
    if (it == extras.end()) {
        std::string have;
        for (const auto& [k, v] : extras) have += (have.empty() ? "" : ", ") + k;
        fail(str("batch extra '", name, "' is missing (the batch has: ", have.empty() ? "none" : have,
                 "); declare it in the method's batch_spec().extras"));
    }
    return it->second;
}

std::vector<ParamGroupSpec> timm_decay_groups(const nn::Module& network, const std::vector<std::string>& no_decay_names) {
    ParamGroupSpec decay{"decay", {}, 1.0, 1.0}, no_decay{"no_decay", {}, 1.0, 0.0};
    for (const auto& [name, p] : network.named_parameters()) {
        if (!p.requires_grad()) continue;
        const std::string last = name.substr(name.rfind('.') == std::string::npos ? 0 : name.rfind('.') + 1);
        bool skip = p.dim() <= 1;
        for (const std::string& n : no_decay_names) skip = skip || last == n;
        (skip ? no_decay : decay).params.push_back(name);
    }
    return {decay, no_decay};
}

}  // namespace wsdol::models
