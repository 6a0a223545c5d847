// parallel.h — how CPU kernels split work across OpenMP threads, deterministically.
//
// THE DETERMINISM RULE: results must be bit-identical for any thread count. So
//  - elementwise and independent-row work may split anywhere (each output element is computed by one thread
//    with a fixed order of operations);
//  - a reduction never lets the split depend on the thread count: it sums fixed-size blocks (kReduceBlock
//    elements, in order), then combines the block results in order on one thread.
#pragma once
#include <cstdint>
#include <algorithm>
#include <functional>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace wsdol::cpu {

constexpr int64_t kReduceBlock = 4096;  // elements per partial sum: fixed, so sums do not depend on threads
constexpr int64_t kGrain = 32768;       // below this many elements of work, run on one thread

constexpr int64_t kMaxThreads = 1024;  // the most threads set_num_threads accepts

int num_threads();
// n must be in 1..kMaxThreads (else wsdol::Error naming --threads and the range).
void set_num_threads(int64_t n);

// Calls fn(begin, end) over [0, n) in chunks; single-threaded when n * cost_per_item < kGrain.
template <typename Fn>
void parallel_for(int64_t n, int64_t cost_per_item, Fn&& fn) {
    if (n <= 0) return;
#ifdef _OPENMP
    if (n * cost_per_item >= kGrain && n > 1 && omp_get_max_threads() > 1 && !omp_in_parallel()) {
        const int threads = static_cast<int>(std::min<int64_t>(omp_get_max_threads(), n));
#pragma omp parallel num_threads(threads)
        {
            const int t = omp_get_thread_num();
            const int64_t chunk = (n + threads - 1) / threads;
            const int64_t begin = t * chunk;
            const int64_t end = std::min<int64_t>(n, begin + chunk);
            if (begin < end) fn(begin, end);
        }
        return;
    }
#endif
    fn(0, n);
}

}  // namespace wsdol::cpu
