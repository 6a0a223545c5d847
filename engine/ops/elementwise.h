// elementwise.h — elementwise ops with NumPy broadcasting: arithmetic, activations, comparisons, logical ops.
//
// Result dtype: no type promotion. Both tensor operands must share a dtype; a scalar (double) operand takes the
// tensor's dtype (for integer tensors it must then be integral and in range, except in comparisons, which compare
// integers with any real scalar exactly). Comparisons and logical ops return bool tensors and have no gradient.
// Ops that need real numbers (div, exp, log, sqrt, rsqrt, the activations, sigmoid, tanh) need floating tensors.
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
Tensor pow(const Tensor& a, double exponent);          // integer tensors: integral exponent >= 0
Tensor pow(const Tensor& a, const Tensor& exponent);   // d/d exponent = a^b log(a) (0 where a == 0, b >= 0)
Tensor maximum(const Tensor& a, const Tensor& b);  // gradient to the larger; ties split evenly (PyTorch)
Tensor minimum(const Tensor& a, const Tensor& b);

// ---- unary ----
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor abs(const Tensor& x);   // gradient sign(x): 0 at 0 (PyTorch)
Tensor relu(const Tensor& x);  // gradient 0 at 0; NaN propagates (PyTorch)
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
enum class GeluApprox { none, tanh };
Tensor gelu(const Tensor& x, GeluApprox approximate = GeluApprox::none);
Tensor quick_gelu(const Tensor& x);  // x * sigmoid(1.702 x) (OpenAI CLIP)
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
// Use +-inf for a one-sided clamp. NaN passes through; min > max gives max everywhere; the gradient is 1 on
// [min, max] inclusive and 0 outside (PyTorch).
Tensor clamp(const Tensor& x, double min_value, double max_value);
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);  // condition: bool; broadcasts all three

// ---- comparisons and logic (bool results, no gradient) ----
// The scalar overloads compare with a 0-dim tensor of a's dtype; for integer and bool tensors they compare
// exactly as real numbers (x == 2.5 is false, x < 2.5 is x <= 2), where PyTorch promotes to a floating dtype.
// Logical ops treat any nonzero value (NaN included) as true.
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

// grad_x = grad_y * d op(x; p0, p1) / dx elementwise: the fused backward of the unary ops with a nonlinear
// derivative (exp, log, sqrt, rsqrt, abs, relu, leaky_relu, gelu, gelu_tanh, quick_gelu, sigmoid, tanh, clamp,
// pow_scalar). `saved` is the op's output y for exp, sqrt, rsqrt, sigmoid and tanh (their derivatives are
// functions of y, as PyTorch computes them) and its input x for every other op. All three views have one shape
// and the kernel's (floating) dtype; any strides.
using UnaryBackwardKernel = void(UnaryOp op, const TensorView& grad_x, const TensorView& grad_y,
                                 const TensorView& saved, double p0, double p1);

// out = condition ? a : b elementwise; condition (bool), a and b already broadcast to out's shape (stride 0 on
// broadcast dims); a, b and out share a dtype (the kernel's key).
using WhereKernel = void(const TensorView& out, const TensorView& condition, const TensorView& a,
                         const TensorView& b);

}  // namespace wsdol
