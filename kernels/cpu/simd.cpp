// simd.cpp (CPU) — detecting and choosing the SIMD level of the dispatched kernels (see simd.h).
#include "kernels/cpu/simd.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "engine/core/error.h"
#include "kernels/cpu/gemm_level.h"

namespace wsdol::cpu {
namespace {

// Compiled in: the level's GEMM build exists (gemm_level.h returns nullptr otherwise).
bool compiled(SimdLevel level) {
    switch (level) {
        case SimdLevel::avx512: return gemm_level_avx512.f32 != nullptr;
        case SimdLevel::avx2: return gemm_level_avx2.f32 != nullptr;
        case SimdLevel::scalar: return true;
    }
    return false;
}

// Supported by the CPU. GCC's and Clang's __builtin_cpu_supports also check (XGETBV) that the OS saves the
// AVX / AVX-512 register state, so a level reported here can run.
bool cpu_supports(SimdLevel level) {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    switch (level) {
        case SimdLevel::avx512:
            return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                   __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
                   __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        case SimdLevel::avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        case SimdLevel::scalar: return true;
    }
    return false;
#else
    return level == SimdLevel::scalar;
#endif
}

// -1: not chosen yet.
std::atomic<int> g_level{-1};
std::atomic<bool> g_forced{false};

SimdLevel parse_env(const char* value) {
    for (SimdLevel l : {SimdLevel::avx512, SimdLevel::avx2, SimdLevel::scalar})
        if (std::strcmp(value, simd_level_name(l)) == 0) {
            WSDOL_CHECK(simd_level_available(l), "WSDOL_SIMD=", value, ": this ",
                        compiled(l) ? "CPU does not support it" : "build has no kernels for it",
                        " (available here: ", simd_level_name(detected_simd_level()), " and below)");
            return l;
        }
    fail(str("WSDOL_SIMD=", value, ": expected one of avx512, avx2, scalar"));
}

}  // namespace

const char* simd_level_name(SimdLevel level) {
    switch (level) {
        case SimdLevel::avx512: return "avx512";
        case SimdLevel::avx2: return "avx2";
        case SimdLevel::scalar: return "scalar";
    }
    return "?";
}

bool simd_level_available(SimdLevel level) { return compiled(level) && cpu_supports(level); }

SimdLevel detected_simd_level() {
    for (SimdLevel l : {SimdLevel::avx512, SimdLevel::avx2})
        if (simd_level_available(l)) return l;
    return SimdLevel::scalar;
}

SimdLevel simd_level() {
    int l = g_level.load(std::memory_order_relaxed);
    if (l >= 0) return static_cast<SimdLevel>(l);
    const char* env = std::getenv("WSDOL_SIMD");
    const bool forced = env != nullptr && env[0] != '\0';
    const SimdLevel chosen = forced ? parse_env(env) : detected_simd_level();  // throws on a bad WSDOL_SIMD
    g_forced.store(forced);
    g_level.store(static_cast<int>(chosen));
    return chosen;
}

bool simd_level_forced() {
    simd_level();
    return g_forced.load();
}

void set_simd_level(SimdLevel level) {
    WSDOL_CHECK(simd_level_available(level), "set_simd_level: level ", simd_level_name(level),
                " is not available on this CPU/build (best here: ", simd_level_name(detected_simd_level()), ")");
    g_level.store(static_cast<int>(level));
}

std::string simd_kernels_description(SimdLevel level) {
    const GemmLevelKernels& k = level == SimdLevel::avx512 ? gemm_level_avx512
                                : level == SimdLevel::avx2 ? gemm_level_avx2
                                                           : gemm_level_scalar;
    if (k.f32 == nullptr) return str("(", simd_level_name(level), " not compiled in)");
    return str("GEMM ", k.f32_name, "; ", k.f64_name);
}

}  // namespace wsdol::cpu
