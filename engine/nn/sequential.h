// sequential.h — containers and parameter-free layers: Sequential (children run in order, named "0", "1", ...
// or by the names given), Identity, and the activation modules ReLU, GELU, QuickGELU.
#pragma once
#include "engine/nn/module.h"
#include "engine/ops/elementwise.h"

namespace wsdol::nn {

class Sequential : public Module {
public:
    Sequential() : Module("Sequential") {}
    explicit Sequential(std::vector<ModulePtr> modules);
    // Appends under the next numeric name (PyTorch's Sequential(*modules)).
    template <typename M>
    std::shared_ptr<M> push_back(std::shared_ptr<M> m) {
        return add(std::to_string(items_.size()), std::move(m));
    }
    // Appends under a given name (PyTorch's Sequential(OrderedDict(...))).
    template <typename M>
    std::shared_ptr<M> add(const std::string& name, std::shared_ptr<M> m) {
        add_child(name, m);
        items_.push_back(m);
        return m;
    }
    size_t size() const { return items_.size(); }
    const ModulePtr& operator[](size_t i) const;
    Tensor forward(const Tensor& x) override;  // x -> m_n(... m_1(m_0(x)))

private:
    std::vector<ModulePtr> items_;
};

class Identity : public Module {
public:
    Identity() : Module("Identity") {}
    Tensor forward(const Tensor& x) override { return x; }
};

class ReLU : public Module {
public:
    ReLU() : Module("ReLU") {}
    Tensor forward(const Tensor& x) override { return relu(x); }
};

class GELU : public Module {
public:
    explicit GELU(GeluApprox approximate = GeluApprox::none) : Module("GELU"), approximate(approximate) {}
    Tensor forward(const Tensor& x) override { return gelu(x, approximate); }
    std::string extra_repr() const override { return approximate == GeluApprox::tanh ? "approximate='tanh'" : ""; }
    GeluApprox approximate;
};

// OpenAI CLIP's QuickGELU: x * sigmoid(1.702 x).
class QuickGELU : public Module {
public:
    QuickGELU() : Module("QuickGELU") {}
    Tensor forward(const Tensor& x) override { return quick_gelu(x); }
};

}  // namespace wsdol::nn
