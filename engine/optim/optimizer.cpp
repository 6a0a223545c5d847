// optimizer.cpp — the Optimizer base: groups, step/zero_grad, and state export/import (see optimizer.h).
#include "engine/optim/optimizer.h"

#include <cmath>
#include <set>

#include "engine/autograd/autograd.h"

namespace wsdol::optim {

void Optimizer::add_group(const NamedTensors& params, double lr, const char* who) {
    WSDOL_CHECK(std::isfinite(lr) && lr >= 0, who, ": invalid learning rate ", lr);
    Group g;
    g.initial_lr = lr;
    for (const auto& [name, p] : params) {
        WSDOL_CHECK(p.defined(), who, ": parameter '", name, "' is undefined");
        WSDOL_CHECK(is_floating(p.dtype()), who, ": parameter '", name, "' has dtype ", dtype_name(p.dtype()),
                    "; only floating tensors can be optimized");
        WSDOL_CHECK(!find_slot(name), who, ": parameter name '", name, "' appears twice");
        for (const Group& other : groups_)
            for (const Slot& s : other.slots)
                WSDOL_CHECK(!s.param.same(p), who, ": parameters '", s.name, "' and '", name,
                            "' are the same tensor (PyTorch: some parameters appear in more than one group)");
        for (const Slot& s : g.slots) {
            WSDOL_CHECK(s.name != name, who, ": parameter name '", name, "' appears twice");
            WSDOL_CHECK(!s.param.same(p), who, ": parameters '", s.name, "' and '", name, "' are the same tensor");
        }
        g.slots.push_back(Slot{name, p, {}, 0});
    }
    groups_.push_back(std::move(g));
}

const Optimizer::Slot* Optimizer::find_slot(const std::string& name) const {
    for (const Group& g : groups_)
        for (const Slot& s : g.slots)
            if (s.name == name) return &s;
    return nullptr;
}

double* Optimizer::lr_ptr(size_t group) const {
    WSDOL_CHECK(group < groups_.size(), type_name(), ": group ", group, " out of range (", groups_.size(), " groups)");
    for (const OptionRef& o : const_cast<Optimizer*>(this)->group_options(group))
        if (std::string(o.name) == "lr") return o.number;
    fail(str(type_name(), ": group has no lr option"));
}

double Optimizer::lr(size_t group) const { return *lr_ptr(group); }

void Optimizer::set_lr(size_t group, double lr) {
    WSDOL_CHECK(std::isfinite(lr) && lr >= 0, type_name(), ": invalid learning rate ", lr, " for group ", group);
    *lr_ptr(group) = lr;
}

double Optimizer::initial_lr(size_t group) const {
    WSDOL_CHECK(group < groups_.size(), type_name(), ": group ", group, " out of range (", groups_.size(), " groups)");
    return groups_[group].initial_lr;
}

std::vector<std::string> Optimizer::param_names(size_t group) const {
    WSDOL_CHECK(group < groups_.size(), type_name(), ": group ", group, " out of range");
    std::vector<std::string> out;
    for (const Slot& s : groups_[group].slots) out.push_back(s.name);
    return out;
}

std::vector<Tensor> Optimizer::params(size_t group) const {
    WSDOL_CHECK(group < groups_.size(), type_name(), ": group ", group, " out of range");
    std::vector<Tensor> out;
    for (const Slot& s : groups_[group].slots) out.push_back(s.param);
    return out;
}

NamedTensors Optimizer::named_params() const {
    NamedTensors out;
    for (const Group& g : groups_)
        for (const Slot& s : g.slots) out.emplace_back(s.name, s.param);
    return out;
}

Tensor Optimizer::state_buffer(const std::string& param, const std::string& buffer) const {
    const Slot* s = find_slot(param);
    WSDOL_CHECK(s, type_name(), ": no parameter named '", param, "'");
    auto it = s->buffers.find(buffer);
    return it == s->buffers.end() ? Tensor() : it->second;
}

double Optimizer::state_step(const std::string& param) const {
    const Slot* s = find_slot(param);
    WSDOL_CHECK(s, type_name(), ": no parameter named '", param, "'");
    return s->step;
}

void Optimizer::step() {
    NoGradGuard no_grad;
    for (size_t g = 0; g < groups_.size(); ++g) {
        for (Slot& s : groups_[g].slots) {
            const Tensor grad = s.param.grad();
            if (!grad.defined()) continue;  // PyTorch: params with grad None are skipped
            WSDOL_CHECK(grad.shape() == s.param.shape() && grad.dtype() == s.param.dtype() &&
                            grad.device() == s.param.device(),
                        type_name(), ": gradient of '", s.name, "' is ", shape_str(grad.shape()), " ",
                        dtype_name(grad.dtype()), " but the parameter is ", shape_str(s.param.shape()), " ",
                        dtype_name(s.param.dtype()));
            update(g, s, grad);
        }
    }
}

void Optimizer::zero_grad() {
    for (Group& g : groups_)
        for (Slot& s : g.slots) s.param.zero_grad();
}

OptimizerState Optimizer::export_state() const {
    OptimizerState st;
    st.type = type_name();
    for (size_t g = 0; g < groups_.size(); ++g) {
        std::vector<std::string> names;
        for (const Slot& s : groups_[g].slots) {
            names.push_back(s.name);
            for (const auto& [buf, t] : s.buffers) st.tensors.emplace_back(s.name + "." + buf, t);
            if (uses_step() && (s.step > 0 || !s.buffers.empty())) st.scalars[s.name + ".step"] = s.step;
        }
        st.groups.push_back(std::move(names));
        const std::string prefix = "group." + std::to_string(g) + ".";
        st.scalars[prefix + "initial_lr"] = groups_[g].initial_lr;
        for (const OptionRef& o : const_cast<Optimizer*>(this)->group_options(g))
            st.scalars[prefix + o.name] = o.number ? *o.number : (*o.flag ? 1.0 : 0.0);
    }
    return st;
}

void Optimizer::import_state(const OptimizerState& st, const std::string& context) {
    const std::string who = str(context, ": ", type_name(), " state");
    WSDOL_CHECK(st.type == type_name(), context, ": optimizer state is for ", st.type.empty() ? "<none>" : st.type,
                ", not ", type_name());
    WSDOL_CHECK(st.groups.size() == groups_.size(), who, " has ", st.groups.size(), " parameter groups, the optimizer ",
                groups_.size());
    for (size_t g = 0; g < groups_.size(); ++g) {
        const std::vector<std::string> mine = param_names(g);
        WSDOL_CHECK(st.groups[g].size() == mine.size(), who, ": group ", g, " holds ", st.groups[g].size(),
                    " parameters, the optimizer's ", mine.size());
        for (size_t i = 0; i < mine.size(); ++i)
            WSDOL_CHECK(st.groups[g][i] == mine[i], who, ": group ", g, " parameter ", i, " is '", st.groups[g][i],
                        "', the optimizer's is '", mine[i], "'");
    }
    std::map<std::string, const Tensor*> tensors;
    for (const auto& [name, t] : st.tensors) {
        WSDOL_CHECK(tensors.emplace(name, &t).second, who, ": tensor '", name, "' appears twice");
    }
    std::set<std::string> used_scalars;
    auto scalar = [&](const std::string& key) -> double {
        auto it = st.scalars.find(key);
        WSDOL_CHECK(it != st.scalars.end(), who, ": missing scalar '", key, "'");
        used_scalars.insert(key);
        return it->second;
    };

    // Validate everything first, then commit (a failed import leaves the optimizer unchanged).
    std::vector<std::vector<std::map<std::string, Tensor>>> new_buffers(groups_.size());
    std::vector<std::vector<double>> new_steps(groups_.size());
    std::vector<std::vector<std::pair<OptionRef, double>>> new_options(groups_.size());
    std::vector<double> new_initial(groups_.size());
    size_t used_tensors = 0;
    for (size_t g = 0; g < groups_.size(); ++g) {
        const std::string prefix = "group." + std::to_string(g) + ".";
        new_initial[g] = scalar(prefix + "initial_lr");
        for (const OptionRef& o : group_options(g)) new_options[g].emplace_back(o, scalar(prefix + o.name));
        for (const Slot& s : groups_[g].slots) {
            std::map<std::string, Tensor> bufs;
            for (const std::string& b : buffer_names()) {
                auto it = tensors.find(s.name + "." + b);
                if (it == tensors.end()) continue;
                const Tensor& t = *it->second;
                WSDOL_CHECK(t.defined(), who, ": tensor '", it->first, "' is undefined");
                WSDOL_CHECK(t.shape() == s.param.shape() && t.dtype() == s.param.dtype(), who, ": tensor '",
                            it->first, "' is ", shape_str(t.shape()), " ", dtype_name(t.dtype()), " but parameter '",
                            s.name, "' is ", shape_str(s.param.shape()), " ", dtype_name(s.param.dtype()));
                bufs[b] = t;
                ++used_tensors;
            }
            double step = 0;
            if (uses_step() && st.scalars.count(s.name + ".step")) step = scalar(s.name + ".step");
            WSDOL_CHECK(!uses_step() || bufs.empty() || step > 0, who, ": parameter '", s.name,
                        "' has state buffers but no step count");
            new_buffers[g].push_back(std::move(bufs));
            new_steps[g].push_back(step);
        }
    }
    if (used_tensors != tensors.size()) {
        for (const auto& [name, t] : tensors) {
            bool known = false;
            for (const Group& grp : groups_)
                for (const Slot& s : grp.slots)
                    for (const std::string& b : buffer_names()) known = known || name == s.name + "." + b;
            WSDOL_CHECK(known, who, ": unexpected tensor '", name, "' (no such parameter or buffer)");
        }
    }
    for (const auto& [key, v] : st.scalars)
        WSDOL_CHECK(used_scalars.count(key), who, ": unexpected scalar '", key, "'");

    for (size_t g = 0; g < groups_.size(); ++g) {
        groups_[g].initial_lr = new_initial[g];
        for (auto& [o, v] : new_options[g]) {
            if (o.number) *o.number = v;
            else *o.flag = v != 0.0;
        }
        for (size_t i = 0; i < groups_[g].slots.size(); ++i) {
            Slot& s = groups_[g].slots[i];
            s.buffers.clear();
            for (auto& [b, t] : new_buffers[g][i]) {
                // A private contiguous copy on the parameter's device (the source may be a read-only mapping).
                Tensor c = Tensor::empty(s.param.shape(), s.param.dtype(), s.param.device());
                c.copy_(t);
                s.buffers[b] = c;
            }
            s.step = new_steps[g][i];
        }
    }
}

WeightDecaySplit split_weight_decay(const NamedTensors& params, const std::set<std::string>& no_decay_names) {
    WeightDecaySplit out;
    for (const auto& [name, p] : params) {
        if (!p.requires_grad()) continue;
        const bool is_bias = name.size() >= 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
        if (p.dim() <= 1 || is_bias || no_decay_names.count(name)) out.no_decay.emplace_back(name, p);
        else out.decay.emplace_back(name, p);
    }
    return out;
}

}  // namespace wsdol::optim
