// cmd_version.cpp — `wsdol version`: version and build options (CUDA, SIMD levels, OpenMP threads).
#include <cstdio>

#include "apps/cli.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/simd.h"

namespace {

// The SIMD level the non-dispatched code was compiled for (the build's baseline flags).
const char* baseline_simd_level() {
#if defined(__AVX512F__)
    return "AVX-512";
#elif defined(__AVX2__) && defined(__FMA__)
    return "AVX2+FMA";
#elif defined(__AVX2__)
    return "AVX2";
#elif defined(__SSE4_2__)
    return "SSE4.2";
#elif defined(__SSE2__)
    return "SSE2 (x86-64 baseline)";
#elif defined(__ARM_NEON)
    return "NEON";
#else
    return "scalar";
#endif
}

int run_version(const std::vector<std::string>& args) {
    wsdol::cli::Args parsed("version", args, {}, {});
    std::printf("wsdol %s (%s, %s build)\n", WSDOL_VERSION, WSDOL_GIT[0] ? WSDOL_GIT : "no git", WSDOL_BUILD_TYPE);
#if defined(WSDOL_WITH_CUDA)
    std::printf("CUDA: on\n");
#elif defined(WSDOL_CUDA_COMPILER_FOUND)
    std::printf("CUDA: off (nvcc found, but this version has no CUDA backend yet: CPU only)\n");
#else
    std::printf("CUDA: off (CPU-only build)\n");
#endif
    namespace cpu = wsdol::cpu;
    const cpu::SimdLevel level = cpu::simd_level();  // throws on a bad WSDOL_SIMD (the message names it)
    std::printf("SIMD kernels: %s (%s; detected %s)\n", cpu::simd_level_name(level),
                cpu::simd_level_forced() ? "forced by WSDOL_SIMD" : "chosen at run time, WSDOL_SIMD unset",
                cpu::simd_level_name(cpu::detected_simd_level()));
    std::printf("  %s\n", cpu::simd_kernels_description(level).c_str());
    std::printf("SIMD baseline (other kernels): %s (%s)\n", baseline_simd_level(),
                WSDOL_NATIVE_BUILD ? "-march=native build" : "portable build");
#ifdef _OPENMP
    std::printf("OpenMP: on, %d threads (OMP_NUM_THREADS)\n", wsdol::cpu::num_threads());
#else
    std::printf("OpenMP: off\n");
#endif
    return 0;
}

}  // namespace

WSDOL_COMMAND(wsdol::cli::Command{"version", "print the version and build options (CUDA, SIMD, OpenMP threads)",
                                  "usage: wsdol version\n\nPrints the version, git revision, build type, whether the "
                                  "CUDA backend is built in, the SIMD level of the run-time dispatched kernels (and "
                                  "their names; WSDOL_SIMD=avx512|avx2|scalar forces a level), the SIMD level the "
                                  "rest was compiled for, and the OpenMP thread count.\n\nexamples:\n"
                                  "  wsdol version\n"
                                  "  WSDOL_SIMD=scalar wsdol version",
                                  run_version});
