// bench_toco.cpp — one ToCo / DIAL training step (every loss of TocoMethod::losses, then backward; the optimizer's
// update is left out on both sides, as in the CDTR row) on the reduced configuration of the synthetic benchmark
// (bench/toco_synth.sh), CPU f32, for bench/toco_compare.py (peer: the PyTorch restatement of
// tests/reference/toco/gen_toco_step.py with the same configuration).
// Configuration: 64 x 64 crops, ViT patch 8 / embed 96 / depth 4 / heads 3, 6 classes + background, decoder 64,
// CTC head 256 / 32 / 128, 10 crops (8 local crops of 16), batch 4, seg and reg active (step past seg_start);
// the dense-energy filter is the exact Gaussian (the restatement's; WSDOL_BENCH_ENERGY=lattice: ToCo's rloss
// lattice); DIAL adds text embeddings of width 64 (the small CLIP's) and a 512-wide joint space.
// Threads: WSDOL_BENCH_THREADS (default 2). Method: WSDOL_BENCH_METHOD toco | dial (default toco).
// WSDOL_BENCH_TERMS=1 prints every step's loss terms on stderr (the magnitudes at initialization).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"
#include "kernels/cpu/parallel.h"
#include "models/method_registry.h"
#include "models/toco_method.h"

namespace {

using namespace wsdol;

std::string env_or(const char* name, const char* fallback) {
    const char* s = std::getenv(name);
    return s && *s ? s : fallback;
}

void BM_toco_train_step(benchmark::State& state) {
    cpu::set_num_threads(std::atoi(env_or("WSDOL_BENCH_THREADS", "2").c_str()));
    const std::string method = env_or("WSDOL_BENCH_METHOD", "toco");
    const int64_t B = state.range(0), S = 64, C = 6;
    Generator gen(0);
    models::MethodConfig mc;
    mc.class_names = {"circle", "square", "triangle", "star", "ring", "cross"};
    mc.options = {{"image_size", "64"}, {"patch_size", "8"}, {"embed_dim", "96"}, {"depth", "4"},
                  {"num_heads", "3"}, {"decoder_dim", "64"}, {"ctc_hidden", "256"}, {"ctc_bottleneck", "32"},
                  {"ctc_out", "128"}, {"local_crop_size", "16"}, {"cam_input_size", "64"}, {"seg_start", "0"},
                  {"energy_filter", env_or("WSDOL_BENCH_ENERGY", "exact")}};
    mc.generator = &gen;
    std::unique_ptr<models::Method> m;
    Tensor text_fg, text_bg;
    if (method == "dial") {
        // The network as a checkpoint would build it (no CLIP file: the text embeddings are inputs here).
        mc.weights_from_checkpoint = true;
        mc.options["text_dim"] = "64";
        text_fg = Tensor::randn({C, 64}, DType::f32, &gen);
        text_bg = Tensor::randn({1, 64}, DType::f32, &gen);
        m = models::make_method("dial", mc);
        auto& t = static_cast<models::TocoMethod&>(*m);
        m = std::make_unique<models::TocoMethod>("dial", t.net().cfg, t.step_options, &gen, text_fg, text_bg);
    } else {
        m = models::make_method("toco", mc);
    }
    m->network().train();
    models::MethodBatch b;
    b.images = Tensor::randn({B, 3, S, S}, DType::f32, &gen);
    std::vector<double> y(size_t(B * C), 0.0);
    for (int64_t i = 0; i < B; ++i) y[size_t(i * C + i % C)] = y[size_t(i * C + (i + 2) % C)] = 1.0;
    b.labels = Tensor::from_vector(y, {B, C});
    std::vector<double> box;
    for (int64_t i = 0; i < B; ++i) box.insert(box.end(), {0.0, double(S), 0.0, double(S - 8 * (i % 2))});
    b.extras["valid_box"] = Tensor::from_vector(box, {B, 4});
    b.extras["global_views"] = stack({b.images, Tensor::randn({B, 3, S, S}, DType::f32, &gen)}, 1);
    b.extras["crop_source"] = Tensor::randn({B, 3, S, S}, DType::f32, &gen);
    models::StepContext ctx;
    ctx.step = 1;
    for (auto _ : state) {
        m->network().zero_grad();
        const models::LossTerms t = m->losses(b, ctx);
        if (std::getenv("WSDOL_BENCH_TERMS")) {  // the loss terms of every step (diagnostic), on stderr
            for (const auto& [name, v] : t.terms) std::fprintf(stderr, "%s %.4f  ", name.c_str(), v.item());
            std::fprintf(stderr, "total %.4f\n", t.total.item());
        }
        t.total.backward();
        benchmark::DoNotOptimize(t.total.item());
    }
    state.counters["img/s"] = benchmark::Counter(double(B), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(BM_toco_train_step)->ArgName("batch")->Arg(4)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
