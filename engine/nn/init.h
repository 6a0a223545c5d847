// init.h — parameter initializations with PyTorch's (torch.nn.init) and timm's formulas.
//
// Every function fills `t` in place (not recorded by autograd), drawing from `gen` (the default generator when
// null), so a model built twice from the same seed has the same bits. The random numbers come from our Philox
// streams, not PyTorch's, so the distributions match PyTorch but the values do not.
// Random values are drawn on the CPU in the tensor's dtype (f32 for half dtypes) and copied to its device.
// `init` is an inline namespace: nn::init::trunc_normal_ (PyTorch's spelling) and nn::trunc_normal_ both work.
#pragma once
#include <string>
#include <utility>

#include "engine/core/rng.h"
#include "engine/tensor/tensor.h"

namespace wsdol::nn::inline init {

// (fan_in, fan_out) of a weight, as torch.nn.init._calculate_fan_in_and_fan_out: dim 1 and dim 0 sizes times
// the receptive field (product of dims 2..); needs at least 2 dims.
std::pair<int64_t, int64_t> fan_in_and_fan_out(const Tensor& t);
// torch.nn.init.calculate_gain: "linear"/"conv2d"/"sigmoid" 1, "tanh" 5/3, "relu" sqrt(2),
// "leaky_relu" sqrt(2 / (1 + param^2)), "selu" 3/4.
double calculate_gain(const std::string& nonlinearity, double param = 0.01);

void uniform_(const Tensor& t, double low = 0.0, double high = 1.0, Generator* gen = nullptr);
void normal_(const Tensor& t, double mean = 0.0, double std = 1.0, Generator* gen = nullptr);
// timm.layers.trunc_normal_: inverse-CDF sampling of N(mean, std^2) truncated to [a, b] (absolute bounds, not
// in units of std): u ~ U(2 Phi(a') - 1, 2 Phi(b') - 1), x = mean + std sqrt(2) erfinv(u), clamped to [a, b].
void trunc_normal_(const Tensor& t, double mean = 0.0, double std = 1.0, double a = -2.0, double b = 2.0,
                   Generator* gen = nullptr);
void constant_(const Tensor& t, double value);
void zeros_(const Tensor& t);
void ones_(const Tensor& t);
// U(-bound, bound), bound = gain sqrt(6 / (fan_in + fan_out)).
void xavier_uniform_(const Tensor& t, double gain = 1.0, Generator* gen = nullptr);
// N(0, std^2), std = gain sqrt(2 / (fan_in + fan_out)).
void xavier_normal_(const Tensor& t, double gain = 1.0, Generator* gen = nullptr);
enum class FanMode { fan_in, fan_out };
// U(-bound, bound), bound = gain(nonlinearity, a) sqrt(3 / fan). PyTorch's Linear/Conv default is
// kaiming_uniform_(w, a = sqrt(5)), i.e. bound = 1 / sqrt(fan_in).
void kaiming_uniform_(const Tensor& t, double a = 0.0, FanMode mode = FanMode::fan_in,
                      const std::string& nonlinearity = "leaky_relu", Generator* gen = nullptr);
// N(0, std^2), std = gain / sqrt(fan) (torchvision ResNet: mode fan_out, nonlinearity relu).
void kaiming_normal_(const Tensor& t, double a = 0.0, FanMode mode = FanMode::fan_in,
                     const std::string& nonlinearity = "leaky_relu", Generator* gen = nullptr);

// PyTorch's default reset_parameters() of Linear and Conv: weight kaiming_uniform_(a = sqrt(5)); bias (if
// defined) U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in from the weight (no bias init when fan_in is 0).
void linear_default_(const Tensor& weight, const Tensor& bias, Generator* gen = nullptr);

// Inverse error function on [-1, 1] (erfinv(+-1) = +-inf), to double precision (used by trunc_normal_).
double erfinv(double y);

}  // namespace wsdol::nn::init
