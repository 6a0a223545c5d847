// strided.h — walking N-d strided operands on the CPU.
//
// `for_each_run` visits a logical index range [begin, end) of a shape (row-major order) as runs along the last
// dim: for each run it calls inner(offsets, count), where offsets[k] is operand k's element offset at the run's
// start; along the run operand k advances by strides[k][ndim-1]. Kernels loop over the run themselves, so the
// innermost loop is a plain strided (usually unit-stride) loop the compiler vectorizes.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

#include "engine/ops/registry.h"
#include "engine/tensor/tensor.h"

namespace wsdol::cpu {

// Merges adjacent dims that are laid out contiguously with each other in EVERY operand (stride[d-1] ==
// stride[d] * size[d]; stride-0 broadcast dims merge with each other too) and drops size-1 dims, so the runs
// along the last dim are as long as possible. All views share one shape; numel > 0.
template <size_t K>
void coalesce(const std::array<TensorView*, K>& v) {
    const int nd = v[0]->ndim;
    int m = 0;  // dims kept so far
    for (int d = 0; d < nd; ++d) {
        const int64_t size = v[0]->shape[d];
        if (size == 1) continue;
        bool merge = m > 0;
        for (size_t k = 0; k < K && merge; ++k) merge = v[k]->strides[m - 1] == v[k]->strides[d] * size;
        for (size_t k = 0; k < K; ++k) {
            if (merge) {
                v[k]->shape[m - 1] *= size;
                v[k]->strides[m - 1] = v[k]->strides[d];
            } else {
                v[k]->shape[m] = size;
                v[k]->strides[m] = v[k]->strides[d];
            }
        }
        if (!merge) ++m;
    }
    for (size_t k = 0; k < K; ++k) v[k]->ndim = m;
}

template <int K, typename Inner>
void for_each_run(int ndim, const int64_t* shape, const std::array<const int64_t*, K>& strides, int64_t begin,
                  int64_t end, Inner&& inner) {
    if (begin >= end) return;
    if (ndim == 0) {
        std::array<int64_t, K> offsets{};
        inner(offsets, int64_t(1));
        return;
    }
    const int64_t last = shape[ndim - 1];
    int64_t index[kMaxDims] = {};
    int64_t rest = begin;
    for (int d = ndim - 1; d >= 0; --d) {
        index[d] = rest % shape[d];
        rest /= shape[d];
    }
    int64_t pos = begin;
    while (pos < end) {
        std::array<int64_t, K> offsets{};
        for (int k = 0; k < K; ++k)
            for (int d = 0; d < ndim; ++d) offsets[k] += index[d] * strides[k][d];
        const int64_t count = std::min(last - index[ndim - 1], end - pos);
        inner(offsets, count);
        pos += count;
        index[ndim - 1] += count;
        for (int d = ndim - 1; d > 0 && index[d] >= shape[d]; --d) {
            index[d] = 0;
            ++index[d - 1];
        }
    }
}

}  // namespace wsdol::cpu
