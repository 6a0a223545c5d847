// module.h — the Module tree: named children, named parameters and buffers, PyTorch-style dotted names.
//
// A Module owns (in registration order, as PyTorch keeps them):
//   parameters — leaf tensors with requires_grad (weights); undefined ones (bias=None) are simply not registered;
//   buffers    — state that is saved but not trained (running_mean, num_batches_tracked as i64); a buffer can be
//                non-persistent (left out of state_dict, like PyTorch's persistent=False);
//   children   — sub-modules held by shared_ptr, named by the attribute name the model code gives them.
//
// Names are PyTorch's: state_dict() walks the tree depth-first, each module writing its own parameters, then its
// own persistent buffers, then recursing into its children with "<child>." prefixed ("blocks.0.attn.qkv.weight",
// "norm.running_mean"), so a PyTorch checkpoint maps onto the model 1:1. named_parameters() lists parameters in
// the same order (pre-order over modules) and, as PyTorch does, a tensor shared by two modules only once.
//
// A module's field (e.g. Linear::weight) is a handle to the same TensorImpl as its registry entry, so loading
// (copy_ into the existing storage) and conversion with to() (which swaps the storage inside the impl, like
// PyTorch's param.data = ...) are seen through both.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor/tensor.h"

namespace wsdol::nn {

using wsdol::NamedTensors;

// What load_state_dict found, every key by name.
struct LoadReport {
    std::vector<std::string> missing;     // in the model, not in the checkpoint
    std::vector<std::string> unexpected;  // in the checkpoint, not in the model
    std::vector<std::string> mismatched;  // "name: checkpoint [a, b] vs model [c, d]" (left untouched)
    bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
    std::string str() const;  // multi-line listing, "" when ok()
};

class Module : public std::enable_shared_from_this<Module> {
public:
    explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}
    virtual ~Module() = default;
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;

    const std::string& type_name() const { return type_name_; }

    // ---- registration (names must be unique within the module and contain no '.') ----
    // Registers `t` as a parameter: a leaf that requires grad (unless requires_grad = false, a frozen one).
    // Returns the registered handle; an undefined `t` (bias=None) is not registered and returned as is.
    Tensor register_parameter(const std::string& name, Tensor t, bool requires_grad = true);
    Tensor register_buffer(const std::string& name, Tensor t, bool persistent = true);
    template <typename M>
    std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> child) {
        add_child(name, child);
        return child;
    }

    // ---- lookup ----
    Tensor parameter(const std::string& name) const;  // own parameter by local name; throws listing what exists
    Tensor buffer(const std::string& name) const;
    std::shared_ptr<Module> child(const std::string& name) const;
    bool has_parameter(const std::string& name) const;
    bool has_buffer(const std::string& name) const;
    // Any parameter or buffer by dotted name ("blocks.0.attn.qkv.weight").
    Tensor find(const std::string& dotted_name) const;

    // ---- traversal (PyTorch order) ----
    NamedTensors named_parameters(bool recurse = true) const;  // shared tensors listed once
    std::vector<Tensor> parameters(bool recurse = true) const;
    NamedTensors named_buffers(bool recurse = true) const;     // persistent and non-persistent
    std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const;
    // Self first (name ""), then every descendant in pre-order, with dotted names. The pointers are owned by
    // the tree (valid while this module lives).
    std::vector<std::pair<std::string, Module*>> named_modules() const;

    // ---- state ----
    // Parameters and persistent buffers, detached handles on the same storage (PyTorch's state_dict()).
    NamedTensors state_dict() const;
    // Copies each checkpoint tensor into the model tensor of the same name, converting dtype to the model's
    // (the stored dtype says what the values are; the parameter keeps its own dtype) and moving across devices.
    // strict: any missing, unexpected or shape-mismatched key throws, naming all of them (nothing is copied).
    // non-strict: copies what matches, skips the rest, returns the report. (PyTorch raises on a shape mismatch
    // even when strict=False; we report it instead, so a partial load — e.g. a new classifier head — is easy.)
    LoadReport load_state_dict(const std::map<std::string, Tensor>& state, bool strict = true);
    LoadReport load_state_dict(const NamedTensors& state, bool strict = true);

    // ---- modes and gradients ----
    virtual void train(bool on = true);  // recursive, as PyTorch
    void eval() { train(false); }
    bool is_training() const { return training_; }
    void zero_grad();                        // drops every parameter's .grad() (PyTorch set_to_none=True)
    void requires_grad_(bool on = true);     // freeze / unfreeze every parameter (recursive)
    // Converts every floating parameter and buffer in place (integer buffers such as num_batches_tracked keep
    // their dtype, as PyTorch's module.to(dtype)); gradients are dropped.
    void to(DType dtype);
    void to(Device device);
    int64_t num_parameters() const;  // elements over named_parameters()

    // ---- forward ----
    // The single-tensor forward used by Sequential and by modules that chain others; modules with other
    // signatures (attention with masks) add their own. The default throws naming the module type.
    virtual Tensor forward(const Tensor& x);
    Tensor operator()(const Tensor& x) { return forward(x); }

    // One line per module with its parameters' shapes (for `wsdol info` and debugging).
    std::string summary() const;
    // Extra description shown by summary(), e.g. "in=768, out=2304, bias=true".
    virtual std::string extra_repr() const { return ""; }

protected:
    void add_child(const std::string& name, std::shared_ptr<Module> child);
    bool training_ = true;

private:
    struct BufferEntry {
        std::string name;
        Tensor tensor;
        bool persistent = true;
    };
    void check_new_name(const std::string& name, const char* what) const;
    void collect_state(const std::string& prefix, NamedTensors& out) const;
    void collect_buffers(const std::string& prefix, NamedTensors& out) const;
    void collect_modules(const std::string& prefix, std::vector<std::pair<std::string, Module*>>& out) const;

    std::string type_name_;
    std::vector<std::pair<std::string, Tensor>> params_;
    std::vector<BufferEntry> buffers_;
    std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

using ModulePtr = std::shared_ptr<Module>;

// Puts a module in eval mode for a scope and restores its previous mode on exit, exceptions included
// (inference inside a training run: a method's localize()).
class EvalModeGuard {
public:
    explicit EvalModeGuard(Module& module) : module_(module), was_training_(module.is_training()) { module_.eval(); }
    ~EvalModeGuard() { module_.train(was_training_); }
    EvalModeGuard(const EvalModeGuard&) = delete;
    EvalModeGuard& operator=(const EvalModeGuard&) = delete;

private:
    Module& module_;
    bool was_training_;
};

// An indexable list of modules named "0", "1", ... (PyTorch's nn.ModuleList). No forward of its own.
class ModuleList : public Module {
public:
    ModuleList() : Module("ModuleList") {}
    template <typename M>
    std::shared_ptr<M> push_back(std::shared_ptr<M> m) {
        add_child(std::to_string(items_.size()), m);
        items_.push_back(m);
        return m;
    }
    size_t size() const { return items_.size(); }
    const ModulePtr& operator[](size_t i) const;
    template <typename M>
    std::shared_ptr<M> at(size_t i) const {  // typed access; throws if the element is not an M
        auto m = std::dynamic_pointer_cast<M>((*this)[i]);
        WSDOL_CHECK(m, "ModuleList: element ", i, " is a ", (*this)[i]->type_name(), ", not the requested type");
        return m;
    }
    std::vector<ModulePtr>::const_iterator begin() const { return items_.begin(); }
    std::vector<ModulePtr>::const_iterator end() const { return items_.end(); }

private:
    std::vector<ModulePtr> items_;
};

}  // namespace wsdol::nn
