// gemm.cpp (CPU) — C = alpha * op(A) @ op(B) + beta * C, batched, for f32 and f64.
//
// This is the plain reference kernel (i-k-j loop order, row-parallel); the blocked and packed SGEMM replaces it.
// Every C element is accumulated by one thread in a fixed k order, so results do not depend on thread count.
#include "engine/ops/linalg.h"
#include <algorithm>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace wsdol::cpu {
namespace {

template <typename T>
void gemm_reference(const GemmArgs& g) {
    const T* A = static_cast<const T*>(g.a);
    const T* B = static_cast<const T*>(g.b);
    T* C = static_cast<T*>(g.c);
    const T alpha = static_cast<T>(g.alpha), beta = static_cast<T>(g.beta);
    parallel_for(g.batch * g.m, g.n * g.k, [&](int64_t r0, int64_t r1) {
        std::vector<T> acc(g.n);
        for (int64_t r = r0; r < r1; ++r) {
            const int64_t b = r / g.m, i = r % g.m;
            const T* a = A + b * g.stride_a;
            const T* bm = B + b * g.stride_b;
            T* c = C + b * g.stride_c + i * g.ldc;
            std::fill(acc.begin(), acc.end(), T(0));
            for (int64_t p = 0; p < g.k; ++p) {
                const T av = g.trans_a ? a[p * g.lda + i] : a[i * g.lda + p];
                if (g.trans_b) {
                    for (int64_t j = 0; j < g.n; ++j) acc[j] += av * bm[j * g.ldb + p];
                } else {
                    const T* brow = bm + p * g.ldb;
                    for (int64_t j = 0; j < g.n; ++j) acc[j] += av * brow[j];
                }
            }
            for (int64_t j = 0; j < g.n; ++j) c[j] = alpha * acc[j] + (beta == T(0) ? T(0) : beta * c[j]);
        }
    });
}

}  // namespace

WSDOL_KERNEL("gemm", cpu, f32, GemmKernel, &gemm_reference<float>);
WSDOL_KERNEL("gemm", cpu, f64, GemmKernel, &gemm_reference<double>);

}  // namespace wsdol::cpu
