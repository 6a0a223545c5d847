// elementwise.cpp (CPU) — the binary and unary elementwise kernels for f32 and f64 (and integer/bool types where
// the op makes sense). One templated loop per op, instantiated so the inner loop is a plain (vectorizable) loop.
#include <cmath>
#include <type_traits>

#include "engine/ops/elementwise.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/strided.h"

namespace wsdol::cpu {
namespace {

template <typename T, typename O, typename F>
void binary_loop(const TensorView& out, const TensorView& a, const TensorView& b, F f) {
    const T* pa = a.ptr<T>();
    const T* pb = b.ptr<T>();
    O* po = out.ptr<O>();
    const int nd = out.ndim;
    const int64_t so = nd ? out.strides[nd - 1] : 1, sa = nd ? a.strides[nd - 1] : 1, sb = nd ? b.strides[nd - 1] : 1;
    parallel_for(out.numel(), 1, [&](int64_t begin, int64_t end) {
        for_each_run<3>(nd, out.shape, {out.strides, a.strides, b.strides}, begin, end, [&](auto off, int64_t n) {
            O* o = po + off[0];
            const T* x = pa + off[1];
            const T* y = pb + off[2];
            if (so == 1 && sa == 1 && sb == 1) {
                for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
            } else if (so == 1 && sa == 1 && sb == 0) {
                const T yv = y[0];
                for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], yv);
            } else if (so == 1 && sa == 0 && sb == 1) {
                const T xv = x[0];
                for (int64_t i = 0; i < n; ++i) o[i] = f(xv, y[i]);
            } else {
                for (int64_t i = 0; i < n; ++i) o[i * so] = f(x[i * sa], y[i * sb]);
            }
        });
    });
}

template <typename T>
void binary_cpu(BinaryOp op, const TensorView& out, const TensorView& a, const TensorView& b) {
    constexpr bool floating = std::is_floating_point_v<T>;
    switch (op) {
        case BinaryOp::add: return binary_loop<T, T>(out, a, b, [](T x, T y) { return T(x + y); });
        case BinaryOp::sub: return binary_loop<T, T>(out, a, b, [](T x, T y) { return T(x - y); });
        case BinaryOp::mul: return binary_loop<T, T>(out, a, b, [](T x, T y) { return T(x * y); });
        case BinaryOp::div:
            if constexpr (floating) return binary_loop<T, T>(out, a, b, [](T x, T y) { return x / y; });
            else fail("div: integer division is not supported; cast to a floating dtype");
        case BinaryOp::pow:
            if constexpr (floating) return binary_loop<T, T>(out, a, b, [](T x, T y) { return std::pow(x, y); });
            else fail("pow: integer tensors are not supported; cast to a floating dtype");
        case BinaryOp::maximum:
            return binary_loop<T, T>(out, a, b, [](T x, T y) { return (x != x || x > y) ? x : y; });  // NaN propagates
        case BinaryOp::minimum:
            return binary_loop<T, T>(out, a, b, [](T x, T y) { return (x != x || x < y) ? x : y; });
        case BinaryOp::eq: return binary_loop<T, bool>(out, a, b, [](T x, T y) { return x == y; });
        case BinaryOp::ne: return binary_loop<T, bool>(out, a, b, [](T x, T y) { return x != y; });
        case BinaryOp::lt: return binary_loop<T, bool>(out, a, b, [](T x, T y) { return x < y; });
        case BinaryOp::le: return binary_loop<T, bool>(out, a, b, [](T x, T y) { return x <= y; });
        case BinaryOp::gt: return binary_loop<T, bool>(out, a, b, [](T x, T y) { return x > y; });
        case BinaryOp::ge: return binary_loop<T, bool>(out, a, b, [](T x, T y) { return x >= y; });
        case BinaryOp::logical_and: return binary_loop<T, bool>(out, a, b, [](T x, T y) { return x != T(0) && y != T(0); });
        case BinaryOp::logical_or: return binary_loop<T, bool>(out, a, b, [](T x, T y) { return x != T(0) || y != T(0); });
        case BinaryOp::logical_xor: return binary_loop<T, bool>(out, a, b, [](T x, T y) { return (x != T(0)) != (y != T(0)); });
    }
}

template <typename T, typename O, typename F>
void unary_loop(const TensorView& out, const TensorView& x, F f) {
    const T* px = x.ptr<T>();
    O* po = out.ptr<O>();
    const int nd = out.ndim;
    const int64_t so = nd ? out.strides[nd - 1] : 1, sx = nd ? x.strides[nd - 1] : 1;
    parallel_for(out.numel(), 4, [&](int64_t begin, int64_t end) {
        for_each_run<2>(nd, out.shape, {out.strides, x.strides}, begin, end, [&](auto off, int64_t n) {
            O* o = po + off[0];
            const T* v = px + off[1];
            if (so == 1 && sx == 1) {
                for (int64_t i = 0; i < n; ++i) o[i] = f(v[i]);
            } else {
                for (int64_t i = 0; i < n; ++i) o[i * so] = f(v[i * sx]);
            }
        });
    });
}

template <typename T>
void unary_cpu(UnaryOp op, const TensorView& out, const TensorView& x, double p0, double p1) {
    const T s0 = static_cast<T>(p0), s1 = static_cast<T>(p1);
    if constexpr (std::is_floating_point_v<T>) {
        switch (op) {
            case UnaryOp::exp: return unary_loop<T, T>(out, x, [](T v) { return std::exp(v); });
            case UnaryOp::log: return unary_loop<T, T>(out, x, [](T v) { return std::log(v); });
            case UnaryOp::sqrt: return unary_loop<T, T>(out, x, [](T v) { return std::sqrt(v); });
            case UnaryOp::rsqrt: return unary_loop<T, T>(out, x, [](T v) { return T(1) / std::sqrt(v); });
            case UnaryOp::relu: return unary_loop<T, T>(out, x, [](T v) { return v > T(0) ? v : T(0); });
            case UnaryOp::leaky_relu: return unary_loop<T, T>(out, x, [s0](T v) { return v > T(0) ? v : v * s0; });
            case UnaryOp::gelu:  // exact: 0.5 x (1 + erf(x / sqrt 2))
                return unary_loop<T, T>(out, x, [](T v) { return T(0.5) * v * (T(1) + std::erf(v * T(0.70710678118654752440))); });
            case UnaryOp::gelu_tanh:  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
                return unary_loop<T, T>(out, x, [](T v) {
                    return T(0.5) * v * (T(1) + std::tanh(T(0.79788456080286535588) * (v + T(0.044715) * v * v * v)));
                });
            case UnaryOp::quick_gelu:
                return unary_loop<T, T>(out, x, [](T v) { return v / (T(1) + std::exp(T(-1.702) * v)); });
            case UnaryOp::sigmoid:  // split by sign so exp never overflows
                return unary_loop<T, T>(out, x, [](T v) {
                    if (v >= T(0)) return T(1) / (T(1) + std::exp(-v));
                    const T e = std::exp(v);
                    return e / (T(1) + e);
                });
            case UnaryOp::tanh: return unary_loop<T, T>(out, x, [](T v) { return std::tanh(v); });
            case UnaryOp::pow_scalar: return unary_loop<T, T>(out, x, [s0](T v) { return std::pow(v, s0); });
            case UnaryOp::rdiv_scalar: return unary_loop<T, T>(out, x, [s0](T v) { return s0 / v; });
            default: break;
        }
    }
    switch (op) {
        case UnaryOp::neg: return unary_loop<T, T>(out, x, [](T v) { return T(-v); });
        case UnaryOp::abs: return unary_loop<T, T>(out, x, [](T v) { return v < T(0) ? T(-v) : v; });
        case UnaryOp::clamp:  // NaN passes through (PyTorch)
            return unary_loop<T, T>(out, x, [s0, s1, p0, p1](T v) {
                if (v != v) return v;
                if (!std::isinf(p0) && v < s0) v = s0;
                if (!std::isinf(p1) && v > s1) v = s1;
                return v;
            });
        case UnaryOp::add_scalar: return unary_loop<T, T>(out, x, [s0](T v) { return T(v + s0); });
        case UnaryOp::mul_scalar: return unary_loop<T, T>(out, x, [s0](T v) { return T(v * s0); });
        case UnaryOp::rsub_scalar: return unary_loop<T, T>(out, x, [s0](T v) { return T(s0 - v); });
        case UnaryOp::logical_not: return unary_loop<T, bool>(out, x, [](T v) { return v == T(0); });
        default: fail(str("unary op ", static_cast<int>(op), " is not defined for integer tensors"));
    }
}

}  // namespace

WSDOL_KERNEL("binary", cpu, f32, BinaryKernel, &binary_cpu<float>);
WSDOL_KERNEL("binary", cpu, f64, BinaryKernel, &binary_cpu<double>);
WSDOL_KERNEL("binary", cpu, i32, BinaryKernel, &binary_cpu<int32_t>);
WSDOL_KERNEL("binary", cpu, i64, BinaryKernel, &binary_cpu<int64_t>);
WSDOL_KERNEL("binary", cpu, u8, BinaryKernel, &binary_cpu<uint8_t>);
WSDOL_KERNEL("binary", cpu, boolean, BinaryKernel, &binary_cpu<bool>);
WSDOL_KERNEL("unary", cpu, f32, UnaryKernel, &unary_cpu<float>);
WSDOL_KERNEL("unary", cpu, f64, UnaryKernel, &unary_cpu<double>);
WSDOL_KERNEL("unary", cpu, i32, UnaryKernel, &unary_cpu<int32_t>);
WSDOL_KERNEL("unary", cpu, i64, UnaryKernel, &unary_cpu<int64_t>);
WSDOL_KERNEL("unary", cpu, u8, UnaryKernel, &unary_cpu<uint8_t>);
WSDOL_KERNEL("unary", cpu, boolean, UnaryKernel, &unary_cpu<bool>);

}  // namespace wsdol::cpu
