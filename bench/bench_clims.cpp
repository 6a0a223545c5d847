// bench_clims.cpp — CLIMS stage-1 training throughput and peak memory on the CPU, in a reduced configuration that
// bench/clims_compare.py runs identically in PyTorch (its restatement tests/reference/clims/gen_clims.py):
//   CLIMS network: IRNet ResNet (strides 2,2,2,1 with conv1's), stem width 16, one Bottleneck per stage, 20 classes,
//                  train-mode BN, frozen stem; batch 8 of 128 x 128 crops, 2 positive classes per image (16 pairs);
//   frozen CLIP image tower: ViT, input 64, patch 16, width 128, 2 blocks, 2 heads, embedding 64;
//   text bank: 20 class and 10 background features (random constants: the text tower runs once, not per step).
// One iteration = zero_grad, clims_step (maps, 2 x 16 compositions through the CLIP, every loss), backward, SGD
// (momentum 1e-4, weight decay 1e-4) update. Counters: ms per step (wall and process CPU), peak_MB (VmHWM, reset
// after the build), rss_base_MB. Threads: WSDOL_BENCH_THREADS (default 2); steps: WSDOL_BENCH_ITERS (default 5).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>

#include "engine/autograd/autograd.h"
#include "engine/optim/sgd.h"
#include "kernels/cpu/parallel.h"
#include "models/clims.h"
#include "bench/bench_util.h"

namespace {

using namespace wsdol;
using namespace wsdol::bench;

void clims_step_reduced(benchmark::State& state) {
    cpu::set_num_threads(env_int("WSDOL_BENCH_THREADS", 2));
    Generator gen(0);
    models::ClimsConfig cfg = models::clims_config(20);
    cfg.resnet.width = 16;
    cfg.resnet.layers = {1, 1, 1, 1};
    models::ClimsNetwork net(cfg, &gen);
    models::ClipConfig cc;
    cc.embed_dim = 64;
    cc.image_size = 64;
    cc.vision_width = 128;
    cc.vision_layers = 2;
    cc.vision_heads = 2;
    cc.vision_patch_size = 16;
    cc.text_width = 64;
    cc.text_heads = 1;
    cc.text_layers = 1;
    cc.context_length = 8;
    cc.vocab_size = 64;
    models::Clip clip(cc, &gen);
    models::freeze_clip(clip);
    const models::ClimsTextBank text{Tensor::randn({20, 64}, DType::f32, &gen),
                                     Tensor::randn({10, 64}, DType::f32, &gen)};
    const Tensor images = Tensor::randn({8, 3, 128, 128}, DType::f32, &gen);
    std::vector<double> lv(8 * 20, 0.0);
    for (int n = 0; n < 8; ++n) lv[n * 20 + (3 * n) % 20] = lv[n * 20 + (3 * n + 7) % 20] = 1.0;
    const Tensor labels = Tensor::from_vector(lv, {8, 20});
    NamedTensors params;
    for (const auto& [n, p] : net.named_parameters())
        if (p.requires_grad()) params.emplace_back(n, p);
    optim::SGDOptions so;
    so.lr = 2.5e-4;
    so.momentum = 1e-4;
    so.weight_decay = 1e-4;
    optim::SGD sgd(params, so);
    net.train(true);
    auto step = [&] {
        sgd.zero_grad();
        const models::ClimsStepOutput o = models::clims_step(net, clip, text, images, labels, {});
        o.losses.total.backward();
        sgd.step();
        return o.losses.total.item();
    };
    const double rss_base = proc_status_mb("VmRSS");
    const bool reset = reset_peak_rss();
    benchmark::DoNotOptimize(step());  // warm-up
    const double cpu0 = process_cpu_seconds();
    for (auto _ : state) benchmark::DoNotOptimize(step());
    const double cpu_s = process_cpu_seconds() - cpu0;
    state.counters["cpu_ms"] = 1e3 * cpu_s / static_cast<double>(state.iterations());
    state.counters["rss_base_MB"] = rss_base;
    state.counters["peak_MB"] = reset ? proc_status_mb("VmHWM") : -1.0;
}

}  // namespace

BENCHMARK(clims_step_reduced)->Unit(benchmark::kMillisecond)->Iterations(env_int("WSDOL_BENCH_ITERS", 5))
    ->UseRealTime();

BENCHMARK_MAIN();
