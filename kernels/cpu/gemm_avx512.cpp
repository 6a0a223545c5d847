// gemm_avx512.cpp (CPU) — the GEMM (gemm_impl.h) at the AVX-512 level: 12x32 f32 micro-kernel (24 zmm
// accumulators), 6x8 f64. CMakeLists.txt compiles this file alone with -mavx512f -mavx512bw -mavx512dq
// -mavx512vl -mavx2 -mfma; simd.h calls it only where the CPU (and OS) support all of them.
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512DQ__) && defined(__AVX512VL__) && \
    defined(__FMA__)
#define WSDOL_GEMM_LEVEL 2
#define WSDOL_GEMM_NS gemm_avx512
#include "kernels/cpu/gemm_impl.h"

namespace wsdol::cpu {
const GemmLevelKernels gemm_level_avx512{&gemm_avx512::gemm_f32, &gemm_avx512::gemm_f64,
                                      "f32 12x32 AVX-512 micro-kernel", "f64 6x8 AVX2+FMA micro-kernel (EVEX)"};
}  // namespace wsdol::cpu
#else
#include "kernels/cpu/gemm_level.h"
namespace wsdol::cpu {
const GemmLevelKernels gemm_level_avx512{nullptr, nullptr, nullptr, nullptr};  // not an x86 build with the target flags
}  // namespace wsdol::cpu
#endif
