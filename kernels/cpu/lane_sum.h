// lane_sum.h — deterministic, vectorizable double accumulation of a contiguous run, shared by the CPU kernels
// (norm.cpp, softmax.cpp, reduce.cpp).
//
// THE DETERMINISM RULE (parallel.h) applied inside one run: a run of n elements is summed in kLanes independent
// double accumulators, element j going to lane j % kLanes (the tail too), and the lanes are combined in ONE fixed
// tree, combine_lanes(). The order of every addition therefore depends only on n, never on threads or on what the
// compiler does: we build without -ffast-math and with -ffp-contract=off, so the compiler may vectorize the lanes
// (they are independent) but cannot reassociate or fuse them. Changing kLanes or the tree changes result bits.
#pragma once
#include <cstdint>

namespace wsdol::cpu {

constexpr int kLanes = 8;

// The fixed combination tree of the kLanes accumulators.
inline double combine_lanes(const double* acc) {
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// sum p[0..n) in double. p: (n) contiguous, any arithmetic type.
template <typename T>
double lane_sum(const T* p, int64_t n) {
    double acc[kLanes] = {};
    int64_t j = 0;
    for (; j + kLanes <= n; j += kLanes)
        for (int k = 0; k < kLanes; ++k) acc[k] += static_cast<double>(p[j + k]);
    for (int k = 0; j < n; ++j, ++k) acc[k] += static_cast<double>(p[j]);
    return combine_lanes(acc);
}

// sum a[j] * b[j] over [0, n) in double (each product formed in double). a, b: (n) contiguous.
template <typename T>
double lane_dot(const T* a, const T* b, int64_t n) {
    double acc[kLanes] = {};
    int64_t j = 0;
    for (; j + kLanes <= n; j += kLanes)
        for (int k = 0; k < kLanes; ++k) acc[k] += static_cast<double>(a[j + k]) * static_cast<double>(b[j + k]);
    for (int k = 0; j < n; ++j, ++k) acc[k] += static_cast<double>(a[j]) * static_cast<double>(b[j]);
    return combine_lanes(acc);
}

}  // namespace wsdol::cpu
