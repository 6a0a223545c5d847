// sgd.h — torch.optim.SGD: momentum, dampening, Nesterov, L2 weight decay, maximize; parameter groups.
//
// PyTorch's update for one parameter p with gradient g (torch/optim/sgd.py, _single_tensor_sgd), step t:
//   g = -g                              if maximize
//   g = g + weight_decay * p            if weight_decay != 0
//   if momentum != 0:
//       b = g                           on the parameter's first update (buffer = clone(g): no dampening)
//       b = momentum * b + (1 - dampening) * g   afterwards
//       g = g + momentum * b            if nesterov, else g = b
//   p = p - lr * g
// Nesterov requires momentum > 0 and dampening = 0 (PyTorch raises otherwise; so do we).
// The exported state is the "momentum_buffer" of each parameter that has one (none when momentum == 0).
#pragma once
#include "engine/optim/optimizer.h"

namespace wsdol::optim {

struct SGDOptions {
    double lr = 1e-3;  // PyTorch's default since 2.0
    double momentum = 0;
    double dampening = 0;
    double weight_decay = 0;
    bool nesterov = false;
    bool maximize = false;
};

class SGD : public Optimizer {
public:
    struct Group {
        NamedTensors params;
        SGDOptions options;
    };
    SGD(const NamedTensors& params, const SGDOptions& options = {});
    explicit SGD(const std::vector<Group>& groups);
    const char* type_name() const override { return "SGD"; }
    SGDOptions& options(size_t group);

protected:
    std::vector<OptionRef> group_options(size_t group) override;
    std::vector<std::string> buffer_names() const override { return {"momentum_buffer"}; }
    bool uses_step() const override { return false; }
    void update(size_t group, Slot& slot, const Tensor& grad) override;

private:
    std::vector<SGDOptions> options_;
};

}  // namespace wsdol::optim
