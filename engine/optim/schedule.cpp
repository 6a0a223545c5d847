// schedule.cpp — timm cosine, ToCo poly-warmup, torch StepLR and milestone step-decay schedules (formulas in schedule.h). Each lr
// expression is evaluated in the order the Python reference writes it, in double, so the lrs match it bit for bit.
#include "engine/optim/schedule.h"

#include <cmath>

namespace wsdol::optim {
namespace {

constexpr double kPi = 3.141592653589793;  // math.pi

// Reads the integer counter `key` from a schedule state; rejects missing, non-integral and unexpected keys.
int64_t read_counter(const ScheduleState& state, const std::string& key, const std::string& context) {
    auto it = state.find(key);
    WSDOL_CHECK(it != state.end(), context, ": missing '", key, "'");
    WSDOL_CHECK(std::isfinite(it->second) && std::floor(it->second) == it->second, context, ": '", key,
                "' must be an integer, got ", it->second);
    return static_cast<int64_t>(it->second);
}

void check_keys(const ScheduleState& state, std::initializer_list<const char*> keys, const std::string& context) {
    for (const auto& [k, v] : state) {
        bool known = false;
        for (const char* key : keys) known = known || k == key;
        WSDOL_CHECK(known, context, ": unexpected key '", k, "'");
    }
}

// Python's floor division for a non-negative numerator and a positive divisor.
int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}

}  // namespace

std::vector<double> LRScheduler::last_lr() const {
    std::vector<double> out;
    for (size_t g = 0; g < optimizer_.num_groups(); ++g) out.push_back(optimizer_.lr(g));
    return out;
}

std::vector<double> LRScheduler::base_lrs() const {
    std::vector<double> out;
    for (size_t g = 0; g < optimizer_.num_groups(); ++g) out.push_back(optimizer_.initial_lr(g));
    return out;
}

void LRScheduler::apply(const std::vector<double>& lrs) {
    for (size_t g = 0; g < lrs.size(); ++g) optimizer_.set_lr(g, lrs[g]);
}

// ---------------------------------------------------------------- timm cosine

CosineLRScheduler::CosineLRScheduler(Optimizer& optimizer, const CosineLROptions& options)
    : LRScheduler(optimizer), options_(options) {
    WSDOL_CHECK(options.t_initial > 0, "CosineLRScheduler: t_initial must be > 0, got ", options.t_initial);
    WSDOL_CHECK(options.lr_min >= 0, "CosineLRScheduler: lr_min must be >= 0, got ", options.lr_min);
    WSDOL_CHECK(options.warmup_t >= 0, "CosineLRScheduler: warmup_t must be >= 0, got ", options.warmup_t);
    WSDOL_CHECK(options.cycle_mul > 0, "CosineLRScheduler: cycle_mul must be > 0, got ", options.cycle_mul);
    // timm: update_groups(base_values), then update_groups(warmup_lr_init) when there is a warm-up.
    if (options_.warmup_t > 0) apply(std::vector<double>(optimizer.num_groups(), options_.warmup_lr_init));
    else apply(base_lrs());
}

std::vector<double> CosineLRScheduler::lr_at(int64_t t) const {
    const CosineLROptions& o = options_;
    const std::vector<double> base = base_lrs();
    std::vector<double> lrs;
    if (t < o.warmup_t) {
        for (double b : base) {
            const double warmup_step = (b - o.warmup_lr_init) / static_cast<double>(o.warmup_t);
            lrs.push_back(o.warmup_lr_init + static_cast<double>(t) * warmup_step);
        }
        return lrs;
    }
    if (o.warmup_prefix) t -= o.warmup_t;
    double i, t_i, t_curr;
    const double td = static_cast<double>(t), t_initial = static_cast<double>(o.t_initial);
    if (o.cycle_mul != 1) {
        i = std::floor(std::log(1 - td / t_initial * (1 - o.cycle_mul)) / std::log(o.cycle_mul));
        t_i = std::pow(o.cycle_mul, i) * t_initial;
        t_curr = td - (1 - std::pow(o.cycle_mul, i)) / (1 - o.cycle_mul) * t_initial;
    } else {
        const int64_t ii = floor_div(t, o.t_initial);  // integers, as in Python
        i = static_cast<double>(ii);
        t_i = t_initial;
        t_curr = static_cast<double>(t - o.t_initial * ii);
    }
    const double gamma = std::pow(o.cycle_decay, i);
    const double k = o.k_decay;
    for (double b : base) {
        if (i < static_cast<double>(o.cycle_limit)) {
            const double lr_max = b * gamma;
            lrs.push_back(o.lr_min +
                          0.5 * (lr_max - o.lr_min) * (1 + std::cos(kPi * std::pow(t_curr, k) / std::pow(t_i, k))));
        } else {
            lrs.push_back(o.lr_min);
        }
    }
    return lrs;
}

void CosineLRScheduler::step(int64_t epoch) {
    last_epoch_ = epoch;
    if (options_.t_in_epochs) apply(lr_at(epoch));
}

void CosineLRScheduler::step_update(int64_t num_updates) {
    last_update_ = num_updates;
    if (!options_.t_in_epochs) apply(lr_at(num_updates));
}

int64_t CosineLRScheduler::cycle_length(int64_t cycles) const {
    cycles = std::max<int64_t>(1, cycles ? cycles : options_.cycle_limit);
    if (options_.cycle_mul == 1.0) return options_.t_initial * cycles;
    return static_cast<int64_t>(std::floor(-static_cast<double>(options_.t_initial) *
                                           (std::pow(options_.cycle_mul, static_cast<double>(cycles)) - 1) /
                                           (1 - options_.cycle_mul)));
}

ScheduleState CosineLRScheduler::state() const {
    return {{"last_epoch", static_cast<double>(last_epoch_)}, {"last_update", static_cast<double>(last_update_)}};
}

void CosineLRScheduler::load_state(const ScheduleState& state, const std::string& context) {
    const std::string who = context + ": " + type_name();
    check_keys(state, {"last_epoch", "last_update"}, who);
    const int64_t epoch = read_counter(state, "last_epoch", who);
    const int64_t update = read_counter(state, "last_update", who);
    last_epoch_ = epoch;
    last_update_ = update;
}

// ---------------------------------------------------------------- ToCo poly warm-up

PolyWarmupLR::PolyWarmupLR(Optimizer& optimizer, const PolyWarmupOptions& options)
    : LRScheduler(optimizer), options_(options) {
    WSDOL_CHECK(options.warmup_iter >= 0, "PolyWarmupLR: warmup_iter must be >= 0, got ", options.warmup_iter);
    WSDOL_CHECK(options.max_iter > 0, "PolyWarmupLR: max_iter must be > 0, got ", options.max_iter);
}

double PolyWarmupLR::lr_mult(int64_t s) const {
    const double sd = static_cast<double>(s);
    if (s < options_.warmup_iter)
        return 1 - (1 - sd / static_cast<double>(options_.warmup_iter)) * (1 - options_.warmup_ratio);
    if (s < options_.max_iter) return std::pow(1 - sd / static_cast<double>(options_.max_iter), options_.power);
    return -1;
}

void PolyWarmupLR::step() {
    const double mult = lr_mult(global_step_);
    if (global_step_ < options_.max_iter) {
        std::vector<double> lrs;
        for (double b : base_lrs()) lrs.push_back(b * mult);  // self.__init_lr[i] * lr_mult
        apply(lrs);
    }
    ++global_step_;
}

ScheduleState PolyWarmupLR::state() const { return {{"global_step", static_cast<double>(global_step_)}}; }

void PolyWarmupLR::load_state(const ScheduleState& state, const std::string& context) {
    const std::string who = context + ": " + type_name();
    check_keys(state, {"global_step"}, who);
    const int64_t s = read_counter(state, "global_step", who);
    WSDOL_CHECK(s >= 0, who, ": negative global_step ", s);
    global_step_ = s;
}

// ---------------------------------------------------------------- torch StepLR

StepLR::StepLR(Optimizer& optimizer, const StepLROptions& options) : LRScheduler(optimizer), options_(options) {
    WSDOL_CHECK(options.step_size > 0, "StepLR: step_size must be > 0, got ", options.step_size);
}

void StepLR::step() {
    ++last_epoch_;
    if (last_epoch_ == 0 || last_epoch_ % options_.step_size != 0) return;
    std::vector<double> lrs = last_lr();
    for (double& lr : lrs) lr = lr * options_.gamma;
    apply(lrs);
}

ScheduleState StepLR::state() const { return {{"last_epoch", static_cast<double>(last_epoch_)}}; }

void StepLR::load_state(const ScheduleState& state, const std::string& context) {
    const std::string who = context + ": " + type_name();
    check_keys(state, {"last_epoch"}, who);
    last_epoch_ = read_counter(state, "last_epoch", who);
}

// ---------------------------------------------------------------- milestone step decay

MultiStepLR::MultiStepLR(Optimizer& optimizer, const MultiStepOptions& options)
    : LRScheduler(optimizer), options_(options) {
    for (size_t i = 0; i < options.milestones.size(); ++i) {
        WSDOL_CHECK(options.milestones[i] >= 0, "MultiStepLR: milestone ", i, " is negative (",
                    options.milestones[i], ")");
        WSDOL_CHECK(i == 0 || options.milestones[i] >= options.milestones[i - 1],
                    "MultiStepLR: milestones must be non-decreasing, got ", options.milestones[i - 1], " then ",
                    options.milestones[i]);
    }
    WSDOL_CHECK(std::isfinite(options.gamma) && options.gamma > 0, "MultiStepLR: gamma must be positive, got ",
                options.gamma);
    apply(lr_at(0));
}

std::vector<double> MultiStepLR::lr_at(int64_t t) const {
    std::vector<double> lrs = base_lrs();
    for (int64_t m : options_.milestones)
        if (m <= t)
            for (double& lr : lrs) lr = lr * options_.gamma;  // param_group['lr'] = lr_decay * param_group['lr']
    return lrs;
}

void MultiStepLR::step_update(int64_t num_updates) {
    WSDOL_CHECK(num_updates >= 0, "MultiStepLR: negative update count ", num_updates);
    last_update_ = num_updates;
    apply(lr_at(num_updates));
}

ScheduleState MultiStepLR::state() const { return {{"last_update", static_cast<double>(last_update_)}}; }

void MultiStepLR::load_state(const ScheduleState& state, const std::string& context) {
    const std::string who = context + ": " + type_name();
    check_keys(state, {"last_update"}, who);
    const int64_t t = read_counter(state, "last_update", who);
    WSDOL_CHECK(t >= 0, who, ": negative last_update ", t);
    last_update_ = t;
}

}  // namespace wsdol::optim
