// gemm_avx2.cpp (CPU) — the GEMM (gemm_impl.h) at the AVX2 + FMA level: 6x16 f32 and 6x8 f64 micro-kernels.
// CMakeLists.txt compiles this file alone with -mavx2 -mfma (and -mno-avx512f, so that it stays an AVX2 path
// even in a -march=native build on an AVX-512 machine); simd.h calls it only where the CPU has AVX2 and FMA.
#if defined(__AVX2__) && defined(__FMA__) && !defined(__AVX512F__)
#define WSDOL_GEMM_LEVEL 1
#define WSDOL_GEMM_NS gemm_avx2
#include "kernels/cpu/gemm_impl.h"

namespace wsdol::cpu {
const GemmLevelKernels gemm_level_avx2{&gemm_avx2::gemm_f32, &gemm_avx2::gemm_f64,
                                      "f32 6x16 AVX2+FMA micro-kernel", "f64 6x8 AVX2+FMA micro-kernel"};
}  // namespace wsdol::cpu
#else
#include "kernels/cpu/gemm_level.h"
namespace wsdol::cpu {
const GemmLevelKernels gemm_level_avx2{nullptr, nullptr, nullptr, nullptr};  // not an x86 build with the target flags
}  // namespace wsdol::cpu
#endif
