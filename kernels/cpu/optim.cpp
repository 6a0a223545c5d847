// optim.cpp (CPU) — the fused optimizer kernels: one pass over a parameter per update ("sgd_step",
// "adam_step"), and the two helpers of clip_grad_norm_ ("norm_pow_sum", "scale_inplace"). f32 and f64.
//
// Each update is elementwise, so any split over threads gives the same bits. Arithmetic is done in the
// parameter's type T with the scalars rounded to T, in the order of PyTorch's CPU ops (add with alpha:
// a + alpha*b; addcmul: a + value*b*c; addcdiv: a + value*b/c; lerp with weight w < 0.5: a + w*(b - a)), and
// no FMA contraction (the build passes -ffp-contract=off), so results are reproducible across runs and machines.
#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/optim/optimizer.h"
#include "kernels/cpu/parallel.h"

namespace wsdol::cpu {
namespace {

using optim::AdamStepArgs;
using optim::SGDStepArgs;

template <typename T>
void sgd_step_cpu(const TensorView& param, const TensorView& grad, const TensorView& momentum_buffer,
                  const SGDStepArgs& a) {
    T* p = param.ptr<T>();
    const T* g_in = grad.ptr<T>();
    T* buf = momentum_buffer.ptr<T>();
    const int64_t n = param.numel();
    const T wd = static_cast<T>(a.weight_decay);
    const T momentum = static_cast<T>(a.momentum);
    const T one_minus_dampening = static_cast<T>(1.0 - a.dampening);  // PyTorch: alpha=1 - dampening (Python float)
    const T neg_lr = static_cast<T>(-a.lr);
    const bool use_wd = a.weight_decay != 0, use_momentum = a.momentum != 0;
    parallel_for(n, 8, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            T g = a.maximize ? -g_in[i] : g_in[i];
            if (use_wd) g = g + wd * p[i];
            if (use_momentum) {
                T b = a.first_step ? g : buf[i] * momentum + one_minus_dampening * g;
                buf[i] = b;
                g = a.nesterov ? g + momentum * b : b;
            }
            p[i] = p[i] + neg_lr * g;
        }
    });
}

template <typename T>
void adam_step_cpu(const TensorView& param, const TensorView& grad, const TensorView& exp_avg,
                   const TensorView& exp_avg_sq, const TensorView& max_exp_avg_sq, const AdamStepArgs& a) {
    T* p = param.ptr<T>();
    const T* g_in = grad.ptr<T>();
    T* m = exp_avg.ptr<T>();
    T* v = exp_avg_sq.ptr<T>();
    T* vmax = max_exp_avg_sq.ptr<T>();
    const int64_t n = param.numel();
    // Scalars in double, as PyTorch computes them in Python, then rounded to T.
    const double bias_correction1 = 1.0 - std::pow(a.beta1, a.step);
    const double bias_correction2 = 1.0 - std::pow(a.beta2, a.step);
    const T neg_step_size = static_cast<T>(-(a.lr / bias_correction1));
    const T bias_correction2_sqrt = static_cast<T>(std::sqrt(bias_correction2));
    const T eps = static_cast<T>(a.eps);
    const T wd = static_cast<T>(a.weight_decay);
    const T decay_factor = static_cast<T>(1.0 - a.lr * a.weight_decay);  // AdamW: param.mul_(1 - lr * wd)
    const T w1 = static_cast<T>(1.0 - a.beta1);                           // lerp weight
    const T one_minus_w1 = static_cast<T>(1) - w1;                        // ATen's lerp computes 1 - w in T
    const bool lerp_low = std::abs(1.0 - a.beta1) < 0.5;
    const T beta2 = static_cast<T>(a.beta2);
    const T one_minus_beta2 = static_cast<T>(1.0 - a.beta2);
    const bool use_wd = a.weight_decay != 0;
    parallel_for(n, 16, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            T g = a.maximize ? -g_in[i] : g_in[i];
            T pi = p[i];
            if (use_wd) {
                if (a.decoupled_weight_decay) pi = pi * decay_factor;
                else g = g + wd * pi;
            }
            // exp_avg.lerp_(grad, 1 - beta1), ATen's two-sided lerp formula.
            const T mi = lerp_low ? m[i] + w1 * (g - m[i]) : g - (g - m[i]) * one_minus_w1;
            m[i] = mi;
            // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            const T vi = v[i] * beta2 + one_minus_beta2 * g * g;
            v[i] = vi;
            T second = vi;
            if (a.amsgrad) {
                const T mx = vmax[i];
                second = (mx != mx || mx > vi) ? mx : vi;  // torch.maximum: NaN propagates
                vmax[i] = second;
            }
            const T denom = std::sqrt(second) / bias_correction2_sqrt + eps;
            p[i] = pi + neg_step_size * mi / denom;  // param.addcdiv_(exp_avg, denom, value=-step_size)
        }
    });
}

// Sum over [begin, end) of |x|^p (or the max |x| for p = inf) in double, in order.
template <typename T>
double partial_norm(const T* x, int64_t begin, int64_t end, double p) {
    if (std::isinf(p)) {
        double best = 0;
        for (int64_t i = begin; i < end; ++i) {
            const double a = std::fabs(static_cast<double>(x[i]));
            if (a != a) return a;
            best = a > best ? a : best;
        }
        return best;
    }
    double acc = 0;
    if (p == 2) {
        for (int64_t i = begin; i < end; ++i) {
            const double v = static_cast<double>(x[i]);
            acc += v * v;
        }
    } else if (p == 1) {
        for (int64_t i = begin; i < end; ++i) acc += std::fabs(static_cast<double>(x[i]));
    } else if (p == 0) {
        for (int64_t i = begin; i < end; ++i) acc += x[i] != T(0) ? 1.0 : 0.0;
    } else {
        for (int64_t i = begin; i < end; ++i) acc += std::pow(std::fabs(static_cast<double>(x[i])), p);
    }
    return acc;
}

template <typename T>
double norm_pow_sum_cpu(const TensorView& x, double p) {
    const T* px = x.ptr<T>();
    const int64_t n = x.numel();
    const int64_t blocks = (n + kReduceBlock - 1) / kReduceBlock;
    std::vector<double> partial(static_cast<size_t>(blocks));
    parallel_for(blocks, kReduceBlock, [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b)
            partial[b] = partial_norm(px, b * kReduceBlock, std::min(n, (b + 1) * kReduceBlock), p);
    });
    double total = 0;  // blocks combined in order on one thread: the same bits for any thread count
    for (double v : partial) {
        if (std::isinf(p)) {
            if (v != v) return v;
            total = v > total ? v : total;
        } else {
            total += v;
        }
    }
    return total;
}

template <typename T>
void scale_inplace_cpu(const TensorView& x, double scale) {
    T* px = x.ptr<T>();
    const T s = static_cast<T>(scale);
    parallel_for(x.numel(), 1, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) px[i] = px[i] * s;
    });
}

}  // namespace

WSDOL_KERNEL("sgd_step", cpu, f32, optim::SGDStepKernel, &sgd_step_cpu<float>);
WSDOL_KERNEL("sgd_step", cpu, f64, optim::SGDStepKernel, &sgd_step_cpu<double>);
WSDOL_KERNEL("adam_step", cpu, f32, optim::AdamStepKernel, &adam_step_cpu<float>);
WSDOL_KERNEL("adam_step", cpu, f64, optim::AdamStepKernel, &adam_step_cpu<double>);
WSDOL_KERNEL("norm_pow_sum", cpu, f32, optim::NormPowSumKernel, &norm_pow_sum_cpu<float>);
WSDOL_KERNEL("norm_pow_sum", cpu, f64, optim::NormPowSumKernel, &norm_pow_sum_cpu<double>);
WSDOL_KERNEL("scale_inplace", cpu, f32, optim::ScaleInplaceKernel, &scale_inplace_cpu<float>);
WSDOL_KERNEL("scale_inplace", cpu, f64, optim::ScaleInplaceKernel, &scale_inplace_cpu<double>);

}  // namespace wsdol::cpu
