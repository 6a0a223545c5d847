// elementwise.cpp — elementwise ops: each op's shape rule, forward and backward in one place.
//
// Binary ops broadcast inside the kernel (stride-0 views), never by materializing repeats. Every backward
// reduces its gradient back to the input's shape with sum_to (the one place broadcasting is undone).
#include "engine/ops/elementwise.h"

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

namespace {

const char* binary_name(BinaryOp op) {
    static const char* names[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt", "le",
                                  "gt", "ge", "logical_and", "logical_or", "logical_xor"};
    return names[static_cast<int>(op)];
}

bool is_predicate(BinaryOp op) { return op >= BinaryOp::eq; }

}  // namespace

// Shared forward of every binary op: checks, broadcast, allocation, kernel dispatch. No recording.
Tensor binary_forward(BinaryOp op, const Tensor& a, const Tensor& b) {
    const char* name = binary_name(op);
    WSDOL_CHECK(a.defined() && b.defined(), name, ": undefined operand");
    WSDOL_CHECK(a.dtype() == b.dtype(), name, ": dtype mismatch (", dtype_name(a.dtype()), " ", shape_str(a.shape()),
                " vs ", dtype_name(b.dtype()), " ", shape_str(b.shape()), "); cast one operand first");
    WSDOL_CHECK(a.device() == b.device(), name, ": operands on different devices (", a.device().name(), " vs ",
                b.device().name(), ")");
    const Shape shape = broadcast_shapes(name, a.shape(), b.shape());
    Tensor out = Tensor::empty(shape, is_predicate(op) ? DType::boolean : a.dtype(), a.device());
    if (out.numel() == 0) return out;
    find_kernel<BinaryKernel>("binary", a.device(), a.dtype())(op, view_of(out), broadcast_view(a, shape),
                                                               broadcast_view(b, shape));
    return out;
}

// Shared forward of every unary op.
Tensor unary_forward(UnaryOp op, const Tensor& x, double p0, double p1) {
    WSDOL_CHECK(x.defined(), "unary op on an undefined tensor");
    Tensor out = Tensor::empty(x.shape(), op == UnaryOp::logical_not ? DType::boolean : x.dtype(), x.device());
    if (out.numel() == 0) return out;
    find_kernel<UnaryKernel>("unary", x.device(), x.dtype())(op, view_of(out), view_of(x), p0, p1);
    return out;
}

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

Tensor div(const Tensor& a, double b) { return mul(a, 1.0 / b); }

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

}  // namespace wsdol
