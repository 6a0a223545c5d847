// dtype.cpp — dtype names, sizes and half-precision conversions.
#include "engine/core/dtype.h"

#include <algorithm>
#include <cctype>

#include "engine/core/error.h"

namespace wsdol {

size_t dtype_size(DType t) {
    switch (t) {
        case DType::f32: return 4;
        case DType::f64: return 8;
        case DType::f16: return 2;
        case DType::bf16: return 2;
        case DType::i32: return 4;
        case DType::i64: return 8;
        case DType::u8: return 1;
        case DType::boolean: return 1;
    }
    fail("dtype_size: invalid dtype");
}

const char* dtype_name(DType t) {
    switch (t) {
        case DType::f32: return "float32";
        case DType::f64: return "float64";
        case DType::f16: return "float16";
        case DType::bf16: return "bfloat16";
        case DType::i32: return "int32";
        case DType::i64: return "int64";
        case DType::u8: return "uint8";
        case DType::boolean: return "bool";
    }
    return "invalid";
}

DType dtype_from_name(const std::string& name) {
    std::string n = name;
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
    if (n == "f32" || n == "float32" || n == "float") return DType::f32;
    if (n == "f64" || n == "float64" || n == "double") return DType::f64;
    if (n == "f16" || n == "float16" || n == "half") return DType::f16;
    if (n == "bf16" || n == "bfloat16") return DType::bf16;
    if (n == "i32" || n == "int32") return DType::i32;
    if (n == "i64" || n == "int64" || n == "long") return DType::i64;
    if (n == "u8" || n == "uint8") return DType::u8;
    if (n == "bool" || n == "boolean") return DType::boolean;
    fail(str("unknown dtype '", name, "'"));
}

uint16_t f32_to_f16(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000u;
    const uint32_t abs = x & 0x7fffffffu;
    if (abs > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);  // NaN
    if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow (after rounding) -> inf
    if (abs < 0x38800000u) {  // result is subnormal or zero: value = abs * 2^24 rounded to an integer
        if (abs < 0x33000000u) return static_cast<uint16_t>(sign);  // below half the smallest subnormal
        const uint32_t exp = abs >> 23;
        const uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
        const uint32_t shift = 126 - exp;  // 14..24 (exp in 102..112): mant * 2^(exp-150) * 2^24
        uint32_t q = mant >> shift;
        const uint32_t rem = mant & ((1u << shift) - 1);
        const uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1u))) ++q;
        return static_cast<uint16_t>(sign | q);
    }
    uint32_t h = ((abs >> 13) - (112u << 10));  // rebias exponent 127 -> 15
    const uint32_t rem = abs & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;
    return static_cast<uint16_t>(sign | h);
}

float f16_to_f32(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t out;
    if (exp == 0) {
        if (mant == 0) {
            out = sign;
        } else {  // subnormal: normalize
            exp = 113;
            while (!(mant & 0x400u)) { mant <<= 1; --exp; }
            mant &= 0x3ffu;
            out = sign | (exp << 23) | (mant << 13);
        }
    } else if (exp == 31) {
        out = sign | 0x7f800000u | (mant << 13);
    } else {
        out = sign | ((exp + 112u) << 23) | (mant << 13);
    }
    float f;
    std::memcpy(&f, &out, 4);
    return f;
}

}  // namespace wsdol
