// adam.cpp — Adam/AdamW: option checks, lazy state creation, and the dispatch to the fused "adam_step" kernel
// (see adam.h for the formulas).
#include "engine/optim/adam.h"

#include <cmath>

#include "engine/optim/update_util.h"

namespace wsdol::optim {
namespace {

void check_options(const AdamOptions& o, size_t group, const char* who) {
    WSDOL_CHECK(std::isfinite(o.eps) && o.eps >= 0, who, ": invalid eps ", o.eps, " (group ", group, ")");
    WSDOL_CHECK(o.beta1 >= 0 && o.beta1 < 1, who, ": invalid beta1 ", o.beta1, " (group ", group, "; need [0, 1))");
    WSDOL_CHECK(o.beta2 >= 0 && o.beta2 < 1, who, ": invalid beta2 ", o.beta2, " (group ", group, "; need [0, 1))");
    WSDOL_CHECK(std::isfinite(o.weight_decay) && o.weight_decay >= 0, who, ": invalid weight_decay ", o.weight_decay,
                " (group ", group, ")");
}

std::vector<Adam::Group> to_adam_groups(const std::vector<AdamW::Group>& groups) {
    std::vector<Adam::Group> out;
    for (const AdamW::Group& g : groups) out.push_back({g.params, g.options});
    return out;
}

}  // namespace

Adam::Adam(const NamedTensors& params, const AdamOptions& options) : Adam(std::vector<Group>{{params, options}}, false) {}
Adam::Adam(const std::vector<Group>& groups) : Adam(groups, false) {}

Adam::Adam(const std::vector<Group>& groups, bool decoupled_weight_decay) : decoupled_(decoupled_weight_decay) {
    WSDOL_CHECK(!groups.empty(), type_name(), ": no parameter groups");
    options_.reserve(groups.size());  // OptionRefs point into options_: no reallocation after this
    for (size_t g = 0; g < groups.size(); ++g) {
        check_options(groups[g].options, g, type_name());
        add_group(groups[g].params, groups[g].options.lr, type_name());
        options_.push_back(groups[g].options);
    }
}

AdamOptions& Adam::options(size_t group) {
    WSDOL_CHECK(group < options_.size(), type_name(), ": group ", group, " out of range (", options_.size(), " groups)");
    return options_[group];
}

std::vector<Optimizer::OptionRef> Adam::group_options(size_t group) {
    AdamOptions& o = options(group);
    return {{"lr", &o.lr},
            {"beta1", &o.beta1},
            {"beta2", &o.beta2},
            {"eps", &o.eps},
            {"weight_decay", &o.weight_decay},
            {"amsgrad", nullptr, &o.amsgrad},
            {"maximize", nullptr, &o.maximize}};
}

void Adam::update(size_t group, Slot& slot, const Tensor& grad) {
    const AdamOptions& o = options_[group];
    check_options(o, group, type_name());
    ContiguousParam p(slot.param);
    const Tensor g = grad.contiguous();
    auto buffer = [&](const char* name) {  // PyTorch's lazy state init: zeros on the first update
        auto it = slot.buffers.find(name);
        if (it != slot.buffers.end()) return it->second;
        return slot.buffers[name] = Tensor::zeros(p.work.shape(), p.work.dtype(), p.work.device());
    };
    const Tensor exp_avg = buffer("exp_avg");
    const Tensor exp_avg_sq = buffer("exp_avg_sq");
    const Tensor max_exp_avg_sq = o.amsgrad ? buffer("max_exp_avg_sq") : Tensor();
    slot.step += 1;
    AdamStepArgs args;
    args.lr = o.lr;
    args.beta1 = o.beta1;
    args.beta2 = o.beta2;
    args.eps = o.eps;
    args.weight_decay = o.weight_decay;
    args.amsgrad = o.amsgrad;
    args.maximize = o.maximize;
    args.decoupled_weight_decay = decoupled_;
    args.step = slot.step;
    auto kernel = find_kernel<AdamStepKernel>("adam_step", p.work.device(), p.work.dtype());
    kernel(view_of(p.work), view_of(g), view_of(exp_avg), view_of(exp_avg_sq),
           max_exp_avg_sq.defined() ? view_of(max_exp_avg_sq) : TensorView{}, args);
    p.commit();
}

AdamW::AdamW(const NamedTensors& params, const AdamWOptions& options)
    : Adam(std::vector<Adam::Group>{{params, options}}, true) {}
AdamW::AdamW(const std::vector<Group>& groups) : Adam(to_adam_groups(groups), true) {}

}  // namespace wsdol::optim
