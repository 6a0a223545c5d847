// elementwise.cpp (CPU) — the elementwise kernels: "binary", "unary", "unary_backward" and "where", for f32 and
// f64 (and integer/bool types where the op makes sense).
//
// Every kernel first coalesces its operands' dims (a contiguous tensor becomes one run), then walks runs along the
// last dim (strided.h) with a plain inner loop per op, which the compiler vectorizes for the unit-stride and
// broadcast-scalar cases. Elementwise work may be split anywhere across threads (parallel.h): each output element
// is computed by one thread with a fixed order of operations, so results never depend on the thread count.
// For f32, exp/tanh/sigmoid and the gelus use the branch-free math of vec_math.h, so that those loops vectorize
// too; f64 uses the C library.
#include <array>
#include <cmath>
#include <limits>
#include <type_traits>

#include "engine/ops/elementwise.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/strided.h"
#include "kernels/cpu/vec_math.h"

// A loop vectorizes only if the per-element function (an op's lambda and the math helpers it calls) is inlined
// into it; GCC's heuristics give up in a file with this many instantiations. So the math helpers are forced
// inline (WSDOL_VEC_INLINE, vec_math.h), and the run loops (binary_run, unary_run, ...) are marked flatten:
// everything they call is inlined.
#if defined(__GNUC__) || defined(__clang__)
#define WSDOL_FLATTEN __attribute__((flatten))
#else
#define WSDOL_FLATTEN
#endif

namespace wsdol::cpu {
namespace {

// ---------------------------------------------------------------- layout helpers

// coalesce(): kernels/cpu/strided.h.

inline int64_t last_stride(const TensorView& v) { return v.ndim ? v.strides[v.ndim - 1] : 1; }

// A double parameter as T: saturating for integer T (the ops check that parameters that matter are in range;
// saturation keeps +-inf clamp bounds and the like well defined), plain conversion for floating T.
template <typename T>
T param_as(double p) {
    if constexpr (std::is_floating_point_v<T>) {
        return static_cast<T>(p);
    } else {
        if (std::isnan(p)) return T(0);
        if (p <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
        if (p >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
        return static_cast<T>(p);
    }
}

// Integer power by squaring, wrapping on overflow like PyTorch's integer pow (computed unsigned: no UB).
// Negative exponents follow PyTorch's powi: 1 for base 1, +-1 for base -1, else 0.
template <typename T>
T int_pow(T base, int64_t exponent) {
    if (exponent < 0) {
        if (base == T(1)) return T(1);
        if constexpr (std::is_signed_v<T>)
            if (base == T(-1)) return (exponent % 2 == 0) ? T(1) : T(-1);
        return T(0);
    }
    using U = std::make_unsigned_t<T>;
    U result = 1, b = static_cast<U>(base);
    for (auto e = static_cast<uint64_t>(exponent); e; e >>= 1) {
        if (e & 1) result = static_cast<U>(result * b);
        b = static_cast<U>(b * b);
    }
    return static_cast<T>(result);
}

// x^e with PyTorch's special exponents (pow_tensor_scalar_optimized_kernel): 0.5 -> sqrt, 2 -> x*x,
// 3 -> x*x*x, -0.5 -> 1/sqrt, -1 -> 1/x, -2 -> 1/(x*x); 0 -> 1 and 1 -> x (pow_out); std::pow otherwise.
// The forward uses one specialized loop per case (below); this scalar version serves the backward.
template <typename T>
T pow_special(T v, double e) {
    if (e == 0) return T(1);
    if (e == 1) return v;
    if (e == 2) return v * v;
    if (e == 3) return v * v * v;
    if (e == 0.5) return std::sqrt(v);
    if (e == -0.5) return T(1) / std::sqrt(v);
    if (e == -1) return T(1) / v;
    if (e == -2) return T(1) / (v * v);
    return std::pow(v, static_cast<T>(e));
}

// ---------------------------------------------------------------- loops

// One run of a binary op: n elements, last-dim strides so/sa/sb (unit-stride and broadcast-scalar fast paths).
template <typename T, typename O, typename F>
WSDOL_FLATTEN void binary_run(O* o, const T* x, const T* y, int64_t n, int64_t so, int64_t sa, int64_t sb, const F& f) {
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
}

template <typename T, typename O, typename F>
void binary_loop(const TensorView& out_in, const TensorView& a_in, const TensorView& b_in, F f, int64_t cost = 1) {
    TensorView out = out_in, a = a_in, b = b_in;
    coalesce<3>({&out, &a, &b});
    const T* pa = a.ptr<T>();
    const T* pb = b.ptr<T>();
    O* po = out.ptr<O>();
    const int nd = out.ndim;
    const int64_t so = last_stride(out), sa = last_stride(a), sb = last_stride(b);
    parallel_for(out.numel(), cost, [&](int64_t begin, int64_t end) {
        for_each_run<3>(nd, out.shape, {out.strides, a.strides, b.strides}, begin, end, [&](auto off, int64_t n) {
            binary_run<T, O>(po + off[0], pa + off[1], pb + off[2], n, so, sa, sb, f);
        });
    });
}

// One run of a unary op.
template <typename T, typename O, typename F>
WSDOL_FLATTEN void unary_run(O* o, const T* v, int64_t n, int64_t so, int64_t sx, const F& f) {
    if (so == 1 && sx == 1) {
        for (int64_t i = 0; i < n; ++i) o[i] = f(v[i]);
    } else {
        for (int64_t i = 0; i < n; ++i) o[i * so] = f(v[i * sx]);
    }
}

template <typename T, typename O, typename F>
void unary_loop(const TensorView& out_in, const TensorView& x_in, F f, int64_t cost = 1) {
    TensorView out = out_in, x = x_in;
    coalesce<2>({&out, &x});
    const T* px = x.ptr<T>();
    O* po = out.ptr<O>();
    const int nd = out.ndim;
    const int64_t so = last_stride(out), sx = last_stride(x);
    parallel_for(out.numel(), cost, [&](int64_t begin, int64_t end) {
        for_each_run<2>(nd, out.shape, {out.strides, x.strides}, begin, end, [&](auto off, int64_t n) {
            unary_run<T, O>(po + off[0], px + off[1], n, so, sx, f);
        });
    });
}

// Relative cost of one transcendental evaluation, for parallel_for's grain.
constexpr int64_t kTranscendental = 8;

// ---------------------------------------------------------------- binary

template <typename T>
void binary_cpu(BinaryOp op, const TensorView& out, const TensorView& a, const TensorView& b) {
    constexpr bool floating = std::is_floating_point_v<T>;
    constexpr bool is_bool = std::is_same_v<T, bool>;
    switch (op) {
        case BinaryOp::add: return binary_loop<T, T>(out, a, b, [](T x, T y) { return T(x + y); });
        case BinaryOp::sub:
            if constexpr (is_bool) fail("sub: subtraction of bool tensors is not supported; use logical_xor");
            else return binary_loop<T, T>(out, a, b, [](T x, T y) { return T(x - y); });
        case BinaryOp::mul: return binary_loop<T, T>(out, a, b, [](T x, T y) { return T(x * y); });
        case BinaryOp::div:
            if constexpr (floating) return binary_loop<T, T>(out, a, b, [](T x, T y) { return x / y; });
            else fail("div: integer division is not supported; cast to a floating dtype");
        case BinaryOp::pow:
            if constexpr (floating) return binary_loop<T, T>(out, a, b, [](T x, T y) { return std::pow(x, y); }, kTranscendental);
            else if constexpr (is_bool) fail("pow: bool tensors are not supported");
            else return binary_loop<T, T>(out, a, b, [](T x, T y) { return int_pow(x, static_cast<int64_t>(y)); });
        case BinaryOp::maximum:  // NaN propagates from either side (PyTorch)
            return binary_loop<T, T>(out, a, b, [](T x, T y) { return (x != x || x > y) ? x : y; });
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
    fail(str("binary kernel: unknown op ", static_cast<int>(op)));
}

// ---------------------------------------------------------------- unary

// x^e for floating x: one specialized (mostly vectorizable) loop per special exponent, values as pow_special.
template <typename T>
void pow_scalar_loop(const TensorView& out, const TensorView& x, double e) {
    if (e == 0) return unary_loop<T, T>(out, x, [](T) { return T(1); });
    if (e == 1) return unary_loop<T, T>(out, x, [](T v) { return v; });
    if (e == 2) return unary_loop<T, T>(out, x, [](T v) { return v * v; });
    if (e == 3) return unary_loop<T, T>(out, x, [](T v) { return v * v * v; });
    if (e == 0.5) return unary_loop<T, T>(out, x, [](T v) { return std::sqrt(v); });
    if (e == -0.5) return unary_loop<T, T>(out, x, [](T v) { return T(1) / std::sqrt(v); });
    if (e == -1) return unary_loop<T, T>(out, x, [](T v) { return T(1) / v; });
    if (e == -2) return unary_loop<T, T>(out, x, [](T v) { return T(1) / (v * v); });
    const T te = static_cast<T>(e);
    return unary_loop<T, T>(out, x, [te](T v) { return std::pow(v, te); }, kTranscendental);
}

template <typename T>
void unary_cpu(UnaryOp op, const TensorView& out, const TensorView& x, double p0, double p1) {
    if constexpr (std::is_floating_point_v<T>) {
        switch (op) {
            case UnaryOp::exp: return unary_loop<T, T>(out, x, [](T v) { return exp_t(v); }, kTranscendental);
            case UnaryOp::log: return unary_loop<T, T>(out, x, [](T v) { return std::log(v); }, kTranscendental);
            case UnaryOp::sqrt: return unary_loop<T, T>(out, x, [](T v) { return std::sqrt(v); });
            case UnaryOp::rsqrt: return unary_loop<T, T>(out, x, [](T v) { return T(1) / std::sqrt(v); });
            case UnaryOp::abs: return unary_loop<T, T>(out, x, [](T v) { return std::fabs(v); });  // |-0| = +0
            case UnaryOp::leaky_relu: {  // NaN * slope stays NaN
                const T slope = static_cast<T>(p0);
                return unary_loop<T, T>(out, x, [slope](T v) { return select(v > T(0), v, v * slope); });
            }
            case UnaryOp::gelu:  // exact: x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) (f32: from the erfc tail)
                return unary_loop<T, T>(out, x, [](T v) { return gelu_t(v); }, kTranscendental);
            case UnaryOp::gelu_tanh:  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
                return unary_loop<T, T>(out, x, [](T v) {
                    return T(0.5) * v * (T(1) + tanh_t(T(kSqrt2OverPi) * (v + T(kGeluTanhCubic) * v * v * v)));
                }, kTranscendental);
            case UnaryOp::quick_gelu:  // x * sigmoid(1.702 x)
                return unary_loop<T, T>(out, x, [](T v) { return v * sigmoid_t(T(kQuickGeluScale) * v); }, kTranscendental);
            case UnaryOp::sigmoid: return unary_loop<T, T>(out, x, [](T v) { return sigmoid_t(v); }, kTranscendental);
            case UnaryOp::tanh: return unary_loop<T, T>(out, x, [](T v) { return tanh_t(v); }, kTranscendental);
            case UnaryOp::pow_scalar: return pow_scalar_loop<T>(out, x, p0);
            case UnaryOp::rdiv_scalar: {
                const T s = static_cast<T>(p0);
                return unary_loop<T, T>(out, x, [s](T v) { return s / v; });
            }
            default: break;
        }
    }
    if constexpr (!std::is_same_v<T, bool>) {
        switch (op) {
            case UnaryOp::neg: return unary_loop<T, T>(out, x, [](T v) { return T(-v); });
            case UnaryOp::abs: return unary_loop<T, T>(out, x, [](T v) { return v < T(0) ? T(-v) : v; });  // integers
            // relu = clamp_min(x, 0) in PyTorch: NaN propagates (v < 0 is false for NaN).
            case UnaryOp::relu: return unary_loop<T, T>(out, x, [](T v) { return v < T(0) ? T(0) : v; });
            case UnaryOp::clamp: {
                // min(max(x, lo), hi) as PyTorch: NaN passes (both comparisons false), lo > hi gives hi, and
                // +-inf bounds never bite (saturated to the type's range for integers).
                const T lo = param_as<T>(p0), hi = param_as<T>(p1);
                return unary_loop<T, T>(out, x, [lo, hi](T v) {
                    v = v < lo ? lo : v;
                    return v > hi ? hi : v;
                });
            }
            case UnaryOp::add_scalar: {
                const T s = param_as<T>(p0);
                return unary_loop<T, T>(out, x, [s](T v) { return T(v + s); });
            }
            case UnaryOp::mul_scalar: {
                const T s = param_as<T>(p0);
                return unary_loop<T, T>(out, x, [s](T v) { return T(v * s); });
            }
            case UnaryOp::rsub_scalar: {
                const T s = param_as<T>(p0);
                return unary_loop<T, T>(out, x, [s](T v) { return T(s - v); });
            }
            case UnaryOp::pow_scalar:
                if constexpr (!std::is_floating_point_v<T>) {  // the op checks: integral exponent >= 0
                    const auto e = static_cast<int64_t>(p0);
                    return unary_loop<T, T>(out, x, [e](T v) { return int_pow(v, e); });
                }
                break;
            default: break;
        }
    }
    if (op == UnaryOp::logical_not) return unary_loop<T, bool>(out, x, [](T v) { return v == T(0); });
    fail(str("unary kernel: op ", static_cast<int>(op), " is not defined for ", dtype_name(x.dtype), " tensors"));
}

// ---------------------------------------------------------------- unary backward

// One run of a unary backward: grad_x[i] = f(grad_y[i], saved[i]).
template <typename T, typename F>
WSDOL_FLATTEN void backward_run(T* o, const T* g, const T* v, int64_t n, int64_t so, int64_t sg, int64_t ss, const F& f) {
    if (so == 1 && sg == 1 && ss == 1) {
        for (int64_t i = 0; i < n; ++i) o[i] = f(g[i], v[i]);
    } else {
        for (int64_t i = 0; i < n; ++i) o[i * so] = f(g[i * sg], v[i * ss]);
    }
}

template <typename T, typename F>
void backward_loop(const TensorView& gx_in, const TensorView& gy_in, const TensorView& s_in, F f,
                   int64_t cost = 1) {
    TensorView gx = gx_in, gy = gy_in, s = s_in;
    coalesce<3>({&gx, &gy, &s});
    T* po = gx.ptr<T>();
    const T* pg = gy.ptr<T>();
    const T* ps = s.ptr<T>();
    const int nd = gx.ndim;
    const int64_t so = last_stride(gx), sg = last_stride(gy), ss = last_stride(s);
    parallel_for(gx.numel(), cost, [&](int64_t begin, int64_t end) {
        for_each_run<3>(nd, gx.shape, {gx.strides, gy.strides, s.strides}, begin, end, [&](auto off, int64_t n) {
            backward_run<T>(po + off[0], pg + off[1], ps + off[2], n, so, sg, ss, f);
        });
    });
}

template <typename T>
void unary_backward_cpu(UnaryOp op, const TensorView& gx, const TensorView& gy, const TensorView& saved, double p0,
                        double p1) {
    // Each formula is PyTorch's (derivatives.yaml / FunctionsManual.cpp), including its values at kinks and NaN.
    switch (op) {
        case UnaryOp::exp:  // y = e^x: g * y
            return backward_loop<T>(gx, gy, saved, [](T g, T y) { return g * y; });
        case UnaryOp::log:  // g / x
            return backward_loop<T>(gx, gy, saved, [](T g, T x) { return g / x; });
        case UnaryOp::sqrt:  // y = sqrt x: g / (2 y)
            return backward_loop<T>(gx, gy, saved, [](T g, T y) { return g / (T(2) * y); });
        case UnaryOp::rsqrt:  // y = x^-1/2: -0.5 g y^3
            return backward_loop<T>(gx, gy, saved, [](T g, T y) { return T(-0.5) * g * (y * y * y); });
        case UnaryOp::abs:  // g * sgn(x); sgn(0) = sgn(NaN) = 0
            return backward_loop<T>(gx, gy, saved, [](T g, T x) { return g * (T(x > T(0)) - T(x < T(0))); });
        case UnaryOp::relu:  // threshold_backward: 0 where x <= 0 (so 0 at 0), g elsewhere (NaN included)
            return backward_loop<T>(gx, gy, saved, [](T g, T x) { return x <= T(0) ? T(0) : g; });
        case UnaryOp::leaky_relu: {  // g where x > 0, g * slope elsewhere (slope at 0)
            const T slope = static_cast<T>(p0);
            return backward_loop<T>(gx, gy, saved, [slope](T g, T x) { return select(x > T(0), g, g * slope); });
        }
        case UnaryOp::gelu:  // d/dx x Phi(x) = Phi(x) + x phi(x)
            return backward_loop<T>(gx, gy, saved, [](T g, T x) { return g * gelu_derivative_t(x); }, kTranscendental);
        case UnaryOp::gelu_tanh:  // u = sqrt(2/pi)(x + k x^3): 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) du/dx
            return backward_loop<T>(gx, gy, saved, [](T g, T x) {
                const T x_sq = x * x;
                const T inner = T(kSqrt2OverPi) * (x + T(kGeluTanhCubic) * x_sq * x);
                const T t = tanh_t(inner);
                const T left = T(0.5) * x, right = T(1) + t;
                const T left_derivative = T(0.5) * right;
                const T right_derivative = left * (T(1) - t * t) * T(kSqrt2OverPi) * (T(1) + T(3 * kGeluTanhCubic) * x_sq);
                return g * (left_derivative + right_derivative);
            }, kTranscendental);
        case UnaryOp::quick_gelu:  // s = sigmoid(1.702 x): d/dx x s = s + 1.702 x s (1 - s)
            return backward_loop<T>(gx, gy, saved, [](T g, T x) {
                const T s = sigmoid_t(T(kQuickGeluScale) * x);
                return g * (s + T(kQuickGeluScale) * x * s * (T(1) - s));
            }, kTranscendental);
        case UnaryOp::sigmoid:  // sigmoid_backward: g (1 - y) y
            return backward_loop<T>(gx, gy, saved, [](T g, T y) { return g * (T(1) - y) * y; });
        case UnaryOp::tanh:  // tanh_backward: g (1 - y^2)
            return backward_loop<T>(gx, gy, saved, [](T g, T y) { return g * (T(1) - y * y); });
        case UnaryOp::clamp: {  // clamp_backward: g on [min, max] inclusive, 0 outside and at NaN
            const T lo = static_cast<T>(p0), hi = static_cast<T>(p1);
            return backward_loop<T>(gx, gy, saved, [lo, hi](T g, T x) { return select((x >= lo) & (x <= hi), g, T(0)); });
        }
        case UnaryOp::pow_scalar:  // pow_backward: 0 for exponent 0 (even at x = 0), else g (e x^(e-1))
            if (p0 == 0) return backward_loop<T>(gx, gy, saved, [](T, T) { return T(0); });
            if (p0 == 2) return backward_loop<T>(gx, gy, saved, [](T g, T x) { return g * (T(2) * x); });
            return backward_loop<T>(gx, gy, saved, [p0](T g, T x) {
                return g * (static_cast<T>(p0) * pow_special(x, p0 - 1));
            }, kTranscendental);
        default: break;
    }
    fail(str("unary_backward kernel: op ", static_cast<int>(op), " has no fused backward"));
}

// ---------------------------------------------------------------- where

// One run of where. Both values are loaded before a branch-free select, so the loops vectorize.
template <typename T>
WSDOL_FLATTEN void where_run(T* o, const bool* m, const T* x, const T* y, int64_t n, int64_t so, int64_t sc,
                             int64_t sa, int64_t sb) {
    if (so == 1 && sc == 1 && sa == 1 && sb == 1) {
        for (int64_t i = 0; i < n; ++i) o[i] = select(m[i], x[i], y[i]);
    } else if (so == 1 && sc == 1 && sa == 1 && sb == 0) {  // where(c, x, scalar): masked gradients
        const T yv = y[0];
        for (int64_t i = 0; i < n; ++i) o[i] = select(m[i], x[i], yv);
    } else if (so == 1 && sc == 1 && sa == 0 && sb == 1) {  // where(c, scalar, y)
        const T xv = x[0];
        for (int64_t i = 0; i < n; ++i) o[i] = select(m[i], xv, y[i]);
    } else {
        for (int64_t i = 0; i < n; ++i) o[i * so] = select(m[i * sc], x[i * sa], y[i * sb]);
    }
}

template <typename T>
void where_cpu(const TensorView& out_in, const TensorView& cond_in, const TensorView& a_in, const TensorView& b_in) {
    TensorView out = out_in, c = cond_in, a = a_in, b = b_in;
    coalesce<4>({&out, &c, &a, &b});
    T* po = out.ptr<T>();
    const bool* pc = c.ptr<bool>();
    const T* pa = a.ptr<T>();
    const T* pb = b.ptr<T>();
    const int nd = out.ndim;
    const int64_t so = last_stride(out), sc = last_stride(c), sa = last_stride(a), sb = last_stride(b);
    parallel_for(out.numel(), 1, [&](int64_t begin, int64_t end) {
        for_each_run<4>(nd, out.shape, {out.strides, c.strides, a.strides, b.strides}, begin, end,
                        [&](auto off, int64_t n) {
                            where_run<T>(po + off[0], pc + off[1], pa + off[2], pb + off[3], n, so, sc, sa, sb);
                        });
    });
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
WSDOL_KERNEL("unary_backward", cpu, f32, UnaryBackwardKernel, &unary_backward_cpu<float>);
WSDOL_KERNEL("unary_backward", cpu, f64, UnaryBackwardKernel, &unary_backward_cpu<double>);
WSDOL_KERNEL("where", cpu, f32, WhereKernel, &where_cpu<float>);
WSDOL_KERNEL("where", cpu, f64, WhereKernel, &where_cpu<double>);
WSDOL_KERNEL("where", cpu, i32, WhereKernel, &where_cpu<int32_t>);
WSDOL_KERNEL("where", cpu, i64, WhereKernel, &where_cpu<int64_t>);
WSDOL_KERNEL("where", cpu, u8, WhereKernel, &where_cpu<uint8_t>);
WSDOL_KERNEL("where", cpu, boolean, WhereKernel, &where_cpu<bool>);

}  // namespace wsdol::cpu
