// gemm_impl.h (CPU) — C = alpha * op(A) @ op(B) + beta * C, batched, for f32 and f64: the GEMM behind the
// "gemm" kernel (gemm.cpp, which dispatches to a SIMD level). This file is compiled once per level: the level
// file defines WSDOL_GEMM_LEVEL (0 scalar, 1 AVX2+FMA, 2 AVX-512) and WSDOL_GEMM_NS (the namespace that keeps
// each level's copy apart), then includes it; it exports WSDOL_GEMM_NS::gemm_f32 / gemm_f64 (gemm_level.h).
// Blocking and micro-kernels per level: gemm_microkernel.h.
//
// Structure (GotoBLAS / BLIS), per thread on its own rectangle of C (see gemm_packed_team):
//   for jc over N in NC columns:
//     for pc over K in fixed k-chunks:                B block  (kc x nc) packed, kept in L3
//       for ic over M in MC rows:                     A block  (mc x kc) packed, kept in L2
//         for jr over nc in NR columns:               one packed B micro-panel stays in L1
//           for ir over mc in MR rows:                micro-kernel: MR x NR tile in registers (gemm_microkernel.h)
// Tiny problems and row vectors (M <= 2) skip packing ("direct" path); batches of small matrices run one matrix
// per thread; a batch whose B is shared (stride 0) and whose A/C rows are contiguous is folded into one tall
// matrix.
//
// DETERMINISM. Every C element is computed by one thread with the arithmetic rule of gemm_microkernel.h: the
// k-chunk boundaries depend only on K and every path (packed tile, edge tile, direct loop) performs the same
// operations in the same order. Threads only choose WHICH C blocks they compute, so results are bit-identical
// for any thread count, and also identical between the direct and packed paths and between batched and folded
// calls. Between levels: AVX2 and AVX-512 perform the same fused multiply-adds in the same order with the same
// k-chunks (KC is the same at both levels), so they give the same bits; the scalar level rounds a * b + c twice.
//
// Only gemm_level.h, parallel.h (its one template is instantiated here with this file's own lambdas) and
// standard headers are included (see gemm_level.h for why).
#if !defined(WSDOL_GEMM_LEVEL) || !defined(WSDOL_GEMM_NS)
#error "gemm_impl.h is included by gemm_scalar.cpp / gemm_avx2.cpp / gemm_avx512.cpp only"
#endif
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <type_traits>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/cpu/gemm_level.h"
#include "kernels/cpu/gemm_microkernel.h"
#include "kernels/cpu/gemm_pack.h"
#include "kernels/cpu/parallel.h"

namespace wsdol::cpu::WSDOL_GEMM_NS {
namespace {

// One matrix of the batch (pointers already offset by the batch index) plus the shared problem description.
template <typename T>
struct Problem {
    bool trans_a, trans_b;
    int64_t m, n, k;
    const T* a; int64_t lda;
    const T* b; int64_t ldb;
    T* c; int64_t ldc;
    T alpha, beta;
    T op_a(int64_t i, int64_t p) const { return trans_a ? a[p * lda + i] : a[i * lda + p]; }
};

// The k-chunk length: K cut into ceil(K / KC) near-equal chunks. A function of K alone (never of threads).
template <typename T>
int64_t k_chunk(int64_t K) {
    const int64_t chunks = (K + Blocking<T>::KC - 1) / Blocking<T>::KC;
    return (K + chunks - 1) / chunks;
}

// A grow-only, 64-byte-aligned scratch buffer. Each thread keeps its own (thread_local), so packing never
// allocates in steady state and concurrent gemm calls never share scratch.
struct ScratchBuffer {
    void* data = nullptr;
    size_t bytes = 0;
    void* get(size_t need) {
        if (need > bytes) {
            std::free(data);
            bytes = 0;
            const size_t rounded = (need + 63) / 64 * 64;
            data = std::aligned_alloc(64, rounded);
            if (data == nullptr) throw std::bad_alloc();  // gemm.cpp reports it as a wsdol::Error
            bytes = rounded;
        }
        return data;
    }
    ~ScratchBuffer() { std::free(data); }
};
template <typename T>
T* scratch_a(size_t elems) {
    thread_local ScratchBuffer buf;
    return static_cast<T*>(buf.get(elems * sizeof(T)));
}
template <typename T>
T* scratch_b(size_t elems) {
    thread_local ScratchBuffer buf;
    return static_cast<T*>(buf.get(elems * sizeof(T)));
}

// Runs body(i) for i in [0, n) split in contiguous chunks over `team` threads. An exception (only a failed
// scratch allocation can throw here) must not escape an OpenMP region, so it is carried out and rethrown on the
// calling thread.
template <typename Body>
void team_for(int64_t n, int team, Body&& body) {
    std::exception_ptr error;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(team)
#endif
    for (int64_t i = 0; i < n; ++i) {
        try {
            body(i);
        } catch (...) {
#ifdef _OPENMP
#pragma omp critical(wsdol_gemm_error)
#endif
            if (!error) error = std::current_exception();
        }
    }
    if (error) std::rethrow_exception(error);
}

// ---------------------------------------------------------------------------------------------------------------
// Packing (layout and fast paths in gemm_pack.h).

// op(A)[i0 : i0+mc, p0 : p0+kc] -> MR-row panels.
template <typename T>
void pack_a(const Problem<T>& pr, int64_t i0, int64_t mc, int64_t p0, int64_t kc, T* dst) {
    const T* src = pr.trans_a ? pr.a + p0 * pr.lda + i0 : pr.a + i0 * pr.lda + p0;
    pack_panels<T, Blocking<T>::MR>(src, pr.lda, !pr.trans_a, mc, kc, dst);
}

// op(B)[p0 : p0+kc, j0 : j0+nc] -> NR-column panels.
template <typename T>
void pack_b(const Problem<T>& pr, int64_t p0, int64_t kc, int64_t j0, int64_t nc, T* dst) {
    const T* src = pr.trans_b ? pr.b + j0 * pr.ldb + p0 : pr.b + p0 * pr.ldb + j0;
    pack_panels<T, Blocking<T>::NR>(src, pr.ldb, pr.trans_b, nc, kc, dst);
}

// ---------------------------------------------------------------------------------------------------------------
// The packed path for one matrix on the calling thread.

// At or below this many columns of C, f32 A is read in place rather than packed: each A element then feeds at
// most 4 column panels, too few uses to repay the copy (attention's p @ v has N = head dim = 64).
constexpr int64_t kUnpackedAMaxN = 64;

template <typename T>
void gemm_packed(const Problem<T>& pr) {
    constexpr int MR = Blocking<T>::MR, NR = Blocking<T>::NR;
    constexpr int64_t MC = Blocking<T>::MC, NC = Blocking<T>::NC;
    const int64_t kcl = k_chunk<T>(pr.k);
    const int64_t nc_max = std::min<int64_t>(NC, (pr.n + NR - 1) / NR * NR);
    T* packed_b = scratch_b<T>(static_cast<size_t>(kcl * nc_max + kPackSlack));
    T* packed_a = scratch_a<T>(static_cast<size_t>(std::min<int64_t>(MC, (pr.m + MR - 1) / MR * MR) * kcl + kPackSlack));
    for (int64_t jc = 0; jc < pr.n; jc += NC) {
        const int64_t nc = std::min(NC, pr.n - jc);
        for (int64_t pc = 0; pc < pr.k; pc += kcl) {
            const int64_t kc = std::min(kcl, pr.k - pc);
            const T beta_eff = pc == 0 ? pr.beta : T(1);  // later k-chunks accumulate into C
            pack_b(pr, pc, kc, jc, nc, packed_b);
            for (int64_t ic = 0; ic < pr.m; ic += MC) {
                const int64_t mc = std::min(MC, pr.m - ic);
#if WSDOL_GEMM_LEVEL == 1
                if constexpr (std::is_same_v<T, float>) {
                    if (pr.n <= kUnpackedAMaxN) {  // read A in place (see microkernel_f32_avx2_unpacked_a)
                        const int64_t rs = pr.trans_a ? 1 : pr.lda, cs = pr.trans_a ? pr.lda : 1;
                        for (int64_t jr = 0; jr < nc; jr += NR) {
                            const int nr = static_cast<int>(std::min<int64_t>(NR, nc - jr));
                            for (int64_t ir = 0; ir < mc; ir += MR) {
                                const int mr = static_cast<int>(std::min<int64_t>(MR, mc - ir));
                                microkernel_f32_avx2_unpacked_a(kc, pr.a + (ic + ir) * rs + pc * cs, rs, cs,
                                                                packed_b + jr * kc, pr.c + (ic + ir) * pr.ldc + jc + jr,
                                                                pr.ldc, pr.alpha, beta_eff, mr, nr);
                            }
                        }
                        continue;
                    }
                }
#endif
                pack_a(pr, ic, mc, pc, kc, packed_a);
                for (int64_t jr = 0; jr < nc; jr += NR) {
                    const int nr = static_cast<int>(std::min<int64_t>(NR, nc - jr));
                    const T* bp = packed_b + jr * kc;
                    T* c = pr.c + ic * pr.ldc + jc + jr;
                    for (int64_t ir = 0; ir < mc; ir += MR) {
                        const int mr = static_cast<int>(std::min<int64_t>(MR, mc - ir));
                        microkernel(kc, packed_a + ir * kc, bp, c + ir * pr.ldc, pr.ldc, pr.alpha, beta_eff, mr, nr);
                    }
                }
            }
        }
    }
}

// Picks a tm x tn grid (tm row groups, tn column groups, tm * tn == team) that balances the MR x NR tiles; among
// the grids within 10% of the best balance, the one that packs the fewest elements: each row group packs all of
// its B columns (tm * N per k in total) and each column group all of its A rows (tn * M per k). So a short, wide C
// (ViT at batch 1: qkv is 197 x 2304, where B is a whole weight matrix) is cut into column groups and a tall one
// into row groups; ties go to row groups.
void thread_grid(int team, int64_t m, int64_t n, int64_t m_tiles, int64_t n_tiles, int& tm, int& tn) {
    auto cost = [&](int t) { return ((m_tiles + t - 1) / t) * ((n_tiles + team / t - 1) / (team / t)); };
    int64_t best = INT64_MAX;
    for (int t = 1; t <= team; ++t)
        if (team % t == 0) best = std::min(best, cost(t));
    tm = 1;
    int64_t least_packed = INT64_MAX;
    for (int t = team; t >= 1; --t)
        if (team % t == 0 && cost(t) * 10 <= best * 11) {  // within 10% of the best balance
            const int64_t packed = t * n + (team / t) * m;
            if (packed < least_packed) {
                least_packed = packed;
                tm = t;
            }
        }
    tn = team / tm;
}

// The packed path on a team of threads: C is cut into one rectangle per thread and each thread runs the whole
// packed loop nest on its rectangle independently (its own packed copies of the A rows and B columns it
// needs). No barriers: a thread that the OS delays never stalls the others mid-product, and re-packing the
// shared operand costs 1 / (rows or columns of the rectangle) of the compute. (Cutting C into 2-3 rectangles
// per thread with dynamic scheduling was measured on the shared 2-core machine and did not help.)
template <typename T>
void gemm_packed_team(const Problem<T>& pr, int team) {
    constexpr int MR = Blocking<T>::MR, NR = Blocking<T>::NR;
    const int64_t m_tiles = (pr.m + MR - 1) / MR, n_tiles = (pr.n + NR - 1) / NR;
    int tm = 1, tn = 1;
    thread_grid(team, pr.m, pr.n, m_tiles, n_tiles, tm, tn);
    auto rectangle = [&](int64_t u) {
        const int64_t rg = u / tn, cg = u % tn;
        const int64_t m0 = std::min(pr.m, m_tiles * rg / tm * MR), m1 = std::min(pr.m, m_tiles * (rg + 1) / tm * MR);
        const int64_t n0 = std::min(pr.n, n_tiles * cg / tn * NR), n1 = std::min(pr.n, n_tiles * (cg + 1) / tn * NR);
        if (m0 >= m1 || n0 >= n1) return;
        Problem<T> sub = pr;
        sub.m = m1 - m0;
        sub.n = n1 - n0;
        sub.a += pr.trans_a ? m0 : m0 * pr.lda;
        sub.b += pr.trans_b ? n0 * pr.ldb : n0;
        sub.c += m0 * pr.ldc + n0;
        gemm_packed(sub);
    };
    team_for(team, team, rectangle);
}

// ---------------------------------------------------------------------------------------------------------------
// The direct path: no packing, for tiny problems and M <= 2 rows. Same arithmetic rule, column blocks of JB
// accumulators (vectorized across columns when op(B) rows are contiguous).

template <typename T>
void gemm_direct_columns(const Problem<T>& pr, int64_t j0, int64_t j1) {
    constexpr int64_t JB = 256;
    const int64_t kcl = k_chunk<T>(pr.k);
    alignas(64) T acc[JB];
    for (int64_t jb = j0; jb < j1; jb += JB) {
        const int64_t nb = std::min(JB, j1 - jb);
        for (int64_t i = 0; i < pr.m; ++i) {
            T* crow = pr.c + i * pr.ldc + jb;
            for (int64_t pc = 0; pc < pr.k; pc += kcl) {
                const int64_t pe = std::min(pr.k, pc + kcl);
                std::fill(acc, acc + nb, T(0));
                for (int64_t p = pc; p < pe; ++p) {
                    const T av = pr.op_a(i, p);
                    if (!pr.trans_b) {
                        const T* brow = pr.b + p * pr.ldb + jb;
                        for (int64_t j = 0; j < nb; ++j) acc[j] = madd(av, brow[j], acc[j]);
                    } else {
                        const T* bcol = pr.b + jb * pr.ldb + p;
                        for (int64_t j = 0; j < nb; ++j) acc[j] = madd(av, bcol[j * pr.ldb], acc[j]);
                    }
                }
                const T beta_eff = pc == 0 ? pr.beta : T(1);
                for (int64_t j = 0; j < nb; ++j) crow[j] = epilogue(acc[j], crow[j], pr.alpha, beta_eff);
            }
        }
    }
}

template <typename T>
void gemm_direct(const Problem<T>& pr, bool may_thread) {
    constexpr int64_t JB = 256;
    const int64_t blocks = (pr.n + JB - 1) / JB;
    if (!may_thread) return gemm_direct_columns(pr, 0, pr.n);
    parallel_for(blocks, pr.m * pr.k * JB, [&](int64_t b0, int64_t b1) {
        gemm_direct_columns(pr, b0 * JB, std::min(pr.n, b1 * JB));
    });
}

// ---------------------------------------------------------------------------------------------------------------
// One matrix: degenerate cases, then direct or packed.

constexpr int64_t kDirectMaxWork = 24 * 24 * 24;  // m*n*k at or below which packing costs more than it saves
constexpr int64_t kThreadMinWork = 64 * 64 * 64;  // m*n*k below which one thread is faster than a team

template <typename T>
void gemm_one(const Problem<T>& pr, int team) {
    if (pr.m == 0 || pr.n == 0) return;
    if (pr.k == 0 || pr.alpha == T(0)) {  // BLAS: A and B are not read; C = beta * C (beta == 0 gives zeros)
        for (int64_t i = 0; i < pr.m; ++i)
            for (int64_t j = 0; j < pr.n; ++j) {
                T& c = pr.c[i * pr.ldc + j];
                c = pr.beta == T(0) ? T(0) : pr.beta * c;
            }
        return;
    }
    const int64_t work = pr.m * pr.n * pr.k;
    if (work < kThreadMinWork) team = 1;
    if (pr.m <= 2 || work <= kDirectMaxWork) return gemm_direct(pr, team > 1);
    if (team > 1) return gemm_packed_team(pr, team);
    gemm_packed(pr);
}

template <typename T>
void gemm_cpu(const GemmCall& g) {
    if (g.m == 0 || g.n == 0 || g.batch == 0) return;
    Problem<T> pr{g.trans_a, g.trans_b, g.m, g.n, g.k,
                  static_cast<const T*>(g.a), g.lda, static_cast<const T*>(g.b), g.ldb, static_cast<T*>(g.c), g.ldc,
                  static_cast<T>(g.alpha), static_cast<T>(g.beta)};
    int64_t batch = g.batch;
    // A shared B and back-to-back row blocks of A and C: one tall product (same bits, better blocking).
    if (batch > 1 && g.stride_b == 0 && !g.trans_a && g.stride_a == g.m * g.lda && g.stride_c == g.m * g.ldc) {
        pr.m *= batch;
        batch = 1;
    }
    int team = 1;
#ifdef _OPENMP
    if (!omp_in_parallel()) team = omp_get_max_threads();
#endif
    const int64_t work = pr.m * pr.n * pr.k;
    auto matrix = [&](int64_t b) {
        Problem<T> q = pr;
        q.a += b * g.stride_a;
        q.b += b * g.stride_b;
        q.c += b * g.stride_c;
        return q;
    };
    // One whole matrix per thread when that balances (the batch divides evenly or is long), or when the matrices
    // are too small to split; otherwise each matrix in turn on the whole team. (C must not alias across the
    // batch for the former.)
    const bool across_batch = team > 1 && batch > 1 && g.stride_c != 0 && work * batch >= kThreadMinWork &&
                              (batch % team == 0 || batch >= 4 * team || work < kThreadMinWork);
    if (across_batch) {
        team_for(batch, team, [&](int64_t b) { gemm_one(matrix(b), 1); });
        return;
    }
    for (int64_t b = 0; b < batch; ++b) gemm_one(matrix(b), team);
}

}  // namespace

void gemm_f32(const GemmCall& g) { gemm_cpu<float>(g); }
void gemm_f64(const GemmCall& g) { gemm_cpu<double>(g); }

}  // namespace wsdol::cpu::WSDOL_GEMM_NS
