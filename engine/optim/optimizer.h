// optimizer.h — the optimizer base class (parameter groups, per-parameter state, export/import for checkpoints)
// and the kernel interface of the fused update kernels (kernels/cpu/optim.cpp).
//
// Optimizers take NAMED tensors (no dependency on nn::Module): a group is a list of (name, parameter) pairs plus
// its hyperparameters; names must be unique across all groups and key the exported state. Semantics follow
// torch.optim exactly (see sgd.h and adam.h for the update formulas): parameters whose .grad() is undefined are
// skipped (their state, including the step count, does not advance); zero_grad() drops gradients
// (set_to_none=True, PyTorch's default); every update runs without autograd recording.
//
// EXPORTED STATE (OptimizerState; checkpoint.h stores it):
//   tensors  "<param>.<buffer>"       e.g. "fc.weight.exp_avg", "fc.weight.momentum_buffer"
//   scalars  "<param>.step"           updates applied to that parameter (Adam; SGD has none)
//            "group.<g>.<option>"     every hyperparameter of group g ("lr", "initial_lr", "weight_decay", ...;
//                                     booleans as 0/1): importing restores them, as PyTorch's load_state_dict
//                                     restores param_groups, so a schedule-modified lr resumes exactly
//   groups   parameter names per group (importing checks that they match)
// Import replaces all state; tensors are copied (the source may be a memory-mapped file). Any mismatch (type,
// group layout, unknown or missing entry, shape or dtype) is an error naming the context and the entry.
#pragma once
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/ops/registry.h"
#include "engine/tensor/tensor.h"

namespace wsdol::optim {

using wsdol::NamedTensors;

struct OptimizerState {
    std::string type;                              // "SGD", "Adam", "AdamW"
    std::vector<std::vector<std::string>> groups;  // parameter names, per group
    NamedTensors tensors;                          // "<param>.<buffer>"
    std::map<std::string, double> scalars;         // "<param>.step", "group.<g>.<option>"
};

class Optimizer {
public:
    virtual ~Optimizer() = default;
    virtual const char* type_name() const = 0;

    void step();       // one update of every parameter that has a gradient
    void zero_grad();  // drops every parameter's gradient

    size_t num_groups() const { return groups_.size(); }
    std::vector<std::string> param_names(size_t group) const;
    std::vector<Tensor> params(size_t group) const;
    NamedTensors named_params() const;  // all groups, in order
    double lr(size_t group) const;
    void set_lr(size_t group, double lr);
    // The lr the group was built with: timm's param_group["initial_lr"] and ToCo's __init_lr, the base of the
    // schedules (schedule.h).
    double initial_lr(size_t group) const;

    // The state of one parameter (empty/0 before its first update): buffer by name, step count.
    Tensor state_buffer(const std::string& param, const std::string& buffer) const;  // undefined when absent
    double state_step(const std::string& param) const;

    OptimizerState export_state() const;
    // `context` prefixes errors (checkpoint.h passes the file name).
    void import_state(const OptimizerState& state, const std::string& context = "optimizer state");

protected:
    struct Slot {  // one parameter and its state
        std::string name;
        Tensor param;
        std::map<std::string, Tensor> buffers;
        double step = 0;
    };
    struct Group {
        std::vector<Slot> slots;
        double initial_lr = 0;
    };
    // A hyperparameter of a group, by name, for export/import and lr access.
    struct OptionRef {
        const char* name;
        double* number = nullptr;  // exactly one of number / flag is set
        bool* flag = nullptr;
    };

    // Subclasses: register each group (with its options) through add_group, in order.
    void add_group(const NamedTensors& params, double lr, const char* who);
    virtual std::vector<OptionRef> group_options(size_t group) = 0;  // must include "lr"
    virtual std::vector<std::string> buffer_names() const = 0;       // buffers this optimizer may keep
    virtual bool uses_step() const = 0;                               // whether "<param>.step" is state
    // Updates one parameter (grad: same shape/dtype/device as slot.param). Runs under NoGradGuard.
    virtual void update(size_t group, Slot& slot, const Tensor& grad) = 0;

    std::vector<Group> groups_;

private:
    double* lr_ptr(size_t group) const;
    const Slot* find_slot(const std::string& name) const;
};

// timm's weight-decay grouping (timm.optim param_groups_weight_decay; add_weight_decay in timm 0.4.12): frozen
// parameters (requires_grad false) are dropped; parameters with at most one dim (biases, norm weights, scalars),
// names ending in ".bias", and names in `no_decay_names` (the model's no_weight_decay(), e.g. "pos_embed",
// "cls_token") go to `no_decay` (give that group weight_decay 0); the rest to `decay`. Order is kept.
// (timm 0.4.12 tests len(shape) == 1, so a 0-dim parameter would land in `decay` there; newer timm and this
// function use ndim <= 1.)
struct WeightDecaySplit {
    NamedTensors decay;
    NamedTensors no_decay;
};
WeightDecaySplit split_weight_decay(const NamedTensors& params, const std::set<std::string>& no_decay_names = {});

// ---- kernel interface (kernels/cpu/optim.cpp; keyed by the parameter's dtype) ----
// All views are contiguous with the parameter's numel and dtype. Elementwise, so bit-identical for any thread
// count. Scalars arrive in double and are rounded to the parameter dtype where PyTorch rounds them (its CPU
// kernels compute float tensors in float with the Python scalars converted to float).

// "sgd_step": torch.optim.SGD for one parameter (formulas in sgd.h). momentum_buffer is read/written only when
// momentum != 0; with first_step it is initialized to the (decayed) gradient, as PyTorch's clone.
struct SGDStepArgs {
    double lr = 0, momentum = 0, dampening = 0, weight_decay = 0;
    bool nesterov = false, maximize = false, first_step = false;
};
using SGDStepKernel = void(const TensorView& param, const TensorView& grad, const TensorView& momentum_buffer,
                           const SGDStepArgs& args);

// "adam_step": torch.optim.Adam / AdamW for one parameter (formulas in adam.h). max_exp_avg_sq is used only
// with amsgrad. `step` is the parameter's step count after this update (1 on the first).
struct AdamStepArgs {
    double lr = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
    bool amsgrad = false, maximize = false, decoupled_weight_decay = false;
    double step = 1;
};
using AdamStepKernel = void(const TensorView& param, const TensorView& grad, const TensorView& exp_avg,
                            const TensorView& exp_avg_sq, const TensorView& max_exp_avg_sq, const AdamStepArgs& args);

// "norm_pow_sum": for clip_grad_norm_; x contiguous. p finite > 0: sum of |x|^p (x*x for p = 2, |x| for p = 1);
// p = 0: the number of non-zeros; p = +inf: max |x| (NaN propagates). Accumulated in double over kReduceBlock
// blocks combined in order (parallel.h's determinism rule).
using NormPowSumKernel = double(const TensorView& x, double p);

// "scale_inplace": x *= scale, with scale rounded to x's dtype. x contiguous.
using ScaleInplaceKernel = void(const TensorView& x, double scale);

}  // namespace wsdol::optim
