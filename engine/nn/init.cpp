// init.cpp — torch.nn.init / timm initializations over wsdol's Philox generators.
#include "engine/nn/init.h"

#include <cmath>
#include <limits>
#include <vector>

#include "engine/autograd/autograd.h"

namespace wsdol::nn::inline init {

namespace {

DType draw_dtype(const Tensor& t) { return t.dtype() == DType::f64 ? DType::f64 : DType::f32; }

void check_floating(const Tensor& t, const char* fn) {
    WSDOL_CHECK(t.defined(), "init.", fn, ": undefined tensor");
    WSDOL_CHECK(is_floating(t.dtype()), "init.", fn, ": needs a floating tensor, got ", dtype_name(t.dtype()));
}

// Writes `values` (CPU, any floating dtype, same shape) into `t` without recording.
void assign(const Tensor& t, const Tensor& values) {
    NoGradGuard no_grad;
    t.detach().copy_(values);
}

double fan_of(const Tensor& t, FanMode mode) {
    auto [fan_in, fan_out] = fan_in_and_fan_out(t);
    return static_cast<double>(mode == FanMode::fan_in ? fan_in : fan_out);
}

}  // namespace

std::pair<int64_t, int64_t> fan_in_and_fan_out(const Tensor& t) {
    WSDOL_CHECK(t.defined() && t.dim() >= 2, "init: fan in and fan out can not be computed for a tensor with fewer ",
                "than 2 dimensions, got ", t.defined() ? shape_str(t.shape()) : "undefined");
    int64_t receptive = 1;
    for (int d = 2; d < t.dim(); ++d) receptive *= t.size(d);
    return {t.size(1) * receptive, t.size(0) * receptive};
}

double calculate_gain(const std::string& nonlinearity, double param) {
    if (nonlinearity == "linear" || nonlinearity == "conv1d" || nonlinearity == "conv2d" ||
        nonlinearity == "conv3d" || nonlinearity == "sigmoid" || nonlinearity == "identity")
        return 1.0;
    if (nonlinearity == "tanh") return 5.0 / 3.0;
    if (nonlinearity == "relu") return std::sqrt(2.0);
    if (nonlinearity == "leaky_relu") return std::sqrt(2.0 / (1.0 + param * param));
    if (nonlinearity == "selu") return 3.0 / 4.0;
    fail(str("init.calculate_gain: unsupported nonlinearity '", nonlinearity, "'"));
}

void uniform_(const Tensor& t, double low, double high, Generator* gen) {
    check_floating(t, "uniform_");
    WSDOL_CHECK(low <= high, "init.uniform_: low ", low, " > high ", high);
    if (t.numel() == 0) return;
    assign(t, Tensor::uniform(t.shape(), low, high, draw_dtype(t), gen));
}

void normal_(const Tensor& t, double mean, double std, Generator* gen) {
    check_floating(t, "normal_");
    WSDOL_CHECK(std >= 0, "init.normal_: std must be >= 0, got ", std);
    if (t.numel() == 0) return;
    // mean + std * z evaluated in double on the host, so the result does not depend on any op's rounding.
    std::vector<double> z = Tensor::randn(t.shape(), draw_dtype(t), gen).to_vector();
    for (double& v : z) v = mean + std * v;
    assign(t, Tensor::from_vector(z, t.shape(), DType::f64));
}

double erfinv(double y) {
    if (std::isnan(y) || y < -1.0 || y > 1.0) return std::numeric_limits<double>::quiet_NaN();
    if (y == 1.0) return std::numeric_limits<double>::infinity();
    if (y == -1.0) return -std::numeric_limits<double>::infinity();
    // Giles' single-precision approximation as the starting point, then Newton steps on erf(x) - y = 0
    // (erf'(x) = 2/sqrt(pi) exp(-x^2)) to double precision.
    const double w = -std::log((1.0 - y) * (1.0 + y));
    double x;
    if (w < 5.0) {
        const double s = w - 2.5;
        double p = 2.81022636e-08;
        p = 3.43273939e-07 + p * s;
        p = -3.5233877e-06 + p * s;
        p = -4.39150654e-06 + p * s;
        p = 0.00021858087 + p * s;
        p = -0.00125372503 + p * s;
        p = -0.00417768164 + p * s;
        p = 0.246640727 + p * s;
        p = 1.50140941 + p * s;
        x = p * y;
    } else {
        const double s = std::sqrt(w) - 3.0;
        double p = -0.000200214257;
        p = 0.000100950558 + p * s;
        p = 0.00134934322 + p * s;
        p = -0.00367342844 + p * s;
        p = 0.00573950773 + p * s;
        p = -0.0076224613 + p * s;
        p = 0.00943887047 + p * s;
        p = 1.00167406 + p * s;
        p = 2.83297682 + p * s;
        x = p * y;
    }
    const double two_over_sqrt_pi = 1.1283791670955126;
    for (int i = 0; i < 3; ++i) {
        const double err = std::erf(x) - y;
        x -= err / (two_over_sqrt_pi * std::exp(-x * x));
    }
    return x;
}

void trunc_normal_(const Tensor& t, double mean, double std, double a, double b, Generator* gen) {
    check_floating(t, "trunc_normal_");
    WSDOL_CHECK(a < b && std > 0, "init.trunc_normal_: needs a < b and std > 0, got a=", a, " b=", b, " std=", std);
    if (t.numel() == 0) return;
    auto norm_cdf = [](double x) { return (1.0 + std::erf(x / std::sqrt(2.0))) / 2.0; };
    const double l = norm_cdf((a - mean) / std), u = norm_cdf((b - mean) / std);
    // timm draws u in the tensor's dtype and applies erfinv_/mul_/add_/clamp_ in it; we do the arithmetic in
    // double and round once when assigning.
    std::vector<double> v = Tensor::uniform(t.shape(), 2 * l - 1, 2 * u - 1, draw_dtype(t), gen).to_vector();
    for (double& x : v) {
        x = mean + std * std::sqrt(2.0) * erfinv(x);
        x = std::fmin(std::fmax(x, a), b);
    }
    assign(t, Tensor::from_vector(v, t.shape(), DType::f64));
}

void constant_(const Tensor& t, double value) {
    WSDOL_CHECK(t.defined(), "init.constant_: undefined tensor");
    NoGradGuard no_grad;
    t.detach().fill_(value);
}
void zeros_(const Tensor& t) { constant_(t, 0.0); }
void ones_(const Tensor& t) { constant_(t, 1.0); }

void xavier_uniform_(const Tensor& t, double gain, Generator* gen) {
    check_floating(t, "xavier_uniform_");
    auto [fan_in, fan_out] = fan_in_and_fan_out(t);
    const double std = gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
    const double bound = std::sqrt(3.0) * std;  // PyTorch computes a = sqrt(3) * std
    uniform_(t, -bound, bound, gen);
}

void xavier_normal_(const Tensor& t, double gain, Generator* gen) {
    check_floating(t, "xavier_normal_");
    auto [fan_in, fan_out] = fan_in_and_fan_out(t);
    normal_(t, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)), gen);
}

void kaiming_uniform_(const Tensor& t, double a, FanMode mode, const std::string& nonlinearity, Generator* gen) {
    check_floating(t, "kaiming_uniform_");
    if (t.numel() == 0) return;  // PyTorch warns and returns for zero-element tensors
    const double std = calculate_gain(nonlinearity, a) / std::sqrt(fan_of(t, mode));
    const double bound = std::sqrt(3.0) * std;
    uniform_(t, -bound, bound, gen);
}

void kaiming_normal_(const Tensor& t, double a, FanMode mode, const std::string& nonlinearity, Generator* gen) {
    check_floating(t, "kaiming_normal_");
    if (t.numel() == 0) return;
    normal_(t, 0.0, calculate_gain(nonlinearity, a) / std::sqrt(fan_of(t, mode)), gen);
}

void linear_default_(const Tensor& weight, const Tensor& bias, Generator* gen) {
    kaiming_uniform_(weight, std::sqrt(5.0), FanMode::fan_in, "leaky_relu", gen);
    if (bias.defined()) {
        const int64_t fan_in = fan_in_and_fan_out(weight).first;
        if (fan_in > 0) {
            const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
            uniform_(bias, -bound, bound, gen);
        }
    }
}

}  // namespace wsdol::nn::init
