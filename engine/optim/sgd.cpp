// sgd.cpp — SGD: option checks and the per-parameter dispatch to the fused "sgd_step" kernel (see sgd.h).
#include "engine/optim/sgd.h"

#include <cmath>

#include "engine/optim/update_util.h"

namespace wsdol::optim {
namespace {

void check_options(const SGDOptions& o, size_t group) {
    WSDOL_CHECK(std::isfinite(o.momentum) && o.momentum >= 0, "SGD: invalid momentum ", o.momentum, " (group ", group, ")");
    WSDOL_CHECK(std::isfinite(o.weight_decay) && o.weight_decay >= 0, "SGD: invalid weight_decay ", o.weight_decay,
                " (group ", group, ")");
    WSDOL_CHECK(std::isfinite(o.dampening), "SGD: invalid dampening ", o.dampening, " (group ", group, ")");
    WSDOL_CHECK(!o.nesterov || (o.momentum > 0 && o.dampening == 0),
                "SGD: Nesterov momentum requires a momentum and zero dampening (group ", group, ": momentum ",
                o.momentum, ", dampening ", o.dampening, ")");
}

}  // namespace

SGD::SGD(const NamedTensors& params, const SGDOptions& options) : SGD(std::vector<Group>{{params, options}}) {}

SGD::SGD(const std::vector<Group>& groups) {
    WSDOL_CHECK(!groups.empty(), "SGD: no parameter groups");
    options_.reserve(groups.size());  // OptionRefs point into options_: no reallocation after this
    for (size_t g = 0; g < groups.size(); ++g) {
        check_options(groups[g].options, g);
        add_group(groups[g].params, groups[g].options.lr, "SGD");
        options_.push_back(groups[g].options);
    }
}

SGDOptions& SGD::options(size_t group) {
    WSDOL_CHECK(group < options_.size(), "SGD: group ", group, " out of range (", options_.size(), " groups)");
    return options_[group];
}

std::vector<Optimizer::OptionRef> SGD::group_options(size_t group) {
    SGDOptions& o = options(group);
    return {{"lr", &o.lr}, {"momentum", &o.momentum}, {"dampening", &o.dampening},
            {"weight_decay", &o.weight_decay}, {"nesterov", nullptr, &o.nesterov}, {"maximize", nullptr, &o.maximize}};
}

void SGD::update(size_t group, Slot& slot, const Tensor& grad) {
    const SGDOptions& o = options_[group];
    check_options(o, group);
    SGDStepArgs args;
    args.lr = o.lr;
    args.momentum = o.momentum;
    args.dampening = o.dampening;
    args.weight_decay = o.weight_decay;
    args.nesterov = o.nesterov;
    args.maximize = o.maximize;
    ContiguousParam p(slot.param);
    const Tensor g = grad.contiguous();
    Tensor buf;
    if (o.momentum != 0) {
        auto it = slot.buffers.find("momentum_buffer");
        args.first_step = it == slot.buffers.end();
        if (args.first_step) buf = slot.buffers["momentum_buffer"] = Tensor::empty(p.work.shape(), p.work.dtype(),
                                                                                    p.work.device());
        else buf = it->second;
    }
    auto kernel = find_kernel<SGDStepKernel>("sgd_step", p.work.device(), p.work.dtype());
    kernel(view_of(p.work), view_of(g), buf.defined() ? view_of(buf) : TensorView{}, args);
    p.commit();
}

}  // namespace wsdol::optim
