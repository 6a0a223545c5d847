// bench_cdtr.cpp — one CDTR training step (forward, every loss but SBA, backward) on a reduced configuration,
// CPU f32, for bench/cdtr_compare.py (peer: the PyTorch restatement in tests/reference/cdtr/gen_cdtr.py with the
// same configuration). Configuration: DeiT-Tiny widths (D 192, 12 blocks, 3 heads), 128 x 128 input, patch 16
// (8 x 8 grid), C = 10, CSM c_base 2, OCM K = 9, SKI on, batch 8, drop-path 0; SBA off (no CLIP on either side).
// Threads: WSDOL_BENCH_THREADS (default 2).
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"
#include "kernels/cpu/parallel.h"
#include "models/cdtr.h"

namespace {

using namespace wsdol;

void BM_cdtr_train_step(benchmark::State& state) {
    const char* s = std::getenv("WSDOL_BENCH_THREADS");
    cpu::set_num_threads(s && std::atoi(s) > 0 ? std::atoi(s) : 2);
    models::CdtrConfig cfg;
    cfg.vit.image_size = 128;
    cfg.vit.patch_size = 16;
    cfg.vit.embed_dim = 192;
    cfg.vit.depth = 12;
    cfg.vit.num_heads = 3;
    cfg.num_classes = 10;
    cfg.csm_base = 2;
    Generator gen(0);
    models::Cdtr model(cfg, &gen);
    model.train();
    const int64_t B = state.range(0);
    const Tensor images = Tensor::randn({B, 3, 128, 128}, DType::f32, &gen);
    std::vector<double> ids(static_cast<size_t>(B));
    for (int64_t i = 0; i < B; ++i) ids[size_t(i)] = double(i % 10);
    const Tensor labels = Tensor::from_vector(ids, {B}, DType::i64);
    for (auto _ : state) {
        model.zero_grad();
        const models::CdtrOutput o = model.forward_cdtr(images);
        const Tensor total = model.awl->total({cross_entropy(o.logits, labels), cross_entropy(o.csm_logits, labels),
                                               models::cdtr_area_loss(o.m_ca, 0.25),
                                               models::cdtr_map_loss(o.m_ocm, o.m_ca, true),
                                               cross_entropy(o.ski_logits, labels)});
        total.backward();
        benchmark::DoNotOptimize(total.item());
    }
    state.counters["img/s"] = benchmark::Counter(double(B), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(BM_cdtr_train_step)->ArgName("batch")->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
