// cmd_version.cpp — `wsdol version`: version and build options (CUDA, SIMD level, OpenMP threads).
#include <cstdio>

#include "apps/cli.h"
#include "kernels/cpu/parallel.h"

namespace {

const char* simd_level() {
#if defined(__AVX512F__)
    return "AVX-512";
#elif defined(__AVX2__) && defined(__FMA__)
    return "AVX2+FMA";
#elif defined(__AVX2__)
    return "AVX2";
#elif defined(__SSE4_2__)
    return "SSE4.2";
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
    std::printf("SIMD: %s\n", simd_level());
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
                                  "CUDA backend is built in, the CPU SIMD level compiled for, and the OpenMP thread count.",
                                  run_version});
