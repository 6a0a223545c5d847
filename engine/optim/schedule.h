// schedule.h — learning-rate schedules that set an Optimizer's group lrs: timm's CosineLRScheduler, ToCo's
// PolyWarmupAdamW schedule, torch's StepLR, and a milestone step decay counted in optimizer updates (MultiStepLR). Each computes every group's lr from that group's initial lr
// (Optimizer::initial_lr) and has a small state (its step/epoch counters) that serializes for checkpoints.
//
// State and resume: state() returns the counters as named numbers; load_state() restores them. The group lrs
// themselves are restored by the optimizer's state (Optimizer::import_state), exactly as saved, so a resumed run
// continues bit-identically (checkpoint.h saves both). Construct a schedule BEFORE loading a checkpoint: some
// constructors set the lrs (timm's cosine does), which would overwrite the restored ones.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/optim/optimizer.h"

namespace wsdol::optim {

using ScheduleState = std::map<std::string, double>;

class LRScheduler {
public:
    explicit LRScheduler(Optimizer& optimizer) : optimizer_(optimizer) {}
    virtual ~LRScheduler() = default;
    virtual const char* type_name() const = 0;
    virtual ScheduleState state() const = 0;
    // Restores the counters; throws naming `context` and the missing/unexpected key.
    virtual void load_state(const ScheduleState& state, const std::string& context = "schedule state") = 0;
    std::vector<double> last_lr() const;  // the optimizer's current group lrs
    Optimizer& optimizer() const { return optimizer_; }

protected:
    void apply(const std::vector<double>& lrs);
    std::vector<double> base_lrs() const;  // the groups' initial lrs
    Optimizer& optimizer_;
};

// ---- timm CosineLRScheduler (timm/scheduler/cosine_lr.py) ----
// lr(t) for a group with base lr b (t = epoch when t_in_epochs, else the number of optimizer updates):
//   t < warmup_t:  warmup_lr_init + t * (b - warmup_lr_init) / warmup_t
//   otherwise:     t -= warmup_t if warmup_prefix;
//                  cycle_mul == 1:  i = floor(t / t_initial), t_i = t_initial, t_curr = t - i * t_initial
//                  cycle_mul != 1:  i = floor(log(1 - t / t_initial * (1 - cycle_mul)) / log(cycle_mul)),
//                                   t_i = cycle_mul^i * t_initial,
//                                   t_curr = t - (1 - cycle_mul^i) / (1 - cycle_mul) * t_initial
//                  i < cycle_limit: lr_min + 0.5 (b * cycle_decay^i - lr_min)(1 + cos(pi t_curr^k / t_i^k))
//                  else:            lr_min                                                 (k = k_decay)
// Note that t_initial counts from 0, not from the end of the warm-up (unless warmup_prefix).
// Construction sets the lrs to warmup_lr_init when warmup_t > 0 (else leaves the base lrs), as timm does.
// Use as timm's train loop does: step(epoch + 1) after each epoch, step_update(num_updates) after each
// optimizer update; only the call matching t_in_epochs changes the lrs. Noise options are not supported.
struct CosineLROptions {
    int64_t t_initial = 0;  // > 0
    double lr_min = 0;
    double cycle_mul = 1;
    double cycle_decay = 1;
    int64_t cycle_limit = 1;
    int64_t warmup_t = 0;
    double warmup_lr_init = 0;
    bool warmup_prefix = false;
    bool t_in_epochs = true;
    double k_decay = 1;
};

class CosineLRScheduler : public LRScheduler {
public:
    CosineLRScheduler(Optimizer& optimizer, const CosineLROptions& options);
    const char* type_name() const override { return "CosineLRScheduler"; }
    std::vector<double> lr_at(int64_t t) const;  // timm's _get_lr(t), one lr per group
    void step(int64_t epoch);                    // end of an epoch: pass the next epoch's index
    void step_update(int64_t num_updates);       // after an optimizer update: pass the updates done so far
    int64_t cycle_length(int64_t cycles = 0) const;  // timm's get_cycle_length
    const CosineLROptions& options() const { return options_; }
    ScheduleState state() const override;
    void load_state(const ScheduleState& state, const std::string& context = "schedule state") override;

private:
    CosineLROptions options_;
    int64_t last_epoch_ = -1;   // the last value passed to step(), -1 before any
    int64_t last_update_ = -1;  // the last value passed to step_update(), -1 before any
};

// ---- ToCo PolyWarmupAdamW (rulixiang/ToCo utils/optimizer.py) ----
// Before each optimizer update, with the global step s (0 on the first update) and a group's initial lr b:
//   s < warmup_iter:  lr = b * (1 - (1 - s / warmup_iter) * (1 - warmup_ratio))
//   s < max_iter:     lr = b * (1 - s / max_iter)^power          (NOT re-based after the warm-up)
//   otherwise:        the lr is left as it was
// then s += 1. ToCo folds this into AdamW.step(); here call schedule.step() immediately before
// optimizer.step() (the optimizer is an AdamW with betas, eps 1e-8 and weight decay as ToCo passes them).
struct PolyWarmupOptions {
    int64_t warmup_iter = 0;
    int64_t max_iter = 0;
    double warmup_ratio = 1e-6;
    double power = 0.9;
};

class PolyWarmupLR : public LRScheduler {
public:
    PolyWarmupLR(Optimizer& optimizer, const PolyWarmupOptions& options);
    const char* type_name() const override { return "PolyWarmupLR"; }
    void step();  // sets the lrs for the current global step, then advances it
    // The multiplier at global step s, or a negative number when s >= max_iter (lr unchanged).
    double lr_mult(int64_t s) const;
    int64_t global_step() const { return global_step_; }
    ScheduleState state() const override;
    void load_state(const ScheduleState& state, const std::string& context = "schedule state") override;

private:
    PolyWarmupOptions options_;
    int64_t global_step_ = 0;
};

// ---- torch.optim.lr_scheduler.StepLR ----
// Chainable form, as PyTorch's step(): at epoch e (last_epoch after the increment), if e > 0 and
// e % step_size == 0 then lr = lr * gamma, else unchanged. Construction performs PyTorch's initial step
// (last_epoch = 0, lrs unchanged). Equals b * gamma^(e // step_size) up to rounding of the repeated product.
struct StepLROptions {
    int64_t step_size = 1;
    double gamma = 0.1;
};

class StepLR : public LRScheduler {
public:
    StepLR(Optimizer& optimizer, const StepLROptions& options);
    const char* type_name() const override { return "StepLR"; }
    void step();
    int64_t last_epoch() const { return last_epoch_; }
    ScheduleState state() const override;
    void load_state(const ScheduleState& state, const std::string& context = "schedule state") override;

private:
    StepLROptions options_;
    int64_t last_epoch_ = 0;
};

// ---- step decay at milestones, counted in optimizer updates (torch MultiStepLR, TS-CAM's adjust_learning_rate_normal) ----
// Before update t (t = updates done, 0 on the first), a group with base lr b runs at b * gamma * ... * gamma, one
// factor per milestone m_i <= t, multiplied in milestone order (the chained `lr *= gamma` of the references, so
// the value equals theirs bit for bit). Milestones are update counts, non-decreasing, >= 0 (the trainer converts
// epochs to updates). Construction sets the lrs for t = 0; step_update(num_updates) after each update sets them for
// the next one. The lr is a function of t alone, so resume needs only the counter.
struct MultiStepOptions {
    std::vector<int64_t> milestones;  // update counts
    double gamma = 0.1;
};

class MultiStepLR : public LRScheduler {
public:
    MultiStepLR(Optimizer& optimizer, const MultiStepOptions& options);
    const char* type_name() const override { return "MultiStepLR"; }
    std::vector<double> lr_at(int64_t t) const;  // one lr per group before update t
    void step_update(int64_t num_updates);
    ScheduleState state() const override;
    void load_state(const ScheduleState& state, const std::string& context = "schedule state") override;

private:
    MultiStepOptions options_;
    int64_t last_update_ = 0;
};

}  // namespace wsdol::optim
