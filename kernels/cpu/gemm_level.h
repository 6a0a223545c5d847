// gemm_level.h (CPU) — the seam between the GEMM dispatcher (gemm.cpp) and the GEMM builds per SIMD level
// (gemm_scalar.cpp, gemm_avx2.cpp, gemm_avx512.cpp: the driver gemm_impl.h compiled once per level, each with
// its own target flags, see CMakeLists.txt).
//
// This header includes nothing but <cstdint> on purpose: every inline function a level file pulls in from a
// header is compiled with that file's target flags, and the linker keeps ONE copy of each inline function for
// the whole program — possibly the AVX-512 one, which would then run (and fault) on an AVX2 machine. So the
// level files see only this plain struct and their own code, all of it in level-named namespaces.
#pragma once
#include <cstdint>

namespace wsdol::cpu {

// The arguments of one (batched) GEMM call: GemmArgs (engine/ops/linalg.h) field by field.
struct GemmCall {
    bool trans_a = false, trans_b = false;
    int64_t m = 0, n = 0, k = 0;
    const void* a = nullptr; int64_t lda = 0; int64_t stride_a = 0;
    const void* b = nullptr; int64_t ldb = 0; int64_t stride_b = 0;
    void* c = nullptr; int64_t ldc = 0; int64_t stride_c = 0;
    int64_t batch = 1;
    double alpha = 1.0, beta = 0.0;
};

// One level's GEMM entry points and the names `wsdol version` prints. The entry points throw std::bad_alloc
// when a packing buffer cannot be allocated (gemm.cpp turns it into a wsdol::Error).
struct GemmLevelKernels {
    void (*f32)(const GemmCall&);
    void (*f64)(const GemmCall&);
    const char* f32_name;  // e.g. "f32 12x32 AVX-512 micro-kernel"
    const char* f64_name;
};

// One table per level, defined in that level's file. Plain constant data, not functions: code in a level file is
// compiled for that level and must not run before the CPU is known to support it. f32 == nullptr: the level was
// not compiled in (non-x86 target, or a compiler without the target flags).
extern const GemmLevelKernels gemm_level_scalar;
extern const GemmLevelKernels gemm_level_avx2;
extern const GemmLevelKernels gemm_level_avx512;

}  // namespace wsdol::cpu
