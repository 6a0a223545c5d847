// dtype.h — element types of tensors and the f16/bf16 <-> f32 conversions.
//
// f32 and f64 compute on the CPU; f16 and bf16 are storage types there (the CPU converts them to f32 to compute,
// see ops/dispatch.h); i32, i64, u8 and bool hold indices, labels and masks.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>

namespace wsdol {

enum class DType : uint8_t { f32, f64, f16, bf16, i32, i64, u8, boolean };
constexpr int kNumDTypes = 8;

size_t dtype_size(DType t);
const char* dtype_name(DType t);          // "float32", "float64", ... (PyTorch's names)
DType dtype_from_name(const std::string& name);  // accepts "f32"/"float32"/"F32" ...; throws on unknown
inline bool is_floating(DType t) { return t == DType::f32 || t == DType::f64 || t == DType::f16 || t == DType::bf16; }
inline bool is_half(DType t) { return t == DType::f16 || t == DType::bf16; }
inline bool is_integral(DType t) { return !is_floating(t); }  // bool counts as integral

// IEEE binary16 and bfloat16 conversions, round-to-nearest-even (as PyTorch and numpy do).
uint16_t f32_to_f16(float f);
float f16_to_f32(uint16_t h);
inline uint16_t f32_to_bf16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return static_cast<uint16_t>(u >> 16);
}
inline float bf16_to_f32(uint16_t h) {
    uint32_t u = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

// C++ type -> DType, for templated kernels and accessors.
template <typename T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::f64; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::i32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::i64; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::u8; };
template <> struct dtype_of<bool> { static constexpr DType value = DType::boolean; };

}  // namespace wsdol
