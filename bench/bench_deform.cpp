// bench_deform.cpp — deform_conv2d (engine/ops/deform_conv.cpp) forward and forward + backward (gradients for the
// input, the offsets and the weight, as CDTR's SKI needs) on the CPU, float32. Peer: torchvision.ops.deform_conv2d,
// timed by bench/deform_compare.py on the same shapes and thread count (that script runs this program too).
//
// Shapes (batch:channels:size): CDTR's SKI is C -> C, 3x3, pad 1, on the 14x14 class maps (C = 200 for CUB);
// batch 16 here (the code's per-GPU batch is 128). Threads: WSDOL_BENCH_THREADS (default 2).
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "engine/autograd/autograd.h"
#include "engine/core/rng.h"
#include "engine/ops/deform_conv.h"
#include "engine/ops/ops.h"
#include "kernels/cpu/parallel.h"

namespace {

using namespace wsdol;

int bench_threads() {
    const char* s = std::getenv("WSDOL_BENCH_THREADS");
    const int n = s ? std::atoi(s) : 2;
    return n > 0 ? n : 2;
}

struct Inputs {
    Tensor x, offset, weight;
};

Inputs make_inputs(int64_t batch, int64_t channels, int64_t size) {
    Generator gen(0);
    Inputs in;
    in.x = Tensor::rand({batch, channels, size, size}, DType::f32, &gen);
    in.offset = mul(sub(Tensor::rand({batch, 18, size, size}, DType::f32, &gen), 0.5), 4.0);  // offsets in [-2, 2)
    in.weight = mul(sub(Tensor::rand({channels, channels, 3, 3}, DType::f32, &gen), 0.5), 0.1);
    return in;
}

void BM_deform_forward(benchmark::State& state) {
    cpu::set_num_threads(bench_threads());
    const Inputs in = make_inputs(state.range(0), state.range(1), state.range(2));
    NoGradGuard ng;
    for (auto _ : state) {
        Tensor y = deform_conv2d(in.x, in.offset, in.weight, Tensor(), {1, 1}, {1, 1});
        benchmark::DoNotOptimize(y.data_ptr());
    }
}

void BM_deform_forward_backward(benchmark::State& state) {
    cpu::set_num_threads(bench_threads());
    const Inputs base = make_inputs(state.range(0), state.range(1), state.range(2));
    Tensor x = base.x.clone(), off = base.offset.clone(), w = base.weight.clone();
    for (Tensor* t : {&x, &off, &w}) t->set_requires_grad(true);
    for (auto _ : state) {
        for (Tensor* t : {&x, &off, &w}) t->zero_grad();
        Tensor y = deform_conv2d(x, off, w, Tensor(), {1, 1}, {1, 1});
        sum(y).backward();
        benchmark::DoNotOptimize(w.grad().data_ptr());
    }
}

}  // namespace

BENCHMARK(BM_deform_forward)->ArgNames({"batch", "channels", "size"})->Args({16, 200, 14})->Args({4, 64, 56})
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_deform_forward_backward)->ArgNames({"batch", "channels", "size"})->Args({16, 200, 14})->Args({4, 64, 56})
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
