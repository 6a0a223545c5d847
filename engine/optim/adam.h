// adam.h — torch.optim.Adam and torch.optim.AdamW (amsgrad, maximize; parameter groups).
//
// PyTorch's update for one parameter p with gradient g (torch/optim/adam.py, _single_tensor_adam; AdamW is Adam
// with decoupled_weight_decay=True), at that parameter's step t = 1, 2, ...:
//   g = -g                                    if maximize
//   Adam:  g = g + weight_decay * p           (L2 penalty added to the gradient)
//   AdamW: p = p * (1 - lr * weight_decay)    (decoupled decay, before the Adam step)
//   m = lerp(m, g, 1 - beta1)                 (= beta1 m + (1 - beta1) g; PyTorch evaluates it as a lerp)
//   v = beta2 v + (1 - beta2) g^2
//   v_max = max(v_max, v)                     if amsgrad (the denominator then uses v_max)
//   step_size = lr / (1 - beta1^t);  denom = sqrt(v) / sqrt(1 - beta2^t) + eps   (eps OUTSIDE the sqrt)
//   p = p - step_size * m / denom
// State per parameter: "exp_avg" (m), "exp_avg_sq" (v), "max_exp_avg_sq" (amsgrad), and the step t.
// Defaults are PyTorch's: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0 (Adam) / 1e-2 (AdamW).
#pragma once
#include "engine/optim/optimizer.h"

namespace wsdol::optim {

struct AdamOptions {
    double lr = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0;
    bool amsgrad = false;
    bool maximize = false;
};

struct AdamWOptions : AdamOptions {
    AdamWOptions() { weight_decay = 1e-2; }  // torch.optim.AdamW's default
};

class Adam : public Optimizer {
public:
    struct Group {
        NamedTensors params;
        AdamOptions options;
    };
    Adam(const NamedTensors& params, const AdamOptions& options = {});
    explicit Adam(const std::vector<Group>& groups);
    const char* type_name() const override { return decoupled_ ? "AdamW" : "Adam"; }
    AdamOptions& options(size_t group);

protected:
    Adam(const std::vector<Group>& groups, bool decoupled_weight_decay);
    std::vector<OptionRef> group_options(size_t group) override;
    std::vector<std::string> buffer_names() const override { return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}; }
    bool uses_step() const override { return true; }
    void update(size_t group, Slot& slot, const Tensor& grad) override;

private:
    bool decoupled_ = false;
    std::vector<AdamOptions> options_;
};

class AdamW : public Adam {
public:
    struct Group {
        NamedTensors params;
        AdamWOptions options;
    };
    AdamW(const NamedTensors& params, const AdamWOptions& options = {});
    explicit AdamW(const std::vector<Group>& groups);
};

}  // namespace wsdol::optim
