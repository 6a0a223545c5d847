// elementwise.h — elementwise ops with NumPy broadcasting: arithmetic, activations, comparisons, logical ops.
//
// Result dtype: the common floating dtype of the inputs (ints promote to f32 when mixed with floats is NOT done:
// both inputs must share a dtype, except scalar (double) operands, which take the tensor's dtype).
// Comparisons and logical ops return bool tensors and have no gradient.
#pragma once
#include "engine/ops/registry.h"
#include "engine/tensor/tensor.h"

namespace wsdol {

// ---- binary arithmetic (a, b broadcast to a common shape) ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double b);
Tensor sub(const Tensor& a, double b);
Tensor mul(const Tensor& a, double b);
Tensor div(const Tensor& a, double b);
Tensor rsub(double a, const Tensor& b);  // a - b
Tensor rdiv(double a, const Tensor& b);  // a / b
Tensor pow(const Tensor& a, double exponent);
Tensor pow(const Tensor& a, const Tensor& exponent);
Tensor maximum(const Tensor& a, const Tensor& b);  // gradient to the larger; ties split evenly (PyTorch)
Tensor minimum(const Tensor& a, const Tensor& b);

// ---- unary ----
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
enum class GeluApprox { none, tanh };
Tensor gelu(const Tensor& x, GeluApprox approximate = GeluApprox::none);
Tensor quick_gelu(const Tensor& x);  // x * sigmoid(1.702 x) (OpenAI CLIP)
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor clamp(const Tensor& x, double min_value, double max_value);  // use +-inf for one-sided
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);  // condition: bool; broadcasts all three

// ---- comparisons and logic (bool results, no gradient) ----
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, double b);
Tensor lt(const Tensor& a, double b);
Tensor gt(const Tensor& a, double b);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_xor(const Tensor& a, const Tensor& b);
Tensor logical_not(const Tensor& a);

// ---- operators ----
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator+(const Tensor& a, double b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, double b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, double b) { return div(a, b); }
inline Tensor operator+(double a, const Tensor& b) { return add(b, a); }
inline Tensor operator-(double a, const Tensor& b) { return rsub(a, b); }
inline Tensor operator*(double a, const Tensor& b) { return mul(b, a); }
inline Tensor operator/(double a, const Tensor& b) { return rdiv(a, b); }
inline Tensor operator-(const Tensor& x) { return neg(x); }

// ---- kernel interface ----
enum class BinaryOp : int { add, sub, mul, div, pow, maximum, minimum, eq, ne, lt, le, gt, ge, logical_and,
                            logical_or, logical_xor };
// out = op(a, b); a and b are already broadcast to out's shape (stride 0 on broadcast dims); a and b share a
// dtype (the kernel's key); out has that dtype, or bool for comparisons and logical ops.
using BinaryKernel = void(BinaryOp op, const TensorView& out, const TensorView& a, const TensorView& b);

enum class UnaryOp : int { neg, exp, log, sqrt, rsqrt, abs, relu, leaky_relu, gelu, gelu_tanh, quick_gelu,
                           sigmoid, tanh, clamp, pow_scalar, add_scalar, mul_scalar, rsub_scalar, rdiv_scalar,
                           logical_not };
// out = op(x; p0, p1) elementwise; x and out have the same shape and dtype (bool for logical_not).
// p0/p1: leaky_relu slope; clamp min/max; pow exponent; the scalar of *_scalar.
using UnaryKernel = void(UnaryOp op, const TensorView& out, const TensorView& x, double p0, double p1);

}  // namespace wsdol
