// parallel.cpp — thread-count control for the CPU backend.
#include "kernels/cpu/parallel.h"

namespace wsdol::cpu {

int num_threads() {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

void set_num_threads(int n) {
#ifdef _OPENMP
    if (n > 0) omp_set_num_threads(n);
#else
    (void)n;
#endif
}

}  // namespace wsdol::cpu
