// gemm.cpp (CPU) — the "gemm" kernel behind matmul, bmm and linear (engine/ops/linalg.h): C = alpha * op(A) @
// op(B) + beta * C, batched, f32 and f64. It forwards each call to the GEMM build of the SIMD level in use
// (simd.h: chosen once from the CPU, or forced by WSDOL_SIMD). The GEMM itself — packing, blocking, threading,
// micro-kernels — is gemm_impl.h, compiled once per level by gemm_scalar.cpp, gemm_avx2.cpp, gemm_avx512.cpp.
#include <new>

#include "engine/ops/linalg.h"
#include "kernels/cpu/gemm_level.h"
#include "kernels/cpu/simd.h"

namespace wsdol::cpu {
namespace {

const GemmLevelKernels& kernels_for(SimdLevel level) {
    // simd_level() only returns levels that are compiled in (f32 != nullptr) and supported by the CPU.
    return level == SimdLevel::avx512 ? gemm_level_avx512 : level == SimdLevel::avx2 ? gemm_level_avx2
                                                                                     : gemm_level_scalar;
}

GemmCall to_call(const GemmArgs& g) {
    GemmCall c;
    c.trans_a = g.trans_a; c.trans_b = g.trans_b;
    c.m = g.m; c.n = g.n; c.k = g.k;
    c.a = g.a; c.lda = g.lda; c.stride_a = g.stride_a;
    c.b = g.b; c.ldb = g.ldb; c.stride_b = g.stride_b;
    c.c = g.c; c.ldc = g.ldc; c.stride_c = g.stride_c;
    c.batch = g.batch;
    c.alpha = g.alpha; c.beta = g.beta;
    return c;
}

template <bool F32>
void gemm_dispatch(const GemmArgs& g) {
    const GemmLevelKernels& k = kernels_for(simd_level());
    try {
        (F32 ? k.f32 : k.f64)(to_call(g));
    } catch (const std::bad_alloc&) {
        fail(str("gemm: out of memory for the packing buffers of a ", g.m, "x", g.k, " @ ", g.k, "x", g.n,
                 " product"));
    }
}

}  // namespace

WSDOL_KERNEL("gemm", cpu, f32, GemmKernel, &gemm_dispatch<true>);
WSDOL_KERNEL("gemm", cpu, f64, GemmKernel, &gemm_dispatch<false>);

}  // namespace wsdol::cpu
