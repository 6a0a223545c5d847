// simd.h (CPU) — the SIMD level of the run-time dispatched CPU kernels (today: the GEMM, gemm.cpp), chosen once
// per process from the CPU's features, or forced by the environment variable WSDOL_SIMD=avx512|avx2|scalar
// (tests, benchmarks, reproducing another machine's bits).
//
// Levels and what they mean for results (see gemm_microkernel.h's arithmetic rule):
//   avx512  AVX-512 F/BW/DQ/VL + FMA kernels; the multiply-adds are fused (one rounding)
//   avx2    AVX2 + FMA kernels; also fused, in the same order with the same k-chunks as avx512, so avx2 and
//           avx512 give bit-identical results
//   scalar  portable C++ (whatever the build's baseline flags allow), a * b + c rounded twice: results differ
//           from avx2/avx512 by FMA rounding (within the usual summation error bound)
// At every level results are bit-identical for any thread count. The rest of the CPU kernels are compiled once
// for the build's baseline (WSDOL_NATIVE=ON: -march=native) and never depend on the level.
#pragma once
#include <string>

namespace wsdol::cpu {

enum class SimdLevel : int { scalar = 0, avx2 = 1, avx512 = 2 };

const char* simd_level_name(SimdLevel level);  // "avx512", "avx2", "scalar"

// The best level this CPU (and OS: saved vector state) supports AND this build has kernels for.
SimdLevel detected_simd_level();
// Whether `level` can run here (compiled in and supported by the CPU).
bool simd_level_available(SimdLevel level);

// The level in use: WSDOL_SIMD when set (read once, at the first call), else detected_simd_level(). Throws
// wsdol::Error naming the variable when WSDOL_SIMD is not one of the names, or names a level this CPU or build
// cannot run.
SimdLevel simd_level();
// Whether the level in use came from WSDOL_SIMD.
bool simd_level_forced();
// Switches the level for the rest of the process (tests and benchmarks compare levels in one run); throws
// wsdol::Error if the level is not available. Not to be called while kernels run on other threads.
void set_simd_level(SimdLevel level);

// One line naming the kernels of `level` (for `wsdol version`), e.g. "GEMM f32 12x32 AVX-512, f64 6x8 ...".
std::string simd_kernels_description(SimdLevel level);

}  // namespace wsdol::cpu
