// reduce.cpp (CPU) — one reduction kernel for sum, max, min, argmax, argmin, logsumexp over any set of dims, and
// the cumsum kernel.
//
// Each output element walks its reduced sub-block in row-major order. Sums accumulate in double and are formed as
// the in-order sum of kReduceBlock-element partial sums (parallel.h's determinism rule): the same bits whether the
// work is split over outputs or over blocks of one output, for any thread count. Within a block, unit-stride runs
// use fixed interleaved accumulators (see partial_sum, lane_sum.h). logsumexp and cumsum compute
// each output on one thread in a fixed order, so they are thread-count independent too.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "engine/ops/reduce.h"
#include "kernels/cpu/lane_sum.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/strided.h"

namespace wsdol::cpu {
namespace {

struct Split {  // x's dims split into kept (outer) and reduced (inner) groups
    int kept_nd = 0, red_nd = 0;
    int64_t kept_shape[kMaxDims], kept_stride[kMaxDims], red_shape[kMaxDims], red_stride[kMaxDims];
    int64_t kept_numel = 1, red_numel = 1;
};

Split split_dims(const TensorView& x, const bool* reduce) {
    Split s;
    for (int d = 0; d < x.ndim; ++d) {
        if (reduce[d]) {
            s.red_shape[s.red_nd] = x.shape[d];
            s.red_stride[s.red_nd++] = x.strides[d];
            s.red_numel *= x.shape[d];
        } else {
            s.kept_shape[s.kept_nd] = x.shape[d];
            s.kept_stride[s.kept_nd++] = x.strides[d];
            s.kept_numel *= x.shape[d];
        }
    }
    return s;
}

int64_t kept_offset(const Split& s, int64_t o) {
    int64_t off = 0;
    for (int d = s.kept_nd - 1; d >= 0; --d) {
        off += (o % s.kept_shape[d]) * s.kept_stride[d];
        o /= s.kept_shape[d];
    }
    return off;
}

// Sum of reduced elements [begin, end) of the sub-block at `base`, in a fixed order: run by run (for_each_run's
// runs along the last reduced dim); a unit-stride run of at least 2 kLanes elements is summed by lane_sum
// (lane_sum.h: kLanes interleaved accumulators combined in a fixed tree, vectorizable without reassociation), any
// other run sequentially. The order depends only on the shape, strides and [begin, end), never on threads.

template <typename T>
double partial_sum(const T* base, const Split& s, int64_t begin, int64_t end) {
    double acc = 0.0;
    const int64_t inner = s.red_nd ? s.red_stride[s.red_nd - 1] : 1;
    for_each_run<1>(s.red_nd, s.red_shape, {s.red_stride}, begin, end, [&](auto off, int64_t n) {
        const T* p = base + off[0];
        if (inner == 1 && n >= 2 * kLanes) {
            acc += lane_sum(p, n);
        } else {
            for (int64_t i = 0; i < n; ++i) acc += static_cast<double>(p[i * inner]);
        }
    });
    return acc;
}

template <typename T>
double block_sum(const T* base, const Split& s) {
    double total = 0.0;
    for (int64_t b = 0; b < s.red_numel; b += kReduceBlock)
        total += partial_sum(base, s, b, std::min(s.red_numel, b + kReduceBlock));
    return total;
}

// Column sums: when the last kept dim has stride 1 and the reduced elements are NOT unit-stride (the Linear bias
// gradient: sum over rows of a (rows, out) gradient; any reduction over leading dims of a contiguous tensor),
// block_sum would walk each output's elements one at a time, `inner` apart. Here a tile of up to kColumns
// adjacent outputs walks the reduced elements together, adding whole contiguous row pieces into per-output
// double accumulators (a unit-stride, vectorizable loop). Per output it performs exactly block_sum's additions
// in block_sum's order — within a kReduceBlock block, 0 + x0 + x1 + ... in run order (partial_sum's sequential
// branch, the only one taken when inner != 1), then the block results added in order — so the bits are the same
// as before, only faster.
constexpr int64_t kColumns = 128;

bool column_sum_applies(const Split& s) {
    return s.kept_nd >= 1 && s.red_nd >= 1 && s.kept_stride[s.kept_nd - 1] == 1 && s.kept_shape[s.kept_nd - 1] >= 2 &&
           s.red_stride[s.red_nd - 1] != 1;
}

// out[o] for every output o (outputs are numbered row-major over the kept dims).
template <typename T>
void column_sums(const T* px, T* po, const Split& s) {
    const int64_t width = s.kept_shape[s.kept_nd - 1];
    const int64_t tiles_per_row = (width + kColumns - 1) / kColumns;
    const int64_t tiles = s.kept_numel / width * tiles_per_row;
    parallel_for(tiles, s.red_numel * std::min(width, kColumns), [&](int64_t t0, int64_t t1) {
        alignas(64) double partial[kColumns], total[kColumns];
        for (int64_t t = t0; t < t1; ++t) {
            const int64_t o0 = t / tiles_per_row * width + t % tiles_per_row * kColumns;
            const int64_t w = std::min(kColumns, width - t % tiles_per_row * kColumns);
            const T* base = px + kept_offset(s, o0);  // output o0 + j reads base[off + j]
            std::fill(total, total + w, 0.0);
            for (int64_t b = 0; b < s.red_numel; b += kReduceBlock) {
                std::fill(partial, partial + w, 0.0);
                const int64_t inner = s.red_stride[s.red_nd - 1];
                for_each_run<1>(s.red_nd, s.red_shape, {s.red_stride}, b, std::min(s.red_numel, b + kReduceBlock),
                                [&](auto off, int64_t n) {
                                    for (int64_t i = 0; i < n; ++i) {
                                        const T* row = base + off[0] + i * inner;
                                        for (int64_t j = 0; j < w; ++j) partial[j] += static_cast<double>(row[j]);
                                    }
                                });
                for (int64_t j = 0; j < w; ++j) total[j] += partial[j];
            }
            for (int64_t j = 0; j < w; ++j) po[o0 + j] = static_cast<T>(total[j]);
        }
    });
}

template <typename T>
void reduce_cpu(ReduceOp op, const TensorView& out, const TensorView& x, const bool* reduce) {
    const Split s = split_dims(x, reduce);
    const T* px = x.ptr<T>();
    if (op == ReduceOp::sum) {
        T* po = out.ptr<T>();
        if (s.kept_numel == 1 && s.red_numel > 2 * kReduceBlock) {  // one big sum: parallel over blocks
            const int64_t blocks = (s.red_numel + kReduceBlock - 1) / kReduceBlock;
            std::vector<double> partial(blocks);
            parallel_for(blocks, kReduceBlock, [&](int64_t b0, int64_t b1) {
                for (int64_t b = b0; b < b1; ++b)
                    partial[b] = partial_sum(px, s, b * kReduceBlock, std::min(s.red_numel, (b + 1) * kReduceBlock));
            });
            double total = 0.0;
            for (double p : partial) total += p;
            po[0] = static_cast<T>(total);
            return;
        }
        if (column_sum_applies(s)) return column_sums(px, po, s);
        parallel_for(s.kept_numel, s.red_numel, [&](int64_t o0, int64_t o1) {
            for (int64_t o = o0; o < o1; ++o) po[o] = static_cast<T>(block_sum(px + kept_offset(s, o), s));
        });
        return;
    }
    if (op == ReduceOp::logsumexp) {
        if constexpr (std::is_floating_point_v<T>) {
            T* po = out.ptr<T>();
            const int64_t inner = s.red_nd ? s.red_stride[s.red_nd - 1] : 1;
            parallel_for(s.kept_numel, 8 * s.red_numel, [&](int64_t o0, int64_t o1) {
                for (int64_t o = o0; o < o1; ++o) {
                    const T* base = px + kept_offset(s, o);
                    // Pass 1: the max (NaN wins). Shifting by it keeps exp() <= 1: no overflow, no total underflow.
                    double m = -std::numeric_limits<double>::infinity();
                    bool nan = false;
                    for_each_run<1>(s.red_nd, s.red_shape, {s.red_stride}, 0, s.red_numel, [&](auto off, int64_t n) {
                        const T* p = base + off[0];
                        for (int64_t i = 0; i < n; ++i) {
                            const double v = static_cast<double>(p[i * inner]);
                            nan = nan || v != v;
                            m = v > m ? v : m;
                        }
                    });
                    if (nan) {
                        po[o] = std::numeric_limits<T>::quiet_NaN();
                        continue;
                    }
                    // An infinite max is not subtracted (PyTorch): all -inf gives log(0) = -inf; +inf gives +inf.
                    const double shift = std::isinf(m) ? 0.0 : m;
                    double total = 0.0;
                    for_each_run<1>(s.red_nd, s.red_shape, {s.red_stride}, 0, s.red_numel, [&](auto off, int64_t n) {
                        const T* p = base + off[0];
                        for (int64_t i = 0; i < n; ++i) total += std::exp(static_cast<double>(p[i * inner]) - shift);
                    });
                    po[o] = static_cast<T>(std::log(total) + shift);
                }
            });
            return;
        } else {
            fail("logsumexp: integer tensors are not supported; cast to a floating dtype");
        }
    }
    // max / min / argmax / argmin: NaN wins (PyTorch), first index among ties.
    const bool want_max = op == ReduceOp::max || op == ReduceOp::argmax;
    const bool want_index = op == ReduceOp::argmax || op == ReduceOp::argmin;
    parallel_for(s.kept_numel, s.red_numel, [&](int64_t o0, int64_t o1) {
        for (int64_t o = o0; o < o1; ++o) {
            const T* base = px + kept_offset(s, o);
            T best = T(0);
            int64_t best_index = -1;
            int64_t pos = 0;
            bool found_nan = false;
            const int64_t inner = s.red_nd ? s.red_stride[s.red_nd - 1] : 1;
            for_each_run<1>(s.red_nd, s.red_shape, {s.red_stride}, 0, s.red_numel, [&](auto off, int64_t n) {
                const T* p = base + off[0];
                for (int64_t i = 0; i < n; ++i, ++pos) {
                    const T v = p[i * inner];
                    if (found_nan) continue;
                    if (v != v) { best = v; best_index = pos; found_nan = true; continue; }
                    if (best_index < 0 || (want_max ? v > best : v < best)) { best = v; best_index = pos; }
                }
            });
            if (want_index) out.ptr<int64_t>()[o] = best_index;
            else out.ptr<T>()[o] = best;
        }
    });
}

// Inclusive prefix sums of contiguous x viewed as (outer, L, inner) along L. Work items are (outer row, chunk of
// kChunk inner columns); each keeps one accumulator per column (double for floats, i64 for ints), so the inner
// loop is a unit-stride vectorizable loop and every output is summed in order j = 0..i by one thread.
template <typename T>
void cumsum_cpu(const TensorView& out, const TensorView& x, int dim) {
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
    constexpr int64_t kChunk = 256;
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < dim; ++d) outer *= x.shape[d];
    for (int d = dim + 1; d < x.ndim; ++d) inner *= x.shape[d];
    const int64_t L = x.shape[dim];
    const int64_t chunks = (inner + kChunk - 1) / kChunk;
    const T* px = x.ptr<T>();
    T* po = out.ptr<T>();
    parallel_for(outer * chunks, L * std::min(inner, kChunk), [&](int64_t w0, int64_t w1) {
        Acc acc[kChunk];
        for (int64_t w = w0; w < w1; ++w) {
            const int64_t o = w / chunks, k0 = (w % chunks) * kChunk, width = std::min(kChunk, inner - k0);
            for (int64_t k = 0; k < width; ++k) acc[k] = Acc(0);
            for (int64_t i = 0; i < L; ++i) {
                const int64_t row = (o * L + i) * inner + k0;
                const T* xr = px + row;
                T* orow = po + row;
                for (int64_t k = 0; k < width; ++k) {
                    acc[k] += static_cast<Acc>(xr[k]);
                    orow[k] = static_cast<T>(acc[k]);
                }
            }
        }
    });
}

}  // namespace

WSDOL_KERNEL("cumsum", cpu, f32, CumsumKernel, &cumsum_cpu<float>);
WSDOL_KERNEL("cumsum", cpu, f64, CumsumKernel, &cumsum_cpu<double>);
WSDOL_KERNEL("cumsum", cpu, i64, CumsumKernel, &cumsum_cpu<int64_t>);
WSDOL_KERNEL("reduce", cpu, f32, ReduceKernel, &reduce_cpu<float>);
WSDOL_KERNEL("reduce", cpu, f64, ReduceKernel, &reduce_cpu<double>);
WSDOL_KERNEL("reduce", cpu, i32, ReduceKernel, &reduce_cpu<int32_t>);
WSDOL_KERNEL("reduce", cpu, i64, ReduceKernel, &reduce_cpu<int64_t>);
WSDOL_KERNEL("reduce", cpu, u8, ReduceKernel, &reduce_cpu<uint8_t>);

}  // namespace wsdol::cpu
