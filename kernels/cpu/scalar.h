// scalar.h — element types as the CPU kernels see them, with conversions through float/double.
//
// f16 and bf16 are 16-bit storage structs; every CPU computation on them happens in float (the CPU has no
// half arithmetic we rely on). `convert<To>(from)` is the one conversion used by copies and casts.
#pragma once
#include <cstdint>
#include <type_traits>

#include "engine/core/dtype.h"
#include "engine/core/error.h"

namespace wsdol::cpu {

struct half_t { uint16_t bits; };
struct bfloat_t { uint16_t bits; };

template <typename T> inline double to_double(T v) { return static_cast<double>(v); }
template <> inline double to_double(half_t v) { return f16_to_f32(v.bits); }
template <> inline double to_double(bfloat_t v) { return bf16_to_f32(v.bits); }
template <> inline double to_double(bool v) { return v ? 1.0 : 0.0; }

template <typename T> inline T from_double(double v) { return static_cast<T>(v); }
template <> inline half_t from_double(double v) { return half_t{f32_to_f16(static_cast<float>(v))}; }
template <> inline bfloat_t from_double(double v) { return bfloat_t{f32_to_bf16(static_cast<float>(v))}; }
template <> inline bool from_double(double v) { return v != 0.0; }

// Conversion that is exact where PyTorch's is (float->double, int->int), rounding to nearest-even into halves.
template <typename To, typename From> inline To convert(From v) {
    if constexpr (std::is_same_v<To, From>) return v;
    else if constexpr (std::is_same_v<From, half_t> || std::is_same_v<From, bfloat_t>) return from_double<To>(to_double(v));
    else if constexpr (std::is_same_v<To, half_t>) return half_t{f32_to_f16(static_cast<float>(v))};
    else if constexpr (std::is_same_v<To, bfloat_t>) return bfloat_t{f32_to_bf16(static_cast<float>(v))};
    else if constexpr (std::is_same_v<To, bool>) return v != From(0);
    else return static_cast<To>(v);
}

// Calls fn(T{}) with T the C++ type of dtype: WSDOL_DISPATCH-like, for kernels that handle every dtype.
template <typename Fn> decltype(auto) visit_dtype(DType dtype, Fn&& fn) {
    switch (dtype) {
        case DType::f32: return fn(float{});
        case DType::f64: return fn(double{});
        case DType::f16: return fn(half_t{});
        case DType::bf16: return fn(bfloat_t{});
        case DType::i32: return fn(int32_t{});
        case DType::i64: return fn(int64_t{});
        case DType::u8: return fn(uint8_t{});
        case DType::boolean: return fn(bool{});
    }
    fail("visit_dtype: invalid dtype");
}

}  // namespace wsdol::cpu
