// clip_grad.cpp — clip_grad_norm_ over the "norm_pow_sum" and "scale_inplace" kernels (see clip_grad.h).
#include "engine/optim/clip_grad.h"

#include <cmath>
#include <limits>

#include "engine/autograd/autograd.h"

namespace wsdol::optim {
namespace {

void check_norm_type(double p) {
    WSDOL_CHECK(p == std::numeric_limits<double>::infinity() || (std::isfinite(p) && p >= 0),
                "clip_grad_norm_: norm_type must be >= 0 or inf, got ", p);
}

// ||x||_p in double.
double tensor_norm(const Tensor& x, double p) {
    if (x.numel() == 0) return 0.0;
    const Tensor c = x.contiguous();
    const double s = find_kernel<NormPowSumKernel>("norm_pow_sum", c.device(), c.dtype())(view_of(c), p);
    if (std::isinf(p) || p == 0 || p == 1) return s;
    if (p == 2) return std::sqrt(s);
    return std::pow(s, 1.0 / p);
}

// The norm of a vector of norms, as torch.linalg.vector_norm(torch.stack(norms), p).
double norm_of_norms(const std::vector<double>& norms, double p) {
    if (std::isinf(p)) {
        double m = 0;
        for (double n : norms) {
            if (std::isnan(n)) return n;
            m = n > m ? n : m;
        }
        return m;
    }
    double s = 0;
    for (double n : norms) {
        if (p == 0) s += n != 0 ? 1.0 : 0.0;
        else if (p == 1) s += n;
        else if (p == 2) s += n * n;
        else s += std::pow(n, p);
    }
    if (p == 0 || p == 1) return s;
    if (p == 2) return std::sqrt(s);
    return std::pow(s, 1.0 / p);
}

std::vector<Tensor> grads_of(const std::vector<Tensor>& params) {
    std::vector<Tensor> grads;
    for (const Tensor& p : params) {
        WSDOL_CHECK(p.defined(), "clip_grad_norm_: undefined parameter");
        const Tensor g = p.grad();
        if (g.defined()) grads.push_back(g);
    }
    return grads;
}

double total_of(const std::vector<Tensor>& grads, double p) {
    std::vector<double> norms;
    norms.reserve(grads.size());
    for (const Tensor& g : grads) norms.push_back(tensor_norm(g, p));
    return norms.empty() ? 0.0 : norm_of_norms(norms, p);
}

}  // namespace

double total_grad_norm(const std::vector<Tensor>& params, double norm_type) {
    check_norm_type(norm_type);
    return total_of(grads_of(params), norm_type);
}

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type, bool error_if_nonfinite) {
    check_norm_type(norm_type);
    NoGradGuard no_grad;
    const std::vector<Tensor> grads = grads_of(params);
    const double total = total_of(grads, norm_type);
    WSDOL_CHECK(!error_if_nonfinite || std::isfinite(total), "clip_grad_norm_: the total norm of order ", norm_type,
                " for gradients is non-finite (", total, "), so it cannot be clipped");
    const double clip_coef = max_norm / (total + 1e-6);  // PyTorch's 1e-6 guards a zero total
    // Clamped to 1, multiplying changes nothing; a NaN coefficient (NaN total) is applied, as torch.clamp keeps it.
    if (clip_coef >= 1.0) return total;
    for (const Tensor& g : grads) {
        if (g.numel() == 0) continue;
        Tensor c = g.is_contiguous() ? g : g.contiguous();
        find_kernel<ScaleInplaceKernel>("scale_inplace", c.device(), c.dtype())(view_of(c), clip_coef);
        if (!c.same(g)) Tensor(g).copy_(c);
    }
    return total;
}

double clip_grad_norm_(const NamedTensors& params, double max_norm, double norm_type, bool error_if_nonfinite) {
    std::vector<Tensor> ps;
    for (const auto& [name, p] : params) ps.push_back(p);
    return clip_grad_norm_(ps, max_norm, norm_type, error_if_nonfinite);
}

}  // namespace wsdol::optim
