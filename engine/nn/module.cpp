// module.cpp — the Module tree: registration, PyTorch-ordered traversal, state_dict / load_state_dict, modes.
#include "engine/nn/module.h"

#include <algorithm>
#include <set>
#include <sstream>
#include <unordered_set>

#include "engine/autograd/autograd.h"

namespace wsdol::nn {

std::string LoadReport::str() const {
    std::ostringstream s;
    auto list = [&](const char* what, const std::vector<std::string>& names) {
        if (names.empty()) return;
        s << what << " (" << names.size() << "):";
        for (const std::string& n : names) s << "\n  " << n;
        s << "\n";
    };
    list("missing keys", missing);
    list("unexpected keys", unexpected);
    list("size mismatch", mismatched);
    return s.str();
}

// ---------------------------------------------------------------- registration

void Module::check_new_name(const std::string& name, const char* what) const {
    WSDOL_CHECK(!name.empty() && name.find('.') == std::string::npos, type_name_, ": ", what, " name '", name,
                "' must be non-empty and contain no '.'");
    WSDOL_CHECK(!has_parameter(name) && !has_buffer(name) && !child(name), type_name_, ": cannot register ", what,
                " '", name, "': the name is already taken");
}

Tensor Module::register_parameter(const std::string& name, Tensor t, bool requires_grad) {
    check_new_name(name, "parameter");
    if (!t.defined()) return t;  // bias=None: PyTorch registers None, which no listing shows
    if (!t.is_leaf()) t = t.detach();
    if (is_floating(t.dtype())) t.set_requires_grad(requires_grad);
    params_.emplace_back(name, t);
    return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t, bool persistent) {
    check_new_name(name, "buffer");
    WSDOL_CHECK(t.defined(), type_name_, ": buffer '", name, "' is undefined");
    if (!t.is_leaf()) t = t.detach();
    buffers_.push_back({name, t, persistent});
    return t;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> child_module) {
    check_new_name(name, "module");
    WSDOL_CHECK(child_module, type_name_, ": child module '", name, "' is null");
    WSDOL_CHECK(child_module.get() != this, type_name_, ": a module cannot be its own child ('", name, "')");
    children_.emplace_back(name, std::move(child_module));
}

// ---------------------------------------------------------------- lookup

bool Module::has_parameter(const std::string& name) const {
    for (const auto& [n, t] : params_)
        if (n == name) return true;
    return false;
}

bool Module::has_buffer(const std::string& name) const {
    for (const BufferEntry& b : buffers_)
        if (b.name == name) return true;
    return false;
}

Tensor Module::parameter(const std::string& name) const {
    std::string known;
    for (const auto& [n, t] : params_) {
        if (n == name) return t;
        known += (known.empty() ? "" : ", ") + n;
    }
    fail(str(type_name_, ": no parameter '", name, "' (has: ", known.empty() ? "none" : known, ")"));
}

Tensor Module::buffer(const std::string& name) const {
    std::string known;
    for (const BufferEntry& b : buffers_) {
        if (b.name == name) return b.tensor;
        known += (known.empty() ? "" : ", ") + b.name;
    }
    fail(str(type_name_, ": no buffer '", name, "' (has: ", known.empty() ? "none" : known, ")"));
}

std::shared_ptr<Module> Module::child(const std::string& name) const {
    for (const auto& [n, m] : children_)
        if (n == name) return m;
    return nullptr;
}

Tensor Module::find(const std::string& dotted_name) const {
    const Module* m = this;
    std::string rest = dotted_name;
    for (size_t dot; (dot = rest.find('.')) != std::string::npos;) {
        const std::string head = rest.substr(0, dot);
        std::shared_ptr<Module> c = m->child(head);
        WSDOL_CHECK(c, type_name_, ": no tensor '", dotted_name, "' (no module '", head, "' in ", m->type_name(), ")");
        m = c.get();
        rest = rest.substr(dot + 1);
    }
    if (m->has_parameter(rest)) return m->parameter(rest);
    if (m->has_buffer(rest)) return m->buffer(rest);
    fail(str(type_name_, ": no tensor '", dotted_name, "' (", m->type_name(), " has no parameter or buffer '", rest,
             "')"));
}

// ---------------------------------------------------------------- traversal

void Module::collect_modules(const std::string& prefix, std::vector<std::pair<std::string, Module*>>& out) const {
    out.emplace_back(prefix, const_cast<Module*>(this));
    for (const auto& [n, c] : children_) c->collect_modules(prefix.empty() ? n : prefix + "." + n, out);
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() const {
    std::vector<std::pair<std::string, Module*>> out;
    collect_modules("", out);
    return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_children() const { return children_; }

static std::string join_name(const std::string& prefix, const std::string& name) {
    return prefix.empty() ? name : prefix + "." + name;
}

NamedTensors Module::named_parameters(bool recurse) const {
    NamedTensors out;
    std::unordered_set<const TensorImpl*> seen;  // PyTorch's remove_duplicate=True
    auto add_own = [&](const std::string& prefix, const Module& m) {
        for (const auto& [n, t] : m.params_)
            if (seen.insert(t.impl_ptr().get()).second) out.emplace_back(join_name(prefix, n), t);
    };
    if (!recurse) {
        add_own("", *this);
        return out;
    }
    for (const auto& [prefix, m] : named_modules()) add_own(prefix, *m);
    return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
    std::vector<Tensor> out;
    for (auto& [n, t] : named_parameters(recurse)) out.push_back(t);
    return out;
}

void Module::collect_buffers(const std::string& prefix, NamedTensors& out) const {
    for (const BufferEntry& b : buffers_) out.emplace_back(join_name(prefix, b.name), b.tensor);
    for (const auto& [n, c] : children_) c->collect_buffers(join_name(prefix, n), out);
}

NamedTensors Module::named_buffers(bool recurse) const {
    NamedTensors out;
    if (!recurse) {
        for (const BufferEntry& b : buffers_) out.emplace_back(b.name, b.tensor);
        return out;
    }
    // PyTorch lists buffers module by module in pre-order, the same order collect_buffers walks.
    collect_buffers("", out);
    return out;
}

int64_t Module::num_parameters() const {
    int64_t n = 0;
    for (const auto& [name, t] : named_parameters()) n += t.numel();
    return n;
}

// ---------------------------------------------------------------- state_dict

void Module::collect_state(const std::string& prefix, NamedTensors& out) const {
    // PyTorch's _save_to_state_dict: own parameters, then own persistent buffers, then each child.
    for (const auto& [n, t] : params_) out.emplace_back(join_name(prefix, n), t.detach());
    for (const BufferEntry& b : buffers_)
        if (b.persistent) out.emplace_back(join_name(prefix, b.name), b.tensor.detach());
    for (const auto& [n, c] : children_) c->collect_state(join_name(prefix, n), out);
}

NamedTensors Module::state_dict() const {
    NamedTensors out;
    collect_state("", out);
    return out;
}

LoadReport Module::load_state_dict(const NamedTensors& state, bool strict) {
    std::map<std::string, Tensor> m;
    for (const auto& [n, t] : state) {
        WSDOL_CHECK(m.emplace(n, t).second, type_name_, ".load_state_dict: key '", n, "' appears twice");
    }
    return load_state_dict(m, strict);
}

LoadReport Module::load_state_dict(const std::map<std::string, Tensor>& state, bool strict) {
    const NamedTensors own = state_dict();
    LoadReport report;
    std::set<std::string> own_names;
    std::vector<std::pair<Tensor, Tensor>> copies;  // (model tensor, checkpoint tensor)
    for (const auto& [name, dst] : own) {
        own_names.insert(name);
        auto it = state.find(name);
        if (it == state.end()) {
            report.missing.push_back(name);
            continue;
        }
        const Tensor& src = it->second;
        if (!src.defined() || src.shape() != dst.shape()) {
            report.mismatched.push_back(str(name, ": checkpoint ", src.defined() ? shape_str(src.shape()) : "undefined",
                                            " vs model ", shape_str(dst.shape())));
            continue;
        }
        copies.emplace_back(dst, src);
    }
    for (const auto& [name, t] : state)
        if (!own_names.count(name)) report.unexpected.push_back(name);
    if (strict && !report.ok())
        fail(str(type_name_, ".load_state_dict (strict): the checkpoint does not match the model\n", report.str()));
    NoGradGuard no_grad;
    for (auto& [dst, src] : copies) dst.copy_(src);  // converts dtype and moves device as needed
    return report;
}

// ---------------------------------------------------------------- modes, gradients, conversion

void Module::train(bool on) {
    training_ = on;
    for (auto& [n, c] : children_) c->train(on);
}

void Module::zero_grad() {
    for (auto& [n, t] : named_parameters()) t.zero_grad();
}

void Module::requires_grad_(bool on) {
    for (auto& [n, t] : named_parameters())
        if (is_floating(t.dtype())) t.set_requires_grad(on);
}

namespace {
// Replaces what `t`'s impl holds with `fresh` (same logical values, new dtype or device): every handle to the
// impl (module fields, optimizer lists) sees the change. PyTorch does the same with `param.data = new`.
void swap_contents(const Tensor& t, const Tensor& fresh) {
    TensorImpl& impl = t.impl();
    impl.storage = fresh.storage();
    impl.shape = fresh.shape();
    impl.strides = fresh.strides();
    impl.offset = fresh.offset();
    impl.dtype = fresh.dtype();
    impl.grad.reset();
}

std::vector<Tensor> unique_tensors(const NamedTensors& a, const NamedTensors& b) {
    std::vector<Tensor> out;
    std::unordered_set<const TensorImpl*> seen;
    for (const NamedTensors* list : {&a, &b})
        for (const auto& [n, t] : *list)
            if (seen.insert(t.impl_ptr().get()).second) out.push_back(t);
    return out;
}
}  // namespace

void Module::to(DType dtype) {
    WSDOL_CHECK(is_floating(dtype), type_name_, ".to: target dtype must be floating, got ", dtype_name(dtype));
    NoGradGuard no_grad;
    for (const Tensor& t : unique_tensors(named_parameters(), named_buffers()))
        if (is_floating(t.dtype()) && t.dtype() != dtype) swap_contents(t, t.detach().to(dtype));
}

void Module::to(Device device) {
    NoGradGuard no_grad;
    for (const Tensor& t : unique_tensors(named_parameters(), named_buffers()))
        if (t.device() != device) swap_contents(t, t.detach().to(device));
}

// ---------------------------------------------------------------- forward and printing

Tensor Module::forward(const Tensor& x) {
    fail(str(type_name_, ": this module has no single-tensor forward(x)"));
}

std::string Module::summary() const {
    std::ostringstream s;
    for (const auto& [name, m] : named_modules()) {
        const int depth = name.empty() ? 0 : 1 + static_cast<int>(std::count(name.begin(), name.end(), '.'));
        s << std::string(2 * depth, ' ') << (name.empty() ? "" : name + ": ") << m->type_name();
        const std::string extra = m->extra_repr();
        if (!extra.empty()) s << "(" << extra << ")";
        for (const auto& [n, t] : m->params_) s << " " << n << shape_str(t.shape());
        s << "\n";
    }
    return s.str();
}

const ModulePtr& ModuleList::operator[](size_t i) const {
    WSDOL_CHECK(i < items_.size(), "ModuleList: index ", i, " out of range for a list of ", items_.size());
    return items_[i];
}

}  // namespace wsdol::nn
