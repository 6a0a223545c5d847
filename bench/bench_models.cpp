// bench_models.cpp — forward latency and peak memory of full-size models on the CPU (issue 4): ViT-B/16 at batch 1
// and 8 (224x224), the CLIP ViT-B/16 text tower on 20 prompts (the 20 PASCAL VOC classes as "a photo of a {c}."),
// and ResNet-50 at batch 8. Random-initialized weights (latency does not depend on their values), inference under
// NoGradGuard with model.eval(). bench/models_compare.py runs the same forwards in PyTorch and interleaves both.
//
// Each benchmark builds its model, warms up with one forward, then times `WSDOL_BENCH_ITERS` forwards (default 3).
// Run ONE benchmark per process (--benchmark_filter) when reading the memory counters: they are the process's.
// Counters (per forward unless said):
//   cpu_ms       CPU time of the whole process (all threads) per forward
//   weights_MB   resident set growth while building the model (parameters + allocator overhead)
//   rss_base_MB  resident set after the model is built (the baseline: weights, code, inputs)
//   peak_MB      peak resident set (VmHWM) of the process over the warm-up and timed forwards; the kernel's peak
//                counter is reset (write "5" to /proc/self/clear_refs) after the build, so transient memory of
//                the initialization does not count
//   act_peak_MB  peak_MB - rss_base_MB: the activation (working memory) peak as the OS sees it, including what
//                the caching allocator keeps for reuse
//   alloc_act_peak_MB  the caching allocator's peak of bytes in use (tensors alive at once) over the forwards,
//                minus what was in use before them: the activation peak without the cache's slack (the caching
//                allocator keeps freed blocks per exact size class, so act_peak_MB can be well above this);
//                -1 when the model's initialization had a higher peak (the allocator's peak cannot be reset)
// Threads: WSDOL_BENCH_THREADS (default 2).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "engine/autograd/autograd.h"
#include "engine/core/allocator.h"
#include "kernels/cpu/parallel.h"
#include "models/clip.h"
#include "models/resnet.h"
#include "models/vit.h"
#include "tokenizer/clip_tokenizer.h"
#include "bench/bench_util.h"

namespace {

using namespace wsdol;
using namespace wsdol::bench;

// The 20 prompts of the CLIP text benchmark (models_compare.py uses the same list).
std::vector<std::string> voc_prompts() {
    const char* classes[] = {"aeroplane", "bicycle", "bird",  "boat",        "bottle", "bus",         "car",
                             "cat",       "chair",   "cow",   "diningtable", "dog",    "horse",       "motorbike",
                             "person",    "pottedplant", "sheep", "sofa",    "train",  "tvmonitor"};
    std::vector<std::string> out;
    for (const char* c : classes) out.push_back(std::string("a photo of a ") + c + ".");
    return out;
}

// (20, 77) i64 ids: the wsdol CLIP tokenizer on the prompts when the shared vocabulary file is present, else rows
// of the same shape (sot, 6 word ids, eot, zeros: the cost of the forward does not depend on the ids).
Tensor prompt_ids() {
    const auto prompts = voc_prompts();
    const int64_t B = static_cast<int64_t>(prompts.size()), L = 77;
    std::vector<double> ids(B * L, 0.0);
    const std::string vocab = WSDOL_SHARED_DIR "/data/clip/bpe_simple_vocab_16e6.txt.gz";
    if (std::ifstream(vocab).good()) {
        auto tok = tok::ClipTokenizer::from_file(vocab);
        for (int64_t b = 0; b < B; ++b) {
            const auto row = tok.encode_row(prompts[b], static_cast<int>(L), true, true);
            for (int64_t j = 0; j < L; ++j) ids[b * L + j] = row[j];
        }
    } else {
        for (int64_t b = 0; b < B; ++b) {
            ids[b * L] = 49406;
            for (int j = 1; j <= 6; ++j) ids[b * L + j] = 320 + 17 * b + j;
            ids[b * L + 7] = 49407;
        }
    }
    return Tensor::from_vector(ids, {B, L}, DType::i64);
}

// Builds a model, runs the timed forwards, sets the counters. `forward` returns the output (kept alive until the
// next forward starts, as a caller holding its result would).
template <typename Build, typename Forward>
void run_model(benchmark::State& state, Build build, Forward forward) {
    cpu::set_num_threads(env_int("WSDOL_BENCH_THREADS", 2));
    NoGradGuard no_grad;
    const double rss0 = proc_status_mb("VmRSS");
    auto model = build();
    model->eval();
    if (std::getenv("WSDOL_BENCH_VERBOSE")) std::fprintf(stderr, "bench_models: model built, pid %d\n", getpid());
    const double rss_base = proc_status_mb("VmRSS");
    const double weights_mb = rss_base - rss0;
    const bool reset = reset_peak_rss();
    Allocator& alloc = allocator_for(Device::cpu());
    const size_t alloc_base = alloc.bytes_in_use(), alloc_peak_before = alloc.peak_bytes_in_use();
    {
        Tensor warm = forward(*model);
        benchmark::DoNotOptimize(warm.data_ptr());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let other processes' spinning threads settle
    const double cpu0 = process_cpu_seconds();
    for (auto _ : state) {
        Tensor out = forward(*model);
        benchmark::DoNotOptimize(out.data_ptr());
    }
    const double cpu_s = process_cpu_seconds() - cpu0;
    const double peak = proc_status_mb("VmHWM");
    state.counters["cpu_ms"] = 1e3 * cpu_s / static_cast<double>(state.iterations());
    state.counters["weights_MB"] = weights_mb;
    state.counters["rss_base_MB"] = rss_base;
    state.counters["peak_MB"] = peak;
    state.counters["act_peak_MB"] = reset ? peak - rss_base : -1.0;
    // The allocator's peak cannot be reset: when the build itself peaked higher, the forwards' peak is unknown (-1).
    const size_t alloc_peak = alloc.peak_bytes_in_use();
    state.counters["alloc_act_peak_MB"] =
        alloc_peak > alloc_peak_before
            ? (static_cast<double>(alloc_peak) - static_cast<double>(alloc_base)) / (1024.0 * 1024.0)
            : -1.0;
    state.counters["threads"] = env_int("WSDOL_BENCH_THREADS", 2);
}

void BM_vit_b16(benchmark::State& state) {
    const int64_t batch = state.range(0);
    Tensor images = Tensor::randn({batch, 3, 224, 224});
    run_model(
        state, [] { Generator g(1); return std::make_shared<models::VisionTransformer>(models::ViTConfig{}, &g); },
        [&](models::VisionTransformer& m) { return m.forward(images); });
}

void BM_clip_text(benchmark::State& state) {
    Tensor ids = prompt_ids();
    run_model(
        state, [] { Generator g(1); return std::make_shared<models::Clip>(models::clip_vit_b16_config(), &g); },
        [&](models::Clip& m) { return m.encode_text(ids); });
}

void BM_resnet50(benchmark::State& state) {
    const int64_t batch = state.range(0);
    Tensor images = Tensor::randn({batch, 3, 224, 224});
    run_model(
        state, [] { Generator g(1); return std::make_shared<models::ResNet>(models::resnet50_config(), &g); },
        [&](models::ResNet& m) { return m.forward(images); });
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    const int iters = env_int("WSDOL_BENCH_ITERS", 3);
    auto common = [&](benchmark::internal::Benchmark* b) {
        b->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(iters);
    };
    common(benchmark::RegisterBenchmark("vit_b16/batch:1", BM_vit_b16)->Arg(1));
    common(benchmark::RegisterBenchmark("vit_b16/batch:8", BM_vit_b16)->Arg(8));
    common(benchmark::RegisterBenchmark("clip_b16_text/prompts:20", BM_clip_text));
    common(benchmark::RegisterBenchmark("resnet50/batch:8", BM_resnet50)->Arg(8));
    benchmark::AddCustomContext("threads", std::to_string(env_int("WSDOL_BENCH_THREADS", 2)));
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
