// linalg.h — matrix products. All lean on one SGEMM/DGEMM kernel ("gemm"), blocked and packed on the CPU.
#pragma once
#include "engine/ops/registry.h"
#include "engine/tensor/tensor.h"

namespace wsdol {

// a: (..., M, K), b: (..., K, N) -> (..., M, N); batch dims broadcast. 1-D operands follow torch.matmul
// (a vector is promoted to a row / column and the added dim removed).
Tensor matmul(const Tensor& a, const Tensor& b);
// a: (B, M, K), b: (B, K, N) -> (B, M, N); no broadcasting.
Tensor bmm(const Tensor& a, const Tensor& b);
// x: (..., in), weight: (out, in), bias: (out) or undefined -> (..., out). PyTorch's F.linear.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// ---- kernel interface ----
// C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b] for b in [0, batch), row-major matrices with leading dims
// lda/ldb/ldc and batch strides (elements; 0 repeats a matrix). op(X) = X^T when trans_X. Keyed by dtype
// (f32, f64). beta = 0 ignores C's prior contents (NaNs included); alpha = 0 reads neither A nor B (as BLAS).
// Result bits do not depend on thread count (kernels/cpu/gemm_microkernel.h states the arithmetic).
struct GemmArgs {
    bool trans_a = false, trans_b = false;
    int64_t m = 0, n = 0, k = 0;
    const void* a = nullptr; int64_t lda = 0; int64_t stride_a = 0;
    const void* b = nullptr; int64_t ldb = 0; int64_t stride_b = 0;
    void* c = nullptr; int64_t ldc = 0; int64_t stride_c = 0;
    int64_t batch = 1;
    double alpha = 1.0, beta = 0.0;
};
using GemmKernel = void(const GemmArgs& args);

}  // namespace wsdol
