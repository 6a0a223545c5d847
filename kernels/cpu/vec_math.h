// vec_math.h — branch-free f32 math (exp, tanh, sigmoid, the gelus) that vectorizes, plus the T-generic wrappers
// (exp_t, tanh_t, sigmoid_t, gelu_t, gelu_derivative_t) that pick it for float and the C library for double.
// Used by the elementwise kernels (elementwise.cpp) and softmax (softmax.cpp); any CPU kernel whose inner loop
// needs these functions in f32 should use them rather than write its own.
//
// A loop vectorizes only if the per-element function is inlined into it, so every helper here is forced inline
// (WSDOL_VEC_INLINE).
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>
#include <type_traits>

#if defined(__GNUC__) || defined(__clang__)
#define WSDOL_VEC_INLINE inline __attribute__((always_inline))
#else
#define WSDOL_VEC_INLINE inline
#endif

namespace wsdol::cpu {

constexpr double kSqrt1_2 = 0.70710678118654752440;      // 1/sqrt(2)          (exact gelu)
constexpr double kInvSqrt2Pi = 0.39894228040143267794;   // 1/sqrt(2 pi)       (exact gelu's pdf)
constexpr double kSqrt2OverPi = 0.79788456080286535588;  // sqrt(2/pi)         (tanh gelu)
constexpr double kGeluTanhCubic = 0.044715;              // tanh gelu's cubic coefficient
constexpr double kQuickGeluScale = 1.702;                // quick_gelu: x * sigmoid(1.702 x)

// ---------------------------------------------------------------- f32 vector math
// glibc's expf/tanhf/erff are scalar calls that keep loops from vectorizing (glibc declares its vector variants
// only under -ffast-math, which this project forbids). For f32, exp, tanh, sigmoid and the gelus therefore use
// the branch-free versions below: plain float arithmetic and selects, so loops vectorize, and a vector lane
// computes exactly what the scalar remainder loop computes (no FMA contraction: -ffp-contract=off). f64 keeps
// the C library (the reference precision). Polynomial coefficients are our own Chebyshev-node fits (mpmath,
// 40 digits) rounded to float; accuracy is measured in tests/ops/cases_elementwise.cpp (F32VectorMath).

// cond ? a : b without a branch. GCC does not if-convert a floating select whose arms do float work under
// -ftrapping-math (the default), which would keep such loops scalar; a bitwise blend always vectorizes.
template <typename T>
WSDOL_VEC_INLINE T select(bool cond, T a, T b) {
    if constexpr (std::is_floating_point_v<T>) {
        using U = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
        const U mask = U(0) - static_cast<U>(cond);
        return std::bit_cast<T>((std::bit_cast<U>(a) & mask) | (std::bit_cast<U>(b) & ~mask));
    } else {
        return cond ? a : b;
    }
}

// Round to the nearest integer (ties to even) for |v| < 2^22: adding 1.5 * 2^23 pushes the fraction out.
WSDOL_VEC_INLINE float round_to_integer(float v) {
    constexpr float kShifter = 12582912.0f;
    return (v + kShifter) - kShifter;
}

// 2^k as a float for k in [-126, 127], built in the exponent bits.
WSDOL_VEC_INLINE float exp2_int(int k) { return std::bit_cast<float>(static_cast<uint32_t>(k + 127) << 23); }

// e^x. x = n ln2 + r with |r| <= ln2/2 (Cody-Waite: ln2 = kLn2Hi + kLn2Lo, n * kLn2Hi exact), e^r = 1 + r +
// r^2 P(r) (fit error 7e-10), times 2^n applied as 2^(n/2) 2^(n - n/2) so subnormal results and overflow to inf
// come out right. NaN passes through; below -104 the result rounds to 0, above 89 to inf.
WSDOL_VEC_INLINE float exp_f32(float x) {
    constexpr float kLog2e = 1.44269504088896341f, kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440054690583e-4f;
    constexpr float c0 = 5.000000000e-01f, c1 = 1.666666716e-01f, c2 = 4.166646674e-02f, c3 = 8.333310485e-03f,
                    c4 = 1.393364160e-03f, c5 = 1.989098091e-04f;
    float xc = select(x > -104.0f, x, -104.0f);  // NaN lands here too (finite work, the result is selected away)
    xc = select(xc < 89.0f, xc, 89.0f);
    const float n = round_to_integer(xc * kLog2e);
    const float r = (xc - n * kLn2Hi) - n * kLn2Lo;
    const float poly = ((((c5 * r + c4) * r + c3) * r + c2) * r + c1) * r + c0;
    const float er = 1.0f + (r + (r * r) * poly);
    const int k = static_cast<int>(n);
    const int k1 = k >> 1;
    const float result = er * exp2_int(k1) * exp2_int(k - k1);
    return select(x != x, x, result);
}

// e^x for the x <= 0 of a max-shifted softmax (softmax.cpp; accurate for 0 < x <= 88 too). Cody-Waite reduction
// x = n ln2 + r with |r| <= ln2 / 2 (ln2 split in a 9-bit head, exact in the product, and a tail), Cephes' expf
// polynomial for e^r, and 2^n built in the exponent bits. Below -87 the result is 0 (e^x would need denormals
// there; -inf masks give exactly 0); NaN propagates through the polynomial. Max error 0.98 ulp on [-87, 0], 0.99
// ulp on [0, 88.7] (every float checked against double exp).
//
// Why two f32 exps: exp_f32 above serves the elementwise ops over the whole range (subnormal results, overflow
// to inf; max error 0.96 ulp on [-87, 0], same check), exp_nonpositive only softmax's shifted rows. The two round
// differently on 794,854 of the 1.12e9 floats in [-87, 0] (and below -87: subnormals vs 0), so one exp for both
// would change softmax's (or exp's) result bits. Both are within the < 1 ulp bound the softmax cases check.
WSDOL_VEC_INLINE float exp_nonpositive(float x) {
    const bool in_range = !(x < -87.0f);  // NaN counts as in range: it propagates
    const float xc = select(in_range, x, -87.0f);
    const float n = round_to_integer(xc * 1.44269504088896341f);
    const float r = (xc - n * 0.693359375f) - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    return select(in_range, p * exp2_int(static_cast<int>(n)), 0.0f);
}

// tanh x: x + x^3 P(x^2) for |x| < 0.625 (fit error 4e-9, no cancellation near 0), else sign(x) (1 - e)/(1 + e)
// with e = e^(-2|x|) <= 0.29. +-inf gives +-1, NaN gives NaN.
WSDOL_VEC_INLINE float tanh_f32(float x) {
    constexpr float p0 = -3.333333433e-01f, p1 = 1.333330423e-01f, p2 = -5.395925790e-02f, p3 = 2.176891826e-02f,
                    p4 = -8.343945257e-03f, p5 = 2.292744815e-03f;
    const float a = std::fabs(x);
    const float z = x * x;
    const float small = x + x * z * (((((p5 * z + p4) * z + p3) * z + p2) * z + p1) * z + p0);
    const float e = exp_f32(-2.0f * a);
    const float large = (1.0f - e) / (1.0f + e);
    const float signed_large = std::bit_cast<float>(std::bit_cast<uint32_t>(large) | (std::bit_cast<uint32_t>(x) & 0x80000000u));
    return select(a < 0.625f, small, signed_large);
}

// sigmoid x from e = e^-|x| <= 1 (never overflows): 1 / (1 + e) for x >= 0, e / (1 + e) for x < 0, so tiny
// (subnormal) results for x < -88 keep their precision.
WSDOL_VEC_INLINE float sigmoid_f32(float x) {
    const float e = exp_f32(-std::fabs(x));
    const float s = 1.0f / (1.0f + e);
    return select(x >= 0.0f, s, e * s);
}

// Exact gelu's pieces at x: cdf = Phi(x) and pdf = phi(x), sharing one exponential e = e^(-x^2/2).
// Phi(-|x|) = erfc(a)/2 with a = |x|/sqrt2 = e t Q(t)/2, t = 1/(1 + p a) (fit of erfc(a) e^(a^2)/t on t in
// (0, 1], relative error 1.5e-8); Phi(x) = 1 - Phi(-x) for x > 0. Computing the negative tail directly (not as
// 1 + erf) keeps gelu's relative accuracy for negative x; far out (|x| > 8) the rounding of x^2 limits it to
// ~x^2 * 2^-24.
WSDOL_VEC_INLINE void gelu_parts_f32(float x, float* cdf, float* pdf) {
    constexpr float p = 3.275910914e-01f;
    constexpr float q0 = 1.848234832e-01f, q1 = 1.848234683e-01f, q2 = 1.749080122e-01f, q3 = 1.550056487e-01f,
                    q4 = 1.279004514e-01f, q5 = 8.616030216e-02f, q6 = 9.201974422e-02f, q7 = -5.509442836e-02f,
                    q8 = 1.389297694e-01f, q9 = -1.192853898e-01f, q10 = 2.980894595e-02f;
    const float e = exp_f32(-(0.5f * (x * x)));
    const float a = std::fabs(x) * static_cast<float>(kSqrt1_2);
    const float t = 1.0f / (1.0f + p * a);
    const float q = (((((((((q10 * t + q9) * t + q8) * t + q7) * t + q6) * t + q5) * t + q4) * t + q3) * t + q2) * t + q1) * t + q0;
    const float tail = 0.5f * ((t * q) * e);
    *cdf = select(x > 0.0f, 1.0f - tail, tail);
    *pdf = e * static_cast<float>(kInvSqrt2Pi);
}

// The functions for T = float (the versions above) and T = double (the C library, PyTorch's formulas).
WSDOL_VEC_INLINE double exp_t(double v) { return std::exp(v); }
WSDOL_VEC_INLINE float exp_t(float v) { return exp_f32(v); }
WSDOL_VEC_INLINE double tanh_t(double v) { return std::tanh(v); }
WSDOL_VEC_INLINE float tanh_t(float v) { return tanh_f32(v); }
WSDOL_VEC_INLINE double sigmoid_t(double v) {  // split by sign so exp never overflows
    if (v >= 0.0) return 1.0 / (1.0 + std::exp(-v));
    const double e = std::exp(v);
    return e / (1.0 + e);
}
WSDOL_VEC_INLINE float sigmoid_t(float v) { return sigmoid_f32(v); }
WSDOL_VEC_INLINE double gelu_t(double v) { return 0.5 * v * (1.0 + std::erf(v * kSqrt1_2)); }  // PyTorch's exact gelu
WSDOL_VEC_INLINE float gelu_t(float v) {
    float cdf, pdf;
    gelu_parts_f32(v, &cdf, &pdf);
    return v * cdf;
}
// d/dx x Phi(x) = Phi(x) + x phi(x).
WSDOL_VEC_INLINE double gelu_derivative_t(double x) {
    return 0.5 * (1.0 + std::erf(x * kSqrt1_2)) + x * (std::exp(-0.5 * x * x) * kInvSqrt2Pi);
}
WSDOL_VEC_INLINE float gelu_derivative_t(float x) {
    float cdf, pdf;
    gelu_parts_f32(x, &cdf, &pdf);
    return cdf + x * pdf;
}

}  // namespace wsdol::cpu
