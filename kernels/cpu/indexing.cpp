// indexing.cpp (CPU) — the gather, scatter, masked_fill and sort kernels (interfaces in engine/ops/indexing.h).
//
// Indices arrive range-checked. Determinism: gather and masked_fill write each output element from one thread;
// scatter splits only across slices along `dim` (disjoint targets) and walks each slice in increasing order
// along dim, so repeated targets accumulate in the same order for any thread count; sort works per slice.
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "engine/ops/indexing.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/scalar.h"
#include "kernels/cpu/strided.h"

namespace wsdol::cpu {
namespace {

// ---------------------------------------------------------------- gather

template <typename T>
void gather_cpu(const TensorView& out, const TensorView& x, const TensorView& index, int dim) {
    // Walk out's shape; x's walk strides skip `dim` (its coordinate comes from the index instead).
    const int nd = out.ndim;
    int64_t x_walk[kMaxDims];
    for (int d = 0; d < nd; ++d) x_walk[d] = d == dim ? 0 : x.strides[d];
    const int64_t x_dim_stride = x.strides[dim];
    const int64_t so = out.strides[nd - 1], sx = x_walk[nd - 1], si = index.strides[nd - 1];
    T* po = out.ptr<T>();
    const T* px = x.ptr<T>();
    const int64_t* pi = index.ptr<int64_t>();
    parallel_for(out.numel(), 2, [&](int64_t begin, int64_t end) {
        for_each_run<3>(nd, out.shape, {out.strides, x_walk, index.strides}, begin, end, [&](auto off, int64_t n) {
            T* o = po + off[0];
            const T* xs = px + off[1];
            const int64_t* ix = pi + off[2];
            for (int64_t k = 0; k < n; ++k) o[k * so] = xs[k * sx + ix[k * si] * x_dim_stride];
        });
    });
}

// ---------------------------------------------------------------- scatter / scatter_add

template <typename T>
inline void scatter_update(ScatterMode mode, T& dst, T v) {
    if (mode == ScatterMode::assign) dst = v;
    else if constexpr (std::is_same_v<T, bool>) dst = dst || v;
    else dst = static_cast<T>(dst + v);
}

template <typename T>
void scatter_cpu(ScatterMode mode, const TensorView& out, const TensorView& index, const TensorView& src, int dim) {
    // The slices along `dim`: walk index's shape with dim's extent set to 1; each slice then runs j = 0..n-1.
    const int nd = index.ndim;
    int64_t walk_shape[kMaxDims], out_walk[kMaxDims];
    int64_t slices = 1;
    for (int d = 0; d < nd; ++d) {
        walk_shape[d] = d == dim ? 1 : index.shape[d];
        out_walk[d] = d == dim ? 0 : out.strides[d];
        slices *= walk_shape[d];
    }
    const int64_t n = index.shape[dim];
    const int64_t out_dim = out.strides[dim], index_dim = index.strides[dim], src_dim = src.strides[dim];
    const int64_t so = out_walk[nd - 1], si = index.strides[nd - 1], ss = src.strides[nd - 1];
    T* po = out.ptr<T>();
    const int64_t* pi = index.ptr<int64_t>();
    const T* ps = src.ptr<T>();
    const std::array<const int64_t*, 3> walk_strides{out_walk, index.strides, src.strides};
    if (dim == nd - 1) {
        // Slices run along the last dim: each walk run is one slice; loop over it in order.
        parallel_for(slices, n, [&](int64_t begin, int64_t end) {
            for_each_run<3>(nd, walk_shape, walk_strides, begin, end, [&](auto off, int64_t) {
                T* o = po + off[0];
                const int64_t* ix = pi + off[1];
                const T* sv = ps + off[2];
                for (int64_t j = 0; j < n; ++j) scatter_update(mode, o[ix[j * index_dim] * out_dim], sv[j * src_dim]);
            });
        });
        return;
    }
    // Slices across the last dim: take blocks of neighbouring slices and run the j loop outside, so the innermost
    // loop walks along the last dim (unit stride for contiguous operands). Each slice still sees j in order.
    constexpr int64_t kBlock = 256;
    const int64_t blocks = (slices + kBlock - 1) / kBlock;
    parallel_for(blocks, kBlock * n, [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b) {
            const int64_t s0 = b * kBlock, s1 = std::min(slices, s0 + kBlock);
            for (int64_t j = 0; j < n; ++j) {
                for_each_run<3>(nd, walk_shape, walk_strides, s0, s1, [&](auto off, int64_t count) {
                    T* o = po + off[0];
                    const int64_t* ix = pi + off[1] + j * index_dim;
                    const T* sv = ps + off[2] + j * src_dim;
                    for (int64_t k = 0; k < count; ++k)
                        scatter_update(mode, o[k * so + ix[k * si] * out_dim], sv[k * ss]);
                });
            }
        }
    });
}

// ---------------------------------------------------------------- masked_fill

template <typename T>
void masked_fill_cpu(const TensorView& out, const TensorView& x, const TensorView& mask, double value) {
    const T v = from_double<T>(value);
    const int nd = out.ndim;
    const int64_t so = out.strides[nd - 1], sx = x.strides[nd - 1], sm = mask.strides[nd - 1];
    T* po = out.ptr<T>();
    const T* px = x.ptr<T>();
    const bool* pm = mask.ptr<bool>();
    parallel_for(out.numel(), 1, [&](int64_t begin, int64_t end) {
        for_each_run<3>(nd, out.shape, {out.strides, x.strides, mask.strides}, begin, end, [&](auto off, int64_t n) {
            T* o = po + off[0];
            const T* xs = px + off[1];
            const bool* ms = pm + off[2];
            for (int64_t k = 0; k < n; ++k) o[k * so] = ms[k * sm] ? v : xs[k * sx];
        });
    });
}

// ---------------------------------------------------------------- sort / topk

// a < b with NaN above every number (PyTorch's sort order); NaNs compare equal to each other.
template <typename T> inline bool nan_last_less(T a, T b) { return a < b || (a == a && b != b); }

template <typename T>
void sort_cpu(const TensorView& values, const TensorView& indices, const TensorView& x, int dim, bool descending) {
    const int nd = x.ndim;
    const int64_t n = x.shape[dim], k = values.shape[dim];
    int64_t walk_shape[kMaxDims];
    int64_t slices = 1;
    for (int d = 0; d < nd; ++d) {
        walk_shape[d] = d == dim ? 1 : x.shape[d];
        slices *= walk_shape[d];
    }
    const int64_t xd = x.strides[dim], vd = values.strides[dim], id = indices.strides[dim];
    const int64_t xl = x.strides[nd - 1], vl = values.strides[nd - 1], il = indices.strides[nd - 1];
    const T* px = x.ptr<T>();
    T* pv = values.ptr<T>();
    int64_t* pi = indices.ptr<int64_t>();
    const int64_t cost = n * (1 + static_cast<int64_t>(std::log2(static_cast<double>(n) + 1)));
    parallel_for(slices, cost, [&](int64_t begin, int64_t end) {
        std::vector<T> buf(n);
        std::vector<int64_t> order(n);
        // A total order: by value (NaN largest), then by source index, so any sort gives the stable order.
        auto before = [&](int64_t a, int64_t b) {
            const T va = buf[a], vb = buf[b];
            if (descending ? nan_last_less(vb, va) : nan_last_less(va, vb)) return true;
            if (descending ? nan_last_less(va, vb) : nan_last_less(vb, va)) return false;
            return a < b;
        };
        for_each_run<3>(nd, walk_shape, {x.strides, values.strides, indices.strides}, begin, end,
                        [&](auto off, int64_t count) {
            for (int64_t c = 0; c < count; ++c) {
                const T* xs = px + off[0] + c * xl;
                for (int64_t j = 0; j < n; ++j) {
                    buf[j] = xs[j * xd];
                    order[j] = j;
                }
                if (k == n) std::sort(order.begin(), order.end(), before);
                else std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
                T* vs = pv + off[1] + c * vl;
                int64_t* is = pi + off[2] + c * il;
                for (int64_t j = 0; j < k; ++j) {
                    vs[j * vd] = buf[order[j]];
                    is[j * id] = order[j];
                }
            }
        });
    });
}

}  // namespace

// gather and scatter move elements of any type (scatter_add on bool is a logical or, as in PyTorch).
WSDOL_KERNEL("gather", cpu, f32, GatherKernel, &gather_cpu<float>);
WSDOL_KERNEL("gather", cpu, f64, GatherKernel, &gather_cpu<double>);
WSDOL_KERNEL("gather", cpu, i32, GatherKernel, &gather_cpu<int32_t>);
WSDOL_KERNEL("gather", cpu, i64, GatherKernel, &gather_cpu<int64_t>);
WSDOL_KERNEL("gather", cpu, u8, GatherKernel, &gather_cpu<uint8_t>);
WSDOL_KERNEL("gather", cpu, boolean, GatherKernel, &gather_cpu<bool>);
WSDOL_KERNEL("scatter", cpu, f32, ScatterKernel, &scatter_cpu<float>);
WSDOL_KERNEL("scatter", cpu, f64, ScatterKernel, &scatter_cpu<double>);
WSDOL_KERNEL("scatter", cpu, i32, ScatterKernel, &scatter_cpu<int32_t>);
WSDOL_KERNEL("scatter", cpu, i64, ScatterKernel, &scatter_cpu<int64_t>);
WSDOL_KERNEL("scatter", cpu, u8, ScatterKernel, &scatter_cpu<uint8_t>);
WSDOL_KERNEL("scatter", cpu, boolean, ScatterKernel, &scatter_cpu<bool>);
WSDOL_KERNEL("masked_fill", cpu, f32, MaskedFillKernel, &masked_fill_cpu<float>);
WSDOL_KERNEL("masked_fill", cpu, f64, MaskedFillKernel, &masked_fill_cpu<double>);
WSDOL_KERNEL("masked_fill", cpu, i32, MaskedFillKernel, &masked_fill_cpu<int32_t>);
WSDOL_KERNEL("masked_fill", cpu, i64, MaskedFillKernel, &masked_fill_cpu<int64_t>);
WSDOL_KERNEL("masked_fill", cpu, u8, MaskedFillKernel, &masked_fill_cpu<uint8_t>);
WSDOL_KERNEL("masked_fill", cpu, boolean, MaskedFillKernel, &masked_fill_cpu<bool>);
WSDOL_KERNEL("sort", cpu, f32, SortKernel, &sort_cpu<float>);
WSDOL_KERNEL("sort", cpu, f64, SortKernel, &sort_cpu<double>);
WSDOL_KERNEL("sort", cpu, i32, SortKernel, &sort_cpu<int32_t>);
WSDOL_KERNEL("sort", cpu, i64, SortKernel, &sort_cpu<int64_t>);
WSDOL_KERNEL("sort", cpu, u8, SortKernel, &sort_cpu<uint8_t>);

}  // namespace wsdol::cpu
