// gemm_scalar.cpp (CPU) — the GEMM (gemm_impl.h) at the portable level: plain C++ micro-kernels, a * b + c
// without FMA. Compiled without AVX (CMakeLists.txt), so it runs on any x86-64 CPU; the fallback of simd.h.
#define WSDOL_GEMM_LEVEL 0
#define WSDOL_GEMM_NS gemm_scalar
#include "kernels/cpu/gemm_impl.h"

namespace wsdol::cpu {
const GemmLevelKernels gemm_level_scalar{&gemm_scalar::gemm_f32, &gemm_scalar::gemm_f64,
                                      "f32 6x16 portable C++ micro-kernel (no FMA)",
                                      "f64 6x8 portable C++ micro-kernel (no FMA)"};
}  // namespace wsdol::cpu
