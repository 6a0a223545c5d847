// bench_loader.cpp — throughput of wsdol's data loader on VOC-like JPEGs: decode (stb_image) + the ToCo
// training augmentation (random rescale 0.5-2.0 PIL bilinear, flip, 448 crop with black padding, ColorJitter
// (0.4, 0.4, 0.2, 0.1) with p 0.8, ImageNet normalisation) into (8, 3, 448, 448) f32 batches, on
// WSDOL_BENCH_THREADS loader workers (default 2). bench/loader_compare.py runs this next to a PyTorch DataLoader
// (Pillow + torchvision transforms, num_workers = 2) with the same pipeline and prints both rates.
//
// Images: every *.jpg in WSDOL_BENCH_JPEGS (default /tmp/wsdol_voc_like; loader_compare.py creates 64 500x375
// JPEGs there from the real VOC images). Counters: images/s (items_per_second) over whole epochs, and
// img_per_cpu_s (images per CPU-second of the process, all threads), which other load on the machine barely moves.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <ctime>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "engine/data/loader.h"
#include "engine/data/transforms_pipeline.h"

namespace {

using namespace wsdol;

int bench_threads() {
    const char* s = std::getenv("WSDOL_BENCH_THREADS");
    const int n = s ? std::atoi(s) : 2;
    return n > 0 ? n : 2;
}

data::Dataset jpeg_dataset() {
    const char* dir = std::getenv("WSDOL_BENCH_JPEGS");
    const std::string root = dir ? dir : "/tmp/wsdol_voc_like";
    data::Dataset ds;
    ds.kind = "voc";
    if (!std::filesystem::is_directory(root)) return ds;
    for (const auto& e : std::filesystem::directory_iterator(root))
        if (e.path().extension() == ".jpg") {
            data::Sample s;
            s.id = e.path().stem().string();
            s.image_path = e.path().string();
            ds.samples.push_back(s);
        }
    std::sort(ds.samples.begin(), ds.samples.end(),
              [](const data::Sample& a, const data::Sample& b) { return a.id < b.id; });
    return ds;
}

// The pipeline the comparison script reproduces in Python: no grayscale, no blur, one flip.
data::TocoOptions bench_toco_options() {
    data::TocoOptions o;
    o.crop = 448;
    o.jitter_p = 0.8;
    o.gray_p = 0;
    o.blur_p = 0;
    o.solarize_p = 0;
    o.second_flip = false;
    return o;
}

void BM_loader_toco448(benchmark::State& state) {
    const data::Dataset ds = jpeg_dataset();
    if (ds.samples.empty()) {
        state.SkipWithError("no JPEGs (run bench/loader_compare.py, or set WSDOL_BENCH_JPEGS)");
        return;
    }
    data::LoaderOptions o;
    o.batch_size = 8;
    o.height = o.width = 448;
    o.workers = bench_threads();
    o.prefetch = 4;
    o.seed = 1;
    o.drop_last = false;
    const data::TocoOptions toco = bench_toco_options();
    auto loader = data::make_image_loader(
        ds,
        [toco](const data::Image& rgb, data::SampleRng& rng, float* out, data::Example& ex) {
            ex.img_box = data::toco_main_view(rgb, rng, toco, out).img_box;
        },
        o);
    int64_t epoch = 0, images = 0;
    const std::clock_t cpu0 = std::clock();  // process CPU time, all threads
    for (auto _ : state) {
        loader->start_epoch(epoch++);
        data::Batch b;
        while (loader->next(b)) {
            images += b.images.size(0);
            benchmark::DoNotOptimize(b.images.data<float>());
        }
    }
    const double cpu_s = double(std::clock() - cpu0) / CLOCKS_PER_SEC;
    state.SetItemsProcessed(images);
    // Images per CPU-second of the whole process: robust to other load on a shared machine.
    state.counters["img_per_cpu_s"] = cpu_s > 0 ? double(images) / cpu_s : 0.0;
    state.counters["threads"] = o.workers;
    state.counters["images"] = static_cast<double>(ds.samples.size());
}
BENCHMARK(BM_loader_toco448)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);

// Decode only (one thread), to show where the time goes.
void BM_decode_only(benchmark::State& state) {
    const data::Dataset ds = jpeg_dataset();
    if (ds.samples.empty()) {
        state.SkipWithError("no JPEGs");
        return;
    }
    int64_t images = 0;
    for (auto _ : state)
        for (const auto& s : ds.samples) {
            const data::Image img = data::read_image(s.image_path, data::ColorMode::rgb);
            benchmark::DoNotOptimize(img.pixels.data());
            ++images;
        }
    state.SetItemsProcessed(images);
}
BENCHMARK(BM_decode_only)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);

}  // namespace

BENCHMARK_MAIN();
