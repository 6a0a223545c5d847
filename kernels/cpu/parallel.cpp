// parallel.cpp — thread-count control for the CPU backend.
#include "kernels/cpu/parallel.h"

#include "engine/core/error.h"

namespace wsdol::cpu {

int num_threads() {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

void set_num_threads(int64_t n) {
    // The OpenMP runtime crashes (SIGSEGV) creating 100,000 threads; far fewer are useful on any machine.
    WSDOL_CHECK(n >= 1 && n <= kMaxThreads, "--threads (the thread count) must be in 1..", kMaxThreads, ", got ", n);
#ifdef _OPENMP
    omp_set_num_threads(static_cast<int>(n));
#endif
}

}  // namespace wsdol::cpu
