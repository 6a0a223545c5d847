// copy_fill.cpp — CPU kernels for copy (with dtype conversion), fill and random fills.
#include <cmath>

#include "engine/core/rng.h"
#include "engine/tensor/tensor_kernels.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/scalar.h"
#include "kernels/cpu/strided.h"

namespace wsdol::cpu {
namespace {

// Both kernels first coalesce dims (strided.h), so that e.g. the copy of a permuted (N, C, H, W) view walks runs
// of H W elements rather than W.
template <typename Src>
void copy_cpu(const TensorView& dst_in, const TensorView& src_in) {
    if (dst_in.numel() == 0) return;
    TensorView dst = dst_in, src = src_in;
    coalesce<2>({&dst, &src});
    visit_dtype(dst.dtype, [&](auto dst_tag) {
        using Dst = decltype(dst_tag);
        const Src* s = src.ptr<Src>();
        Dst* d = dst.ptr<Dst>();
        parallel_for(dst.numel(), 1, [&](int64_t begin, int64_t end) {
            for_each_run<2>(dst.ndim, dst.shape, {dst.strides, src.strides}, begin, end, [&](auto off, int64_t n) {
                const int64_t ds = dst.ndim ? dst.strides[dst.ndim - 1] : 1;
                const int64_t ss = src.ndim ? src.strides[src.ndim - 1] : 1;
                Dst* dp = d + off[0];
                const Src* sp = s + off[1];
                if (ds == 1 && ss == 1) {
                    for (int64_t i = 0; i < n; ++i) dp[i] = convert<Dst>(sp[i]);
                } else {
                    for (int64_t i = 0; i < n; ++i) dp[i * ds] = convert<Dst>(sp[i * ss]);
                }
            });
        });
    });
}

template <typename T>
void fill_cpu(const TensorView& dst_in, double value) {
    if (dst_in.numel() == 0) return;
    TensorView dst = dst_in;
    coalesce<1>({&dst});
    const T v = from_double<T>(value);
    T* d = dst.ptr<T>();
    parallel_for(dst.numel(), 1, [&](int64_t begin, int64_t end) {
        for_each_run<1>(dst.ndim, dst.shape, {dst.strides}, begin, end, [&](auto off, int64_t n) {
            const int64_t ds = dst.ndim ? dst.strides[dst.ndim - 1] : 1;
            for (int64_t i = 0; i < n; ++i) d[off[0] + i * ds] = v;
        });
    });
}

template <typename T>
void random_cpu(const TensorView& dst, uint64_t seed, uint64_t first, RandomKind kind, double a, double b) {
    T* d = dst.ptr<T>();
    parallel_for(dst.numel(), 16, [&](int64_t begin, int64_t end) {
        // The counter depends on the logical index i, so walk indices directly.
        int64_t index[kMaxDims] = {};
        int64_t rest = begin;
        for (int dim = dst.ndim - 1; dim >= 0; --dim) {
            index[dim] = rest % dst.shape[dim];
            rest /= dst.shape[dim];
        }
        for (int64_t i = begin; i < end; ++i) {
            int64_t offset = 0;
            for (int dim = 0; dim < dst.ndim; ++dim) offset += index[dim] * dst.strides[dim];
            uint32_t w[4];
            Philox::draw(seed, first + static_cast<uint64_t>(i), w);
            double value;
            if (kind == RandomKind::uniform) {
                value = a + (b - a) * (dst.dtype == DType::f64 ? Philox::to_unit_f64(w[0], w[1]) : Philox::to_unit(w[0]));
                if (value >= b) value = a;  // guard the open upper bound after rounding
            } else if (kind == RandomKind::normal) {
                const double u1 = 1.0 - Philox::to_unit_f64(w[0], w[1]);
                const double u2 = Philox::to_unit_f64(w[2], w[3]);
                value = a + b * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
            } else {
                const uint64_t span = static_cast<uint64_t>(b - a);
                const uint64_t r = (static_cast<uint64_t>(w[0]) << 32) | w[1];
                value = a + static_cast<double>(r % (span ? span : 1));
            }
            d[offset] = from_double<T>(value);
            for (int dim = dst.ndim - 1; dim >= 0; --dim) {
                if (++index[dim] < dst.shape[dim]) break;
                index[dim] = 0;
            }
        }
    });
}

}  // namespace

WSDOL_KERNEL("copy", cpu, f32, CopyKernel, &copy_cpu<float>);
WSDOL_KERNEL("copy", cpu, f64, CopyKernel, &copy_cpu<double>);
WSDOL_KERNEL("copy", cpu, f16, CopyKernel, &copy_cpu<half_t>);
WSDOL_KERNEL("copy", cpu, bf16, CopyKernel, &copy_cpu<bfloat_t>);
WSDOL_KERNEL("copy", cpu, i32, CopyKernel, &copy_cpu<int32_t>);
WSDOL_KERNEL("copy", cpu, i64, CopyKernel, &copy_cpu<int64_t>);
WSDOL_KERNEL("copy", cpu, u8, CopyKernel, &copy_cpu<uint8_t>);
WSDOL_KERNEL("copy", cpu, boolean, CopyKernel, &copy_cpu<bool>);
WSDOL_KERNEL("fill", cpu, f32, FillKernel, &fill_cpu<float>);
WSDOL_KERNEL("fill", cpu, f64, FillKernel, &fill_cpu<double>);
WSDOL_KERNEL("fill", cpu, f16, FillKernel, &fill_cpu<half_t>);
WSDOL_KERNEL("fill", cpu, bf16, FillKernel, &fill_cpu<bfloat_t>);
WSDOL_KERNEL("fill", cpu, i32, FillKernel, &fill_cpu<int32_t>);
WSDOL_KERNEL("fill", cpu, i64, FillKernel, &fill_cpu<int64_t>);
WSDOL_KERNEL("fill", cpu, u8, FillKernel, &fill_cpu<uint8_t>);
WSDOL_KERNEL("fill", cpu, boolean, FillKernel, &fill_cpu<bool>);
WSDOL_KERNEL("random", cpu, f32, RandomKernel, &random_cpu<float>);
WSDOL_KERNEL("random", cpu, f64, RandomKernel, &random_cpu<double>);
WSDOL_KERNEL("random", cpu, f16, RandomKernel, &random_cpu<half_t>);
WSDOL_KERNEL("random", cpu, bf16, RandomKernel, &random_cpu<bfloat_t>);
WSDOL_KERNEL("random", cpu, i32, RandomKernel, &random_cpu<int32_t>);
WSDOL_KERNEL("random", cpu, i64, RandomKernel, &random_cpu<int64_t>);
WSDOL_KERNEL("random", cpu, u8, RandomKernel, &random_cpu<uint8_t>);

}  // namespace wsdol::cpu
