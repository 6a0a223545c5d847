// bench_load.cpp — how fast a full-size checkpoint loads: wsdol::weights::read_weights on a CLIP ViT-B/16-shaped
// file (the 302 OpenAI names and shapes of formats.md §3.1, float32, 149,620,737 parameters, ~598 MB), then
// reading every byte of every tensor, against `cat FILE > /dev/null` on the same, warm page cache.
//
//   bench_load [--dir DIR] [--repeats N]
//
// The files are generated on the first run into DIR (default /tmp): wsdol_bench_clip_vit_b16.safetensors (the
// safetensors writer's reference layout, so every tensor is aligned and maps without a copy) and
// wsdol_bench_clip_vit_b16.pt (a PyTorch zip written by write_torch_zip: 64-byte aligned stored records, read
// through the restricted unpickler with a CRC-32 check of every record). Each measurement is repeated N times
// (default 7) after two warm-up passes that bring the file into the page cache; the median and the minimum
// are printed. Timings:
//   cat            `cat FILE > /dev/null` through std::system (includes ~1 ms of process start)
//   open           read_weights alone (mmap + header/pickle parsing + tensor views; no tensor byte is read
//                  for safetensors, the CRC pass reads every byte for the PyTorch zip)
//   open+touch     read_weights, then a sum over every 8-byte word of every tensor (one thread, like cat)
// The goal for safetensors is open+touch <= 1.5x cat.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/io/safetensors.h"
#include "weights/weights_file.h"

namespace {

using Clock = std::chrono::steady_clock;

// OpenAI CLIP ViT-B/16 state_dict (formats.md §3.1): 302 tensors.
std::vector<std::pair<std::string, wsdol::Shape>> clip_vit_b16_shapes() {
    std::vector<std::pair<std::string, wsdol::Shape>> s = {
        {"positional_embedding", {77, 512}}, {"text_projection", {512, 512}}, {"logit_scale", {}},
        {"visual.class_embedding", {768}},   {"visual.positional_embedding", {197, 768}},
        {"visual.proj", {768, 512}},         {"visual.conv1.weight", {768, 3, 16, 16}},
        {"visual.ln_pre.weight", {768}},     {"visual.ln_pre.bias", {768}},
    };
    auto blocks = [&](const std::string& prefix, int64_t w) {
        for (int i = 0; i < 12; ++i) {
            const std::string b = prefix + "transformer.resblocks." + std::to_string(i) + ".";
            s.push_back({b + "attn.in_proj_weight", {3 * w, w}});
            s.push_back({b + "attn.in_proj_bias", {3 * w}});
            s.push_back({b + "attn.out_proj.weight", {w, w}});
            s.push_back({b + "attn.out_proj.bias", {w}});
            s.push_back({b + "ln_1.weight", {w}});
            s.push_back({b + "ln_1.bias", {w}});
            s.push_back({b + "mlp.c_fc.weight", {4 * w, w}});
            s.push_back({b + "mlp.c_fc.bias", {4 * w}});
            s.push_back({b + "mlp.c_proj.weight", {w, 4 * w}});
            s.push_back({b + "mlp.c_proj.bias", {w}});
            s.push_back({b + "ln_2.weight", {w}});
            s.push_back({b + "ln_2.bias", {w}});
        }
    };
    blocks("visual.", 768);
    s.push_back({"visual.ln_post.weight", {768}});
    s.push_back({"visual.ln_post.bias", {768}});
    blocks("", 512);
    s.push_back({"token_embedding.weight", {49408, 512}});
    s.push_back({"ln_final.weight", {512}});
    s.push_back({"ln_final.bias", {512}});
    return s;
}

void generate(const std::string& st_path, const std::string& pt_path) {
    const auto shapes = clip_vit_b16_shapes();
    wsdol::NamedTensors tensors;
    int64_t params = 0;
    uint32_t state = 12345;
    for (const auto& [name, shape] : shapes) {
        wsdol::Tensor t = wsdol::Tensor::empty(shape, wsdol::DType::f32);
        float* p = t.data<float>();
        for (int64_t i = 0; i < t.numel(); ++i) {  // cheap deterministic values in [-0.5, 0.5)
            state = state * 1664525u + 1013904223u;
            p[i] = static_cast<float>(state >> 8) * (1.0f / 16777216.0f) - 0.5f;
        }
        params += t.numel();
        tensors.emplace_back(name, t);
    }
    WSDOL_CHECK(tensors.size() == 302 && params == 149620737, "bench_load: CLIP ViT-B/16 table is wrong (",
                tensors.size(), " tensors, ", params, " parameters)");
    std::printf("generating %s and %s (%zu tensors, %lld parameters)...\n", st_path.c_str(), pt_path.c_str(),
                tensors.size(), static_cast<long long>(params));
    wsdol::io::save_safetensors(st_path, tensors, {{"format", "pt"}});
    wsdol::weights::write_torch_zip(pt_path, tensors);
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

uint64_t touch_all(const wsdol::NamedTensors& tensors) {
    uint64_t sum = 0;
    for (const auto& [name, t] : tensors) {
        const size_t bytes = static_cast<size_t>(t.numel()) * wsdol::dtype_size(t.dtype());
        const uint8_t* p = static_cast<const uint8_t*>(t.data_ptr());
        size_t i = 0;
        uint64_t a = 0, b = 0, c = 0, d = 0;
        for (; i + 32 <= bytes; i += 32) {
            uint64_t w[4];
            std::memcpy(w, p + i, 32);
            a += w[0];
            b += w[1];
            c += w[2];
            d += w[3];
        }
        for (; i < bytes; ++i) a += p[i];
        sum += a + b + c + d;
    }
    return sum;
}

struct Stats {
    double median, min;
};
Stats stats(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return {v[v.size() / 2], v.front()};
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir = "/tmp";
    int repeats = 7;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--dir" && i + 1 < argc) dir = argv[++i];
        else if (a == "--repeats" && i + 1 < argc) repeats = std::max(1, std::atoi(argv[++i]));
        else {
            std::fprintf(stderr, "usage: bench_load [--dir DIR] [--repeats N]\n");
            return 2;
        }
    }
    const std::string st = dir + "/wsdol_bench_clip_vit_b16.safetensors";
    const std::string pt = dir + "/wsdol_bench_clip_vit_b16.pt";
    try {
        if (!std::filesystem::exists(st) || !std::filesystem::exists(pt)) generate(st, pt);
        std::printf("%-12s %-11s %10s %10s %9s %8s\n", "file", "what", "median_ms", "min_ms", "GB/s", "x_cat");
        for (const std::string& path : {st, pt}) {
            const double gb = static_cast<double>(std::filesystem::file_size(path)) * 1e-9;
            const std::string cat = "cat '" + path + "' > /dev/null";
            for (int w = 0; w < 2; ++w)
                if (std::system(cat.c_str()) != 0) throw wsdol::Error("bench_load: cat failed on " + path);
            std::vector<double> t_cat, t_open, t_touch;
            uint64_t check = 0;
            for (int r = 0; r < repeats; ++r) {
                auto t0 = Clock::now();
                if (std::system(cat.c_str()) != 0) throw wsdol::Error("bench_load: cat failed");
                t_cat.push_back(seconds_since(t0));
                t0 = Clock::now();
                { const wsdol::weights::WeightsFile w = wsdol::weights::read_weights(path); }
                t_open.push_back(seconds_since(t0));
                t0 = Clock::now();
                {
                    const wsdol::weights::WeightsFile w = wsdol::weights::read_weights(path);
                    check += touch_all(w.tensors);
                }
                t_touch.push_back(seconds_since(t0));
            }
            const Stats c = stats(t_cat), o = stats(t_open), t = stats(t_touch);
            const char* kind = path == st ? "safetensors" : "torch zip";
            std::printf("%-12s %-11s %10.1f %10.1f %9.2f %8s\n", kind, "cat", c.median * 1e3, c.min * 1e3,
                        gb / c.median, "1.00");
            std::printf("%-12s %-11s %10.1f %10.1f %9.2f %8.2f\n", kind, "open", o.median * 1e3, o.min * 1e3,
                        gb / o.median, o.median / c.median);
            std::printf("%-12s %-11s %10.1f %10.1f %9.2f %8.2f\n", kind, "open+touch", t.median * 1e3, t.min * 1e3,
                        gb / t.median, t.median / c.median);
            std::fflush(stdout);
            if (check == 42) std::printf(" ");  // keep the sums alive
        }
    } catch (const wsdol::Error& e) {
        std::fprintf(stderr, "bench_load: %s\n", e.what());
        return 1;
    }
    return 0;
}
