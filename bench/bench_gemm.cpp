// bench_gemm.cpp — wsdol's CPU SGEMM ("gemm" kernel, kernels/cpu/gemm.cpp) against OpenBLAS cblas_sgemm, in
// the same run and on the same number of threads, plus the machine's FMA throughput peak for reference.
//
// Every GEMM benchmark reports GFLOPS = 2*M*N*K / wall time (a rate counter; real time, since work runs on a
// thread team). Threads: WSDOL_BENCH_THREADS (default 2) for both libraries (omp_set_num_threads for ours,
// openblas_set_num_threads for OpenBLAS).
//
// Layouts: "NN" is C = A @ B with both row-major; "NT" is C = A @ W^T with W stored (N, K), which is how
// linear() calls the kernel for a weight of shape (out, in).
//
// SIMD levels (kernels/cpu/simd.h): ours runs once per level this machine supports, in the same process —
// BM_wsdol_sgemm_avx512, BM_wsdol_sgemm_avx2 (and BM_wsdol_sgemm_scalar with WSDOL_BENCH_SCALAR=1) — so random
// interleaving mixes the levels and OpenBLAS in time. The FMA peaks are measured at 256 and 512 bits.
#include <benchmark/benchmark.h>
#include <cblas.h>
#include <immintrin.h>
#include <omp.h>

#include <chrono>
#include <ctime>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

#include "engine/ops/linalg.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/simd.h"
#include "bench/bench_util.h"

namespace {

using wsdol::bench::process_cpu_seconds;

int bench_threads() {
    const char* s = std::getenv("WSDOL_BENCH_THREADS");
    const int n = s ? std::atoi(s) : 2;
    return n > 0 ? n : 2;
}

// The other library's idle workers spin for a while after their last call (libgomp and OpenBLAS both do);
// on a 2-core machine that would steal cycles from the library being timed, so each benchmark first pauses.
void let_other_library_idle() { std::this_thread::sleep_for(std::chrono::milliseconds(300)); }

struct Problem {
    int64_t m, n, k;
    bool trans_b;
    int64_t batch = 1;
    std::vector<float> a, b, c;
    Problem(int64_t m_, int64_t n_, int64_t k_, bool tb, int64_t batch_ = 1)
        : m(m_), n(n_), k(k_), trans_b(tb), batch(batch_), a(batch_ * m_ * k_), b(batch_ * k_ * n_), c(batch_ * m_ * n_) {
        std::mt19937 rng(42);
        std::uniform_real_distribution<float> d(-1.0f, 1.0f);
        for (auto& v : a) v = d(rng);
        for (auto& v : b) v = d(rng);
    }
    int64_t ldb() const { return trans_b ? k : n; }
};

// GFLOPS: per wall second (the headline). GFLOPS_cpu: per CPU second of the whole process (all threads), which
// stays meaningful when other jobs share the cores (it charges only the time our threads actually ran, spinning
// at barriers included).
void set_flops(benchmark::State& state, const Problem& p, double cpu_seconds) {
    const double gflop = 2.0 * p.m * p.n * p.k * p.batch * 1e-9;
    state.counters["GFLOPS"] = benchmark::Counter(gflop, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["GFLOPS_cpu"] = gflop * state.iterations() / cpu_seconds;
}

// args: M, N, K, trans_b, batch; `level`: the SIMD level of our kernels for this benchmark.
void BM_wsdol_sgemm(benchmark::State& state, wsdol::cpu::SimdLevel level) {
    Problem p(state.range(0), state.range(1), state.range(2), state.range(3) != 0, state.range(4));
    wsdol::cpu::set_num_threads(bench_threads());
    wsdol::cpu::set_simd_level(level);
    auto* gemm = wsdol::find_kernel<wsdol::GemmKernel>("gemm", wsdol::Device::cpu(), wsdol::DType::f32);
    wsdol::GemmArgs g;
    g.trans_b = p.trans_b;
    g.m = p.m; g.n = p.n; g.k = p.k;
    g.a = p.a.data(); g.lda = p.k; g.stride_a = p.m * p.k;
    g.b = p.b.data(); g.ldb = p.ldb(); g.stride_b = p.k * p.n;
    g.c = p.c.data(); g.ldc = p.n; g.stride_c = p.m * p.n;
    g.batch = p.batch;
    gemm(g);  // warm the packing buffers and the thread team
    let_other_library_idle();
    gemm(g);
    const double cpu0 = process_cpu_seconds();
    for (auto _ : state) {
        gemm(g);
        benchmark::DoNotOptimize(p.c.data());
        benchmark::ClobberMemory();
    }
    set_flops(state, p, process_cpu_seconds() - cpu0);
}

void BM_openblas_sgemm(benchmark::State& state) {
    Problem p(state.range(0), state.range(1), state.range(2), state.range(3) != 0, state.range(4));
    openblas_set_num_threads(bench_threads());
    auto run = [&] {  // a batch is a loop of calls (cblas has no batched SGEMM)
        for (int64_t bi = 0; bi < p.batch; ++bi)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, p.trans_b ? CblasTrans : CblasNoTrans, p.m, p.n, p.k, 1.0f,
                        p.a.data() + bi * p.m * p.k, p.k, p.b.data() + bi * p.k * p.n, p.ldb(), 0.0f,
                        p.c.data() + bi * p.m * p.n, p.n);
    };
    run();
    let_other_library_idle();
    run();
    const double cpu0 = process_cpu_seconds();
    for (auto _ : state) {
        run();
        benchmark::DoNotOptimize(p.c.data());
        benchmark::ClobberMemory();
    }
    set_flops(state, p, process_cpu_seconds() - cpu0);
}

// The shapes: square NN, ViT-B linear layers at batch 8 (M = 8 * 197 tokens) in both layouts, and the two
// attention products (8 images x 12 heads, head dim 64) as batched calls.
void gemm_shapes(benchmark::internal::Benchmark* b) {
    b->ArgNames({"M", "N", "K", "tB", "batch"});
    for (int64_t s : {512, 1024, 2048}) b->Args({s, s, s, 0, 1});
    const int64_t tokens = 8 * 197;
    for (int64_t tb : {0, 1}) {
        b->Args({tokens, 2304, 768, tb, 1});  // qkv
        b->Args({tokens, 3072, 768, tb, 1});  // fc1
        b->Args({tokens, 768, 3072, tb, 1});  // fc2
    }
    b->Args({197, 197, 64, 1, 96});  // attention scores: q @ k^T per head
    b->Args({197, 64, 197, 0, 96});  // attention output: p @ v per head
    b->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);
}

BENCHMARK(BM_openblas_sgemm)->Apply(gemm_shapes);

// ---- FMA peak: independent chains of 256-bit (or 512-bit) FMAs (10 chains cover latency 4 x 2 pipes), per
// thread. Compiled with target attributes (the bench is built for the baseline) and run only where supported.
// noipa: the loops are pure functions of a constant; without it GCC hoisted the call out of the timing loop.
__attribute__((target("avx2,fma"), noipa)) double fma_loop_256(int64_t iters) {
    __m256 acc[10];
    for (int i = 0; i < 10; ++i) acc[i] = _mm256_set1_ps(0.001f * i);
    const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
    for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 10
        for (int i = 0; i < 10; ++i) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
    }
    __m256 s = acc[0];
    for (int i = 1; i < 10; ++i) s = _mm256_add_ps(s, acc[i]);
    alignas(32) float out[8];
    _mm256_store_ps(out, s);
    return out[0];
}
__attribute__((target("avx512f"), noipa)) double fma_loop_512(int64_t iters) {
    __m512 acc[10];
    for (int i = 0; i < 10; ++i) acc[i] = _mm512_set1_ps(0.001f * i);
    const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
    for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 10
        for (int i = 0; i < 10; ++i) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
    }
    __m512 s = acc[0];
    for (int i = 1; i < 10; ++i) s = _mm512_add_ps(s, acc[i]);
    alignas(64) float out[16];
    _mm512_store_ps(out, s);
    return out[0];
}
constexpr int64_t kFmaIters = 1 << 22;

// `bits`: 256 or 512.
__attribute__((noipa)) double fma_loop(int64_t iters, int bits) { return bits == 512 ? fma_loop_512(iters) : fma_loop_256(iters); }
double flops_per_iter(int bits) { return 10.0 * (bits / 32) * 2; }  // 10 FMAs x lanes x 2 flops

void BM_fma_peak_1thread(benchmark::State& state, int bits) {
    const double cpu0 = process_cpu_seconds();
    for (auto _ : state) benchmark::DoNotOptimize(fma_loop(kFmaIters, bits));
    const double gflop = kFmaIters * flops_per_iter(bits) * 1e-9;
    state.counters["GFLOPS"] = benchmark::Counter(gflop, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["GFLOPS_cpu"] = gflop * state.iterations() / (process_cpu_seconds() - cpu0);
}
void BM_fma_peak_threads(benchmark::State& state, int bits) {
    const int threads = bench_threads();
    let_other_library_idle();
    const double cpu0 = process_cpu_seconds();
    for (auto _ : state) {
        double sink = 0;
#pragma omp parallel num_threads(threads) reduction(+ : sink)
        sink += fma_loop(kFmaIters, bits);
        benchmark::DoNotOptimize(sink);
    }
    const double gflop = threads * kFmaIters * flops_per_iter(bits) * 1e-9;
    state.counters["GFLOPS"] = benchmark::Counter(gflop, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["GFLOPS_cpu"] = gflop * state.iterations() / (process_cpu_seconds() - cpu0);
    state.counters["threads"] = threads;
}
}  // namespace

int main(int argc, char** argv) {
    namespace cpu = wsdol::cpu;
    const bool scalar = std::getenv("WSDOL_BENCH_SCALAR") != nullptr;
    for (cpu::SimdLevel level : {cpu::SimdLevel::avx512, cpu::SimdLevel::avx2, cpu::SimdLevel::scalar}) {
        if (!cpu::simd_level_available(level) || (level == cpu::SimdLevel::scalar && !scalar)) continue;
        benchmark::RegisterBenchmark((std::string("BM_wsdol_sgemm_") + cpu::simd_level_name(level)).c_str(),
                                     BM_wsdol_sgemm, level)
            ->Apply(gemm_shapes);
    }
    for (int bits : {256, 512}) {
        if (bits == 256 ? !__builtin_cpu_supports("fma") : !__builtin_cpu_supports("avx512f")) continue;
        const std::string w = std::to_string(bits);
        benchmark::RegisterBenchmark(("BM_fma_peak_" + w + "_1thread").c_str(), BM_fma_peak_1thread, bits)
            ->Unit(benchmark::kMillisecond)->UseRealTime();
        benchmark::RegisterBenchmark(("BM_fma_peak_" + w + "_threads").c_str(), BM_fma_peak_threads, bits)
            ->Unit(benchmark::kMillisecond)->UseRealTime();
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::AddCustomContext("threads", std::to_string(bench_threads()));
    benchmark::AddCustomContext("openblas", openblas_get_config());
    benchmark::AddCustomContext("openblas_core", openblas_get_corename());
    benchmark::AddCustomContext("wsdol_simd_detected", cpu::simd_level_name(cpu::detected_simd_level()));
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
