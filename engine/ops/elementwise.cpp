// elementwise.cpp — elementwise ops: each op's shape rule, forward and backward in one place.
//
// Binary ops broadcast inside the kernel (stride-0 views), never by materializing repeats. Every backward
// reduces its gradient back to the input's shape with sum_to (the one place broadcasting is undone).
// Unary ops with a nonlinear derivative run their backward through the fused "unary_backward" kernel (one pass
// over memory: grad_x = grad_y * f'(x)); the derivative each op uses is written next to the op and in the kernel.
// Gradient conventions (values at kinks, ties, NaN) are PyTorch's, as stated at each op.
#include "engine/ops/elementwise.h"

#include <algorithm>
#include <cmath>

#include "engine/autograd/autograd.h"
#include "engine/ops/elementwise_internal.h"
#include "engine/ops/ops.h"

namespace wsdol {

WSDOL_OP(add, "elementwise", true);
WSDOL_OP(sub, "elementwise", true);
WSDOL_OP(mul, "elementwise", true);
WSDOL_OP(div, "elementwise", true);
WSDOL_OP(add_scalar, "elementwise", true);
WSDOL_OP(mul_scalar, "elementwise", true);
WSDOL_OP(rsub_scalar, "elementwise", true);
WSDOL_OP(rdiv_scalar, "elementwise", true);
WSDOL_OP(neg, "elementwise", true);
WSDOL_OP(pow, "elementwise", true);
WSDOL_OP(pow_scalar, "elementwise", true);
WSDOL_OP(maximum, "elementwise", true);
WSDOL_OP(minimum, "elementwise", true);
WSDOL_OP(exp, "elementwise", true);
WSDOL_OP(log, "elementwise", true);
WSDOL_OP(sqrt, "elementwise", true);
WSDOL_OP(rsqrt, "elementwise", true);
WSDOL_OP(abs, "elementwise", true);
WSDOL_OP(relu, "elementwise", true);
WSDOL_OP(leaky_relu, "elementwise", true);
WSDOL_OP(gelu, "elementwise", true);
WSDOL_OP(quick_gelu, "elementwise", true);
WSDOL_OP(sigmoid, "elementwise", true);
WSDOL_OP(tanh, "elementwise", true);
WSDOL_OP(clamp, "elementwise", true);
WSDOL_OP(where, "elementwise", true);
WSDOL_OP(eq, "elementwise", false);
WSDOL_OP(ne, "elementwise", false);
WSDOL_OP(lt, "elementwise", false);
WSDOL_OP(le, "elementwise", false);
WSDOL_OP(gt, "elementwise", false);
WSDOL_OP(ge, "elementwise", false);
WSDOL_OP(logical_and, "elementwise", false);
WSDOL_OP(logical_or, "elementwise", false);
WSDOL_OP(logical_xor, "elementwise", false);
WSDOL_OP(logical_not, "elementwise", false);

namespace {

const char* binary_name(BinaryOp op) {
    static const char* names[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt", "le",
                                  "gt", "ge", "logical_and", "logical_or", "logical_xor"};
    return names[static_cast<int>(op)];
}

const char* unary_name(UnaryOp op) {
    static const char* names[] = {"neg", "exp", "log", "sqrt", "rsqrt", "abs", "relu", "leaky_relu", "gelu",
                                  "gelu(approximate=tanh)", "quick_gelu", "sigmoid", "tanh", "clamp", "pow",
                                  "add", "mul", "rsub", "rdiv", "logical_not"};
    return names[static_cast<int>(op)];
}

bool is_predicate(BinaryOp op) { return op >= BinaryOp::eq; }

// Unary ops defined on real numbers only (PyTorch would promote an integer tensor to float; we ask for a cast).
bool needs_floating(UnaryOp op) {
    switch (op) {
        case UnaryOp::exp: case UnaryOp::log: case UnaryOp::sqrt: case UnaryOp::rsqrt: case UnaryOp::leaky_relu:
        case UnaryOp::gelu: case UnaryOp::gelu_tanh: case UnaryOp::quick_gelu: case UnaryOp::sigmoid:
        case UnaryOp::tanh: case UnaryOp::rdiv_scalar:
            return true;
        default:
            return false;
    }
}

// The values an integral dtype holds, as the half-open real interval [low, high_exclusive).
void integer_range(DType t, double* low, double* high_exclusive) {
    switch (t) {
        case DType::i32: *low = -2147483648.0; *high_exclusive = 2147483648.0; return;
        case DType::i64: *low = -9223372036854775808.0; *high_exclusive = 9223372036854775808.0; return;
        case DType::u8: *low = 0; *high_exclusive = 256; return;
        case DType::boolean: *low = 0; *high_exclusive = 2; return;
        default: fail(str("integer_range: ", dtype_name(t), " is not an integral dtype"));
    }
}

// True when p is an integer that the integral dtype t can hold exactly.
bool fits_integer(double p, DType t) {
    double low, high;
    integer_range(t, &low, &high);
    return std::isfinite(p) && p == std::floor(p) && p >= low && p < high;
}

// Scalar parameters of unary ops on integer tensors must mean the same thing after conversion to the tensor's
// dtype (PyTorch would promote to a floating result instead); anything else is an error, never a silent rounding.
void check_integer_params(UnaryOp op, const Tensor& x, double p0, double p1) {
    const char* name = unary_name(op);
    const DType t = x.dtype();
    switch (op) {
        case UnaryOp::add_scalar: case UnaryOp::mul_scalar: case UnaryOp::rsub_scalar:
            WSDOL_CHECK(fits_integer(p0, t), name, ": scalar ", p0, " is not an integer that a ", dtype_name(t),
                        " tensor ", shape_str(x.shape()), " can hold; cast the tensor to a floating dtype first");
            return;
        case UnaryOp::clamp:  // integral bounds (out-of-range ones saturate, which is exact) or +-inf
            WSDOL_CHECK((std::isinf(p0) || (std::isfinite(p0) && p0 == std::floor(p0))) &&
                            (std::isinf(p1) || (std::isfinite(p1) && p1 == std::floor(p1))),
                        name, ": bounds [", p0, ", ", p1, "] must be integers or +-inf for a ", dtype_name(t),
                        " tensor ", shape_str(x.shape()), "; cast the tensor to a floating dtype first");
            return;
        case UnaryOp::pow_scalar:
            WSDOL_CHECK(p0 >= 0, name, ": integers to negative integer powers are not allowed (exponent ", p0,
                        ", ", dtype_name(t), " tensor ", shape_str(x.shape()), ")");
            WSDOL_CHECK(fits_integer(p0, DType::i64), name, ": exponent ", p0, " is not an integer; a ", dtype_name(t),
                        " tensor ", shape_str(x.shape()), " needs an integral exponent (cast to a floating dtype)");
            return;
        default:
            return;
    }
}

// Result shape of broadcasting condition, a and b together; the error names all three shapes.
Shape where_shape(const Shape& condition, const Shape& a, const Shape& b) {
    const size_t n = std::max({condition.size(), a.size(), b.size()});
    Shape out(n, 1);
    for (const Shape* s : {&condition, &a, &b}) {
        const size_t lead = n - s->size();
        for (size_t i = lead; i < n; ++i) {
            const int64_t d = (*s)[i - lead];
            if (d == 1) continue;
            WSDOL_CHECK(out[i] == 1 || out[i] == d, "where: shapes ", shape_str(condition), " (condition), ",
                        shape_str(a), " (a) and ", shape_str(b), " (b) cannot be broadcast together (dim ", i,
                        ": ", out[i], " vs ", d, ")");
            out[i] = d;
        }
    }
    return out;
}

// A 0-dim zero of g's dtype and device: the "masked" value in where-based gradients.
Tensor zero_like_scalar(const Tensor& g) { return Tensor::scalar(0.0, g.dtype(), g.device()); }

// Records a unary op whose backward is the fused "unary_backward" kernel. save_output: the derivative is a
// function of the output y (exp, sqrt, rsqrt, sigmoid, tanh), else of the input x (see UnaryBackwardKernel).
void record_unary(const char* name, UnaryOp op, const Tensor& x, const Tensor& y, bool save_output, double p0,
                  double p1) {
    if (!any_requires_grad({x})) return;
    record(name, {x}, {y}, [op, p0, p1, s = saved(save_output ? y : x)](const TensorList& g) -> TensorList {
        return {unary_backward(op, g[0], s, p0, p1)};
    });
}

// Gradients of maximum (is_max) or minimum, PyTorch's formula (derivatives.yaml):
//   a: where(a == b, g / 2, g).masked_fill_(a < b, 0)   (a > b for minimum)
//   b: where(a == b, g / 2, g).masked_fill_(a > b, 0)   (a < b for minimum)
// so ties split the gradient evenly, and a NaN on either side sends the full gradient to both.
TensorList extremum_backward(const Tensor& g, const Tensor& a, const Tensor& b, bool need_a, bool need_b,
                             bool is_max) {
    const Tensor zero = zero_like_scalar(g);
    const Tensor split = where(eq(a, b), mul(g, 0.5), g);
    Tensor ga, gb;
    if (need_a) ga = sum_to(where(is_max ? lt(a, b) : gt(a, b), zero, split), a.shape());
    if (need_b) gb = sum_to(where(is_max ? gt(a, b) : lt(a, b), zero, split), b.shape());
    return {ga, gb};
}

// Compares with a scalar. Floating tensors: against a 0-dim tensor of their dtype (the scalar rounds to it, as
// PyTorch's wrapped-number scalars do). Integral and bool tensors: exactly, as real numbers, by moving b to the
// nearest integer that gives the same answer: x < b <=> x < ceil(b), x > b <=> x > floor(b), and x == b only
// for an integral b in range. (PyTorch promotes such a tensor to f32, which can round large integers.)
Tensor compare_scalar(BinaryOp op, const Tensor& a, double b) {
    WSDOL_CHECK(a.defined(), binary_name(op), ": undefined operand");
    if (is_floating(a.dtype())) return binary_forward(op, a, Tensor::scalar(b, a.dtype(), a.device()));
    double low, high;
    integer_range(a.dtype(), &low, &high);
    auto all = [&](bool value) { return Tensor::full(a.shape(), value ? 1.0 : 0.0, DType::boolean, a.device()); };
    if (std::isnan(b)) return all(false);
    double c = b;
    switch (op) {
        case BinaryOp::eq:
            if (!fits_integer(b, a.dtype())) return all(false);
            break;
        case BinaryOp::lt:
            c = std::ceil(b);
            if (c >= high) return all(true);
            if (c <= low) return all(false);
            break;
        case BinaryOp::gt:
            c = std::floor(b);
            if (c < low) return all(true);
            if (c >= high) return all(false);
            break;
        default: fail(str("compare_scalar: unexpected op ", binary_name(op)));
    }
    return binary_forward(op, a, Tensor::scalar(c, a.dtype(), a.device()));
}

}  // namespace

// ---------------------------------------------------------------- shared forwards (no recording)

// Shared forward of every binary op: checks, broadcast, allocation, kernel dispatch.
Tensor binary_forward(BinaryOp op, const Tensor& a, const Tensor& b) {
    const char* name = binary_name(op);
    WSDOL_CHECK(a.defined() && b.defined(), name, ": undefined operand");
    WSDOL_CHECK(a.dtype() == b.dtype(), name, ": dtype mismatch (", dtype_name(a.dtype()), " ", shape_str(a.shape()),
                " vs ", dtype_name(b.dtype()), " ", shape_str(b.shape()), "); cast one operand first");
    WSDOL_CHECK(a.device() == b.device(), name, ": operands on different devices (", a.device().name(), " vs ",
                b.device().name(), ")");
    const DType t = a.dtype();
    WSDOL_CHECK(op != BinaryOp::div || is_floating(t), "div: integer division is not supported (", dtype_name(t), " ",
                shape_str(a.shape()), " / ", shape_str(b.shape()), "); cast to a floating dtype");
    WSDOL_CHECK(t != DType::boolean || (op != BinaryOp::sub && op != BinaryOp::pow), name,
                ": not supported for bool tensors (", shape_str(a.shape()), ", ", shape_str(b.shape()),
                "); use the logical ops or cast first");
    const Shape shape = broadcast_shapes(name, a.shape(), b.shape());
    Tensor out = Tensor::empty(shape, is_predicate(op) ? DType::boolean : t, a.device());
    if (out.numel() == 0) return out;
    find_kernel<BinaryKernel>("binary", a.device(), t)(op, view_of(out), broadcast_view(a, shape),
                                                       broadcast_view(b, shape));
    return out;
}

// Shared forward of every unary op.
Tensor unary_forward(UnaryOp op, const Tensor& x, double p0, double p1) {
    const char* name = unary_name(op);
    WSDOL_CHECK(x.defined(), name, ": undefined tensor");
    const DType t = x.dtype();
    WSDOL_CHECK(!needs_floating(op) || is_floating(t), name, ": needs a floating tensor, got ", dtype_name(t), " ",
                shape_str(x.shape()), "; cast to a floating dtype first");
    WSDOL_CHECK(t != DType::boolean || op == UnaryOp::logical_not, name, ": not supported for bool tensors (",
                shape_str(x.shape()), "); use logical_not or cast first");
    if (!is_floating(t)) check_integer_params(op, x, p0, p1);
    Tensor out = Tensor::empty(x.shape(), op == UnaryOp::logical_not ? DType::boolean : t, x.device());
    if (out.numel() == 0) return out;
    find_kernel<UnaryKernel>("unary", x.device(), t)(op, view_of(out), view_of(x), p0, p1);
    return out;
}

Tensor unary_backward(UnaryOp op, const Tensor& grad_y, const Tensor& saved, double p0, double p1) {
    WSDOL_CHECK(grad_y.shape() == saved.shape() && grad_y.dtype() == saved.dtype(), unary_name(op),
                " backward: gradient ", dtype_name(grad_y.dtype()), " ", shape_str(grad_y.shape()),
                " does not match the saved tensor ", dtype_name(saved.dtype()), " ", shape_str(saved.shape()));
    Tensor grad_x = Tensor::empty(saved.shape(), saved.dtype(), saved.device());
    if (grad_x.numel() == 0) return grad_x;
    find_kernel<UnaryBackwardKernel>("unary_backward", saved.device(), saved.dtype())(
        op, view_of(grad_x), view_of(grad_y), view_of(saved), p0, p1);
    return grad_x;
}

Tensor where_forward(const Tensor& condition, const Tensor& a, const Tensor& b) {
    WSDOL_CHECK(condition.defined() && a.defined() && b.defined(), "where: undefined operand");
    WSDOL_CHECK(condition.dtype() == DType::boolean, "where: condition must be a bool tensor, got ",
                dtype_name(condition.dtype()), " ", shape_str(condition.shape()), " (compare it, e.g. ne(c, 0.0))");
    WSDOL_CHECK(a.dtype() == b.dtype(), "where: dtype mismatch (", dtype_name(a.dtype()), " ", shape_str(a.shape()),
                " vs ", dtype_name(b.dtype()), " ", shape_str(b.shape()), "); cast one operand first");
    WSDOL_CHECK(a.device() == b.device() && a.device() == condition.device(), "where: operands on different devices (",
                condition.device().name(), ", ", a.device().name(), ", ", b.device().name(), ")");
    const Shape shape = where_shape(condition.shape(), a.shape(), b.shape());
    Tensor out = Tensor::empty(shape, a.dtype(), a.device());
    if (out.numel() == 0) return out;
    find_kernel<WhereKernel>("where", a.device(), a.dtype())(view_of(out), broadcast_view(condition, shape),
                                                            broadcast_view(a, shape), broadcast_view(b, shape));
    return out;
}

// ---------------------------------------------------------------- arithmetic

Tensor add(const Tensor& a, const Tensor& b) {
    Tensor out = binary_forward(BinaryOp::add, a, b);
    record("add", {a, b}, {out}, [sa = a.shape(), sb = b.shape()](const TensorList& g) -> TensorList {
        return {sum_to(g[0], sa), sum_to(g[0], sb)};
    });
    return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
    Tensor out = binary_forward(BinaryOp::sub, a, b);
    record("sub", {a, b}, {out}, [sa = a.shape(), sb = b.shape()](const TensorList& g) -> TensorList {
        return {sum_to(g[0], sa), sum_to(neg(g[0]), sb)};
    });
    return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
    Tensor out = binary_forward(BinaryOp::mul, a, b);
    record("mul", {a, b}, {out}, [sa = saved(a), sb = saved(b)](const TensorList& g) -> TensorList {
        return {sum_to(mul(g[0], sb), sa.shape()), sum_to(mul(g[0], sa), sb.shape())};
    });
    return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
    Tensor out = binary_forward(BinaryOp::div, a, b);
    record("div", {a, b}, {out}, [sa = saved(a), sb = saved(b)](const TensorList& g) -> TensorList {
        // d(a/b)/da = 1/b ; d(a/b)/db = -a/b^2
        return {sum_to(div(g[0], sb), sa.shape()), sum_to(neg(div(mul(g[0], sa), mul(sb, sb))), sb.shape())};
    });
    return out;
}

Tensor neg(const Tensor& x) {
    Tensor out = unary_forward(UnaryOp::neg, x, 0, 0);
    record("neg", {x}, {out}, [](const TensorList& g) -> TensorList { return {neg(g[0])}; });
    return out;
}

Tensor add(const Tensor& a, double b) {
    Tensor out = unary_forward(UnaryOp::add_scalar, a, b, 0);
    record("add_scalar", {a}, {out}, [](const TensorList& g) -> TensorList { return {g[0]}; });
    return out;
}

Tensor sub(const Tensor& a, double b) { return add(a, -b); }

Tensor mul(const Tensor& a, double b) {
    Tensor out = unary_forward(UnaryOp::mul_scalar, a, b, 0);
    record("mul_scalar", {a}, {out}, [b](const TensorList& g) -> TensorList { return {mul(g[0], b)}; });
    return out;
}

Tensor div(const Tensor& a, double b) {
    WSDOL_CHECK(!a.defined() || is_floating(a.dtype()), "div: integer division is not supported (",
                dtype_name(a.dtype()), " ", shape_str(a.shape()), " / ", b, "); cast to a floating dtype");
    return mul(a, 1.0 / b);
}

Tensor rsub(double a, const Tensor& b) {
    Tensor out = unary_forward(UnaryOp::rsub_scalar, b, a, 0);
    record("rsub_scalar", {b}, {out}, [](const TensorList& g) -> TensorList { return {neg(g[0])}; });
    return out;
}

Tensor rdiv(double a, const Tensor& b) {
    Tensor out = unary_forward(UnaryOp::rdiv_scalar, b, a, 0);
    record("rdiv_scalar", {b}, {out}, [a, sb = saved(b)](const TensorList& g) -> TensorList {
        return {mul(div(g[0], mul(sb, sb)), -a)};  // d(a/b)/db = -a/b^2
    });
    return out;
}

// ---------------------------------------------------------------- pow, maximum, minimum

// a^e. Gradient (PyTorch pow_backward): 0 for e == 0 (even at a == 0), else g * e * a^(e-1).
Tensor pow(const Tensor& a, double exponent) {
    Tensor out = unary_forward(UnaryOp::pow_scalar, a, exponent, 0);
    record_unary("pow_scalar", UnaryOp::pow_scalar, a, out, /*save_output=*/false, exponent, 0);
    return out;
}

// a^b elementwise (broadcast). Gradients, PyTorch's pow_backward_self / pow_backward_exponent:
//   a: where(b == 0, 0, g * (b * a^(b-1)))
//   b: g * where(a == 0 && b >= 0, 0, a^b * log(a))   (NaN for negative bases, as in PyTorch)
Tensor pow(const Tensor& a, const Tensor& b) {
    Tensor out = binary_forward(BinaryOp::pow, a, b);
    const bool need_a = a.requires_grad(), need_b = b.requires_grad();
    record("pow", {a, b}, {out},
           [sa = saved(a), sb = saved(b), sout = saved(out), need_a, need_b](const TensorList& g) -> TensorList {
               const Tensor zero = zero_like_scalar(g[0]);
               Tensor ga, gb;
               if (need_a)
                   ga = sum_to(where(eq(sb, 0.0), zero, mul(g[0], mul(sb, pow(sa, sub(sb, 1.0))))), sa.shape());
               if (need_b)
                   gb = sum_to(mul(g[0], where(logical_and(eq(sa, 0.0), ge(sb, zero)), zero, mul(sout, log(sa)))),
                               sb.shape());
               return {ga, gb};
           });
    return out;
}

// Larger of a and b (NaN propagates). Ties split the gradient evenly (see extremum_backward).
Tensor maximum(const Tensor& a, const Tensor& b) {
    Tensor out = binary_forward(BinaryOp::maximum, a, b);
    const bool need_a = a.requires_grad(), need_b = b.requires_grad();
    record("maximum", {a, b}, {out}, [sa = saved(a), sb = saved(b), need_a, need_b](const TensorList& g) {
        return extremum_backward(g[0], sa, sb, need_a, need_b, /*is_max=*/true);
    });
    return out;
}

Tensor minimum(const Tensor& a, const Tensor& b) {
    Tensor out = binary_forward(BinaryOp::minimum, a, b);
    const bool need_a = a.requires_grad(), need_b = b.requires_grad();
    record("minimum", {a, b}, {out}, [sa = saved(a), sb = saved(b), need_a, need_b](const TensorList& g) {
        return extremum_backward(g[0], sa, sb, need_a, need_b, /*is_max=*/false);
    });
    return out;
}

// ---------------------------------------------------------------- unary functions and activations
// Each backward is the "unary_backward" kernel; the derivative it computes is given in the comment.

// d/dx e^x = y.
Tensor exp(const Tensor& x) {
    Tensor y = unary_forward(UnaryOp::exp, x, 0, 0);
    record_unary("exp", UnaryOp::exp, x, y, /*save_output=*/true, 0, 0);
    return y;
}

// d/dx log x = 1/x.
Tensor log(const Tensor& x) {
    Tensor y = unary_forward(UnaryOp::log, x, 0, 0);
    record_unary("log", UnaryOp::log, x, y, /*save_output=*/false, 0, 0);
    return y;
}

// d/dx sqrt x = 1 / (2y).
Tensor sqrt(const Tensor& x) {
    Tensor y = unary_forward(UnaryOp::sqrt, x, 0, 0);
    record_unary("sqrt", UnaryOp::sqrt, x, y, /*save_output=*/true, 0, 0);
    return y;
}

// y = 1/sqrt(x); d/dx = -y^3 / 2.
Tensor rsqrt(const Tensor& x) {
    Tensor y = unary_forward(UnaryOp::rsqrt, x, 0, 0);
    record_unary("rsqrt", UnaryOp::rsqrt, x, y, /*save_output=*/true, 0, 0);
    return y;
}

// d/dx |x| = sgn(x), 0 at 0 (PyTorch).
Tensor abs(const Tensor& x) {
    Tensor y = unary_forward(UnaryOp::abs, x, 0, 0);
    record_unary("abs", UnaryOp::abs, x, y, /*save_output=*/false, 0, 0);
    return y;
}

// max(x, 0) with NaN propagating; gradient 1 for x > 0, 0 for x <= 0 (PyTorch's threshold_backward).
Tensor relu(const Tensor& x) {
    Tensor y = unary_forward(UnaryOp::relu, x, 0, 0);
    record_unary("relu", UnaryOp::relu, x, y, /*save_output=*/false, 0, 0);
    return y;
}

// x for x > 0, slope * x otherwise; gradient 1 for x > 0, slope otherwise (slope at 0, as PyTorch).
Tensor leaky_relu(const Tensor& x, double negative_slope) {
    Tensor y = unary_forward(UnaryOp::leaky_relu, x, negative_slope, 0);
    record_unary("leaky_relu", UnaryOp::leaky_relu, x, y, /*save_output=*/false, negative_slope, 0);
    return y;
}

// Exact: x Phi(x), gradient Phi(x) + x phi(x). Tanh form: 0.5 x (1 + tanh(u)), u = sqrt(2/pi)(x + 0.044715 x^3),
// gradient 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) sqrt(2/pi)(1 + 3 * 0.044715 x^2). Both as PyTorch's GeluBackward.
Tensor gelu(const Tensor& x, GeluApprox approximate) {
    const UnaryOp op = approximate == GeluApprox::tanh ? UnaryOp::gelu_tanh : UnaryOp::gelu;
    Tensor y = unary_forward(op, x, 0, 0);
    record_unary("gelu", op, x, y, /*save_output=*/false, 0, 0);
    return y;
}

// x * s with s = sigmoid(1.702 x) (OpenAI CLIP's QuickGELU); gradient s + 1.702 x s (1 - s).
Tensor quick_gelu(const Tensor& x) {
    Tensor y = unary_forward(UnaryOp::quick_gelu, x, 0, 0);
    record_unary("quick_gelu", UnaryOp::quick_gelu, x, y, /*save_output=*/false, 0, 0);
    return y;
}

// Gradient y (1 - y).
Tensor sigmoid(const Tensor& x) {
    Tensor y = unary_forward(UnaryOp::sigmoid, x, 0, 0);
    record_unary("sigmoid", UnaryOp::sigmoid, x, y, /*save_output=*/true, 0, 0);
    return y;
}

// Gradient 1 - y^2.
Tensor tanh(const Tensor& x) {
    Tensor y = unary_forward(UnaryOp::tanh, x, 0, 0);
    record_unary("tanh", UnaryOp::tanh, x, y, /*save_output=*/true, 0, 0);
    return y;
}

// min(max(x, min_value), max_value); gradient 1 where min <= x <= max (bounds included), 0 elsewhere and at NaN
// (PyTorch's clamp_backward).
Tensor clamp(const Tensor& x, double min_value, double max_value) {
    Tensor y = unary_forward(UnaryOp::clamp, x, min_value, max_value);
    record_unary("clamp", UnaryOp::clamp, x, y, /*save_output=*/false, min_value, max_value);
    return y;
}

// ---------------------------------------------------------------- where

// condition ? a : b, all three broadcast. Gradients: the output gradient masked by the condition (PyTorch:
// where(c, g, 0) for a, where(c, 0, g) for b), summed back to each operand's shape.
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
    Tensor out = where_forward(condition, a, b);
    const bool need_a = a.requires_grad(), need_b = b.requires_grad();
    record("where", {condition, a, b}, {out},
           [c = saved(condition), sa = a.shape(), sb = b.shape(), need_a, need_b](const TensorList& g) -> TensorList {
               const Tensor zero = zero_like_scalar(g[0]);
               Tensor ga, gb;
               if (need_a) ga = sum_to(where(c, g[0], zero), sa);
               if (need_b) gb = sum_to(where(c, zero, g[0]), sb);
               return {Tensor(), ga, gb};
           });
    return out;
}

// ---------------------------------------------------------------- comparisons and logic (never recorded)

Tensor eq(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::eq, a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::ne, a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::lt, a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::le, a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::gt, a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::ge, a, b); }
Tensor eq(const Tensor& a, double b) { return compare_scalar(BinaryOp::eq, a, b); }
Tensor lt(const Tensor& a, double b) { return compare_scalar(BinaryOp::lt, a, b); }
Tensor gt(const Tensor& a, double b) { return compare_scalar(BinaryOp::gt, a, b); }
Tensor logical_and(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::logical_and, a, b); }
Tensor logical_or(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::logical_or, a, b); }
Tensor logical_xor(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::logical_xor, a, b); }
Tensor logical_not(const Tensor& a) { return unary_forward(UnaryOp::logical_not, a, 0, 0); }

}  // namespace wsdol
