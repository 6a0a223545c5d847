// random_ops.cpp (CPU) — the dropout mask kernel (the mask rule in engine/ops/random_ops.h).
#include "engine/core/rng.h"
#include "engine/ops/random_ops.h"
#include "kernels/cpu/parallel.h"

namespace wsdol::cpu {
namespace {

template <typename T>
void dropout_mask_cpu(const TensorView& mask, uint64_t seed, uint64_t first, double p, double scale) {
    const T keep_value = static_cast<T>(scale);
    T* d = mask.ptr<T>();
    const int nd = mask.ndim;
    parallel_for(mask.numel(), 16, [&](int64_t begin, int64_t end) {
        // The counter is the logical index i; the element's address follows the (possibly strided) layout.
        int64_t index[kMaxDims] = {};
        int64_t rest = begin;
        for (int dim = nd - 1; dim >= 0; --dim) {
            index[dim] = rest % mask.shape[dim];
            rest /= mask.shape[dim];
        }
        for (int64_t i = begin; i < end; ++i) {
            int64_t offset = 0;
            for (int dim = 0; dim < nd; ++dim) offset += index[dim] * mask.strides[dim];
            uint32_t w[4];
            Philox::draw(seed, first + static_cast<uint64_t>(i), w);
            const bool keep = static_cast<double>(Philox::to_unit(w[0])) >= p;
            d[offset] = keep ? keep_value : T(0);
            for (int dim = nd - 1; dim >= 0; --dim) {
                if (++index[dim] < mask.shape[dim]) break;
                index[dim] = 0;
            }
        }
    });
}

}  // namespace

WSDOL_KERNEL("dropout_mask", cpu, f32, DropoutMaskKernel, &dropout_mask_cpu<float>);
WSDOL_KERNEL("dropout_mask", cpu, f64, DropoutMaskKernel, &dropout_mask_cpu<double>);

}  // namespace wsdol::cpu
