// cmd_demo.cpp — `wsdol demo --out DIR`: the whole pipeline on a fresh machine, CPU only, in library calls:
//   1. synth     the synthetic benchmark (apps/cmd_synth.cpp)                           DIR/data
//   2. clip      a small CLIP trained on its captions, zero-shot accuracy on val     DIR/clip
//                (models/clip_training.h)
//   3. train     CAM, MCTformer and MMCST small models (engine/train/trainer.h)      DIR/runs/<method>
//   4. infer     their maps on the train split + mIoU of the threshold sweep          DIR/maps/<method>
//                (engine/train/infer.h; the same numbers as `wsdol eval --task seg --sweep`)
//   5. report    DIR/report.html (inputs, ground truth, each method's maps; apps/cmd_report.cpp) and
//                DIR/results.json (per method: mIoU, best threshold, training time; the CLIP's zero-shot accuracy)
// and prints the table. The per-method configurations below are the demo's: small enough that the whole run fits
// in 15 minutes on 2 cores (each stage prints its time). A method missing from this build is skipped with a
// notice, so the pipeline always completes.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include "apps/cli.h"
#include "apps/progress.h"
#include "engine/io/atomic_file.h"
#include "engine/io/json.h"
#include "engine/train/infer.h"
#include "engine/train/trainer.h"
#include "kernels/cpu/parallel.h"
#include "models/method_registry.h"
#if __has_include("models/clip_training.h")
#include "models/clip_training.h"
#define WSDOL_DEMO_HAS_CLIP_TRAINING 1
#endif

namespace {

using namespace wsdol;
namespace fs = std::filesystem;

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The demo's size presets. "full" is the README's demo; "quick" is for tests (seconds).
struct DemoPreset {
    int64_t images, size, classes;
    int64_t clip_steps;
    int64_t epochs_scale_percent;  // 100: the per-method epochs below
    int64_t report_images;
};
DemoPreset preset(bool quick) {
    if (quick) return {24, 48, 3, 4, 10, 6};
    return {600, 64, 6, 360, 100, 16};
}

// One method's demo configuration: settings of engine/train/trainer.h (method options as "options.<key>").
struct DemoMethod {
    std::string label;  // as shown in the table
    std::string method;
    std::vector<std::pair<std::string, std::string>> settings;
    bool needs_clip = false;
};

std::vector<DemoMethod> demo_methods(const DemoPreset& p) {
    const std::string size = std::to_string(p.size);
    auto epochs = [&](int64_t e) { return std::to_string(std::max<int64_t>(1, e * p.epochs_scale_percent / 100)); };
    // Small ViTs (patch 8 on 64 px: 8 x 8 tokens) so that each method trains in a few minutes on 2 cores.
    const std::vector<std::pair<std::string, std::string>> small_vit = {
        {"options.image_size", size}, {"options.patch_size", "8"}, {"options.embed_dim", "96"},
        {"options.depth", "4"},       {"options.num_heads", "3"}};
    std::vector<DemoMethod> v;
    {
        DemoMethod m{"CAM", "cam", {{"epochs", epochs(5)}, {"batch_size", "16"}, {"input_size", size},
                                    {"augmentation", "flip"}, {"warmup_epochs", "1"}, {"options.backbone", "vit"}}};
        for (const auto& kv : small_vit) m.settings.push_back(kv);
        v.push_back(m);
    }
    {
        DemoMethod m{"MCTformer", "mctformer", {{"epochs", epochs(5)}, {"batch_size", "16"}, {"input_size", size},
                                                {"augmentation", "flip"}, {"lr", "5e-4"}, {"warmup_epochs", "1"}}};
        for (const auto& kv : small_vit) m.settings.push_back(kv);
        v.push_back(m);
    }
    {
        DemoMethod m{"MMCST", "mmcst", {{"epochs", epochs(5)}, {"batch_size", "16"}, {"input_size", size},
                                        {"augmentation", "flip"}, {"lr", "5e-4"}, {"warmup_epochs", "1"}}, true};
        for (const auto& kv : small_vit) m.settings.push_back(kv);
        v.push_back(m);
    }
    v.push_back(DemoMethod{"tinycam", "tinycam", {{"epochs", epochs(6)}, {"input_size", size}}});
    return v;
}

std::string fixed(double v, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

struct StageTimer {
    std::vector<std::pair<std::string, double>> stages;
    void done(const std::string& name, Clock::time_point start) {
        const double s = since(start);
        stages.emplace_back(name, s);
        std::printf("[demo] %-28s %7.1f s\n", name.c_str(), s);
        std::fflush(stdout);
    }
};

int run_demo(const std::vector<std::string>& args) {
    cli::Args a("demo", args, {"out", "methods", "threads", "seed", "images"}, {"quick", "quiet"});
    WSDOL_CHECK(a.positional().empty(), "demo: unexpected argument '", a.positional().empty() ? "" : a.positional()[0],
                "'");
    const auto out_arg = a.get("out");
    WSDOL_CHECK(out_arg, "demo: --out DIR is required");
    const fs::path out(*out_arg);
    // Never write into a user's folder: DIR must be new, empty, or an earlier demo output.
    if (fs::exists(out)) {
        WSDOL_CHECK(fs::is_directory(out), "demo: --out ", out.string(), " exists and is not a folder");
        WSDOL_CHECK(fs::is_empty(out) || fs::exists(out / "demo.json"), "demo: --out ", out.string(),
                    " is not empty and is not an earlier demo output (no demo.json): choose another folder");
        for (const char* sub : {"runs", "maps"}) fs::remove_all(out / sub);
    }
    fs::create_directories(out);
    io::write_file_atomic((out / "demo.json").string(), "{\"generator\": \"wsdol demo\"}\n");
    if (a.get("threads")) cpu::set_num_threads(int(a.get_int("threads", 0)));
    const bool quick = a.flag("quick"), quiet = a.flag("quiet");
    DemoPreset p = preset(quick);
    p.images = a.get_int("images", p.images);
    const uint64_t seed = uint64_t(a.get_int("seed", 0));
    std::vector<DemoMethod> methods = demo_methods(p);
    {  // --methods a,b,c selects (default: cam, mctformer, mmcst; tinycam stands in when none of them is built)
        std::vector<std::string> wanted;
        std::stringstream ss(a.get_or("methods", "cam,mctformer,mmcst"));
        std::string item;
        while (std::getline(ss, item, ','))
            if (!item.empty()) wanted.push_back(item);
        std::vector<DemoMethod> selected;
        for (const auto& w : wanted) {
            bool found = false;
            for (const auto& m : methods)
                if (m.method == w) selected.push_back(m), found = true;
            WSDOL_CHECK(found, "demo: --methods: unknown method '", w, "' (cam, mctformer, mmcst, tinycam)");
        }
        methods = selected;
    }
    std::printf("[demo] writing to %s (%d threads)%s\n", out.string().c_str(), cpu::num_threads(),
                quick ? ", quick preset" : "");
    const auto demo_start = Clock::now();
    StageTimer timer;
    json::Value results = json::Value::object();

    // 1. synthetic benchmark
    const std::string data_dir = (out / "data").string();
    {
        const auto t = Clock::now();
        const int rc = cli::commands().at("synth").run(
            {"--out", data_dir, "--images", std::to_string(p.images), "--size", std::to_string(p.size), "--classes",
             std::to_string(p.classes), "--seed", std::to_string(seed), "--quiet"});
        WSDOL_CHECK(rc == 0, "demo: synth failed");
        timer.done("synth", t);
        json::Value s = json::Value::object();
        s.set("images", p.images);
        s.set("size", p.size);
        s.set("classes", p.classes);
        s.set("seed", int64_t(seed));
        results.set("synth", s);
    }

    // 2. small CLIP
    std::string clip_file, clip_vocab;
    {
        json::Value c = json::Value::object();
#ifdef WSDOL_DEMO_HAS_CLIP_TRAINING
        const auto t = Clock::now();
        models::SmallClipOptions o;
        o.steps = p.clip_steps;
        o.seed = seed;
        o.model.image_size = p.size;
        std::unique_ptr<cli::Progress> bar;
        if (!quiet)
            o.on_step = [&](const models::ClipTrainProgress& s) {
                if (!bar) bar = std::make_unique<cli::Progress>("clip", s.steps, "step");
                char extra[96];
                std::snprintf(extra, sizeof extra, "loss %.4f  lr %.3g", s.loss, s.lr);
                bar->update(s.step, extra);
            };
        const models::SmallClipResult r = models::train_small_clip(data_dir, o);
        const std::string clip_dir = (out / "clip").string();
        models::write_small_clip(clip_dir, r, o);
        clip_file = (fs::path(clip_dir) / "clip.safetensors").string();
        clip_vocab = (fs::path(clip_dir) / "vocab.txt.gz").string();
        timer.done("train small CLIP", t);
        c.set("zero_shot_top1", 100 * r.zero_shot.top1);
        c.set("zero_shot_single_object", 100 * r.zero_shot.single_object);
        c.set("zero_shot_mean_ap", 100 * r.zero_shot.mean_ap);
        c.set("val_images", r.val_images);
        c.set("steps", r.steps);
        c.set("train_seconds", r.train_seconds);
        c.set("checkpoint", clip_file);
#else
        std::printf("[demo] small CLIP: not in this build (models/clip_training missing); MMCST is skipped\n");
        c.set("available", false);
#endif
        results.set("clip", c);
    }

    // 3-4. train each method, then its maps and mIoU on the train split
    json::Value method_results = json::Value::object();
    struct Row {
        std::string label;
        double miou = NAN, threshold = NAN, train_seconds = 0, infer_seconds = 0;
        std::string note;
    };
    std::vector<Row> rows;
    std::vector<std::string> report_methods;
    for (const DemoMethod& m : methods) {
        Row row;
        row.label = m.label;
        json::Value mr = json::Value::object();
        if (!models::has_method(m.method) || (m.needs_clip && clip_file.empty())) {
            row.note = !models::has_method(m.method) ? "not in this build" : "no CLIP";
            std::printf("[demo] %s: skipped (%s)\n", m.label.c_str(), row.note.c_str());
            mr.set("skipped", row.note);
            method_results.set(m.method, mr);
            rows.push_back(row);
            continue;
        }
        train::TrainSettings s;
        s.set("method", m.method);
        s.set("data", data_dir);
        s.set("out", (out / "runs" / m.method).string());
        s.set("seed", std::to_string(seed));
        s.set("checkpoint_every", "0");
        if (m.needs_clip) {
            s.set("clip", clip_file);
            s.set("clip_vocab", clip_vocab);
        }
        for (const auto& [k, v] : m.settings) s.set(k, v);
        train::TrainHooks hooks;
        hooks.log = [](const std::string& line) { std::printf("[demo]   %s\n", line.c_str()); std::fflush(stdout); };
        std::unique_ptr<cli::Progress> bar;
        if (!quiet) {
            hooks.on_start = [&](const train::StepInfo& st) {
                bar = std::make_unique<cli::Progress>(m.method, (st.total_steps - st.first_step) * st.batch_size, "img");
            };
            hooks.on_step = [&](const train::StepInfo& st) {
                char extra[160];
                std::snprintf(extra, sizeof extra, "step %lld/%lld  loss %.4f  lr %.3g", (long long)st.step,
                              (long long)st.total_steps, st.loss, st.lr);
                bar->update((st.step - st.first_step) * st.batch_size, extra);
            };
        }
        auto t = Clock::now();
        const train::TrainResult tr = train::train(s, hooks);
        row.train_seconds = since(t);
        timer.done("train " + m.label, t);

        t = Clock::now();
        train::InferOptions io;
        io.checkpoint = tr.checkpoint;
        io.data = data_dir;
        io.split = "train";
        io.out = (out / "maps" / m.method).string();
        io.clip = clip_file;
        const train::InferResult ir = train::run_inference(io);
        row.infer_seconds = since(t);
        timer.done("localize " + m.label, t);
        row.miou = ir.best_miou;
        row.threshold = ir.best_threshold;
        mr.set("mIoU", ir.best_miou);
        mr.set("best_threshold", ir.best_threshold);
        json::Value curve = json::Value::array();
        for (const auto& [th, mi] : ir.curve) {
            json::Value pt = json::Value::array();
            pt.push_back(th);
            pt.push_back(std::isfinite(mi) ? json::Value(mi) : json::Value());
            curve.push_back(pt);
        }
        mr.set("curve", curve);
        mr.set("train_seconds", tr.seconds);
        mr.set("infer_seconds", ir.seconds);
        mr.set("steps", tr.total_steps);
        mr.set("final_loss", tr.losses.empty() ? 0.0 : tr.losses.back());
        mr.set("config", json::parse(train::config_json(tr.config)));
        method_results.set(m.method, mr);
        rows.push_back(row);
        report_methods.push_back(m.label + "=" + io.out);
    }
    results.set("methods", method_results);
    results.set("split", "train");
    results.set("miou_protocol", "CAMs of the train split with image labels; background threshold sweep t = 0.00, "
                                 "0.01, ... (MCTformer), mIoU over classes with ground truth (ToCo rule)");

    // 5. report + results
    {
        const auto t = Clock::now();
        if (!report_methods.empty()) {
            std::vector<std::string> rargs = {"--data", data_dir, "--list",
                                              data_dir + "/ImageSets/Segmentation/train.txt", "--out",
                                              (out / "report.html").string(), "--max-images",
                                              std::to_string(p.report_images), "--title",
                                              "wsdol demo: synthetic benchmark, train split", "--quiet"};
            for (const auto& rm : report_methods) {
                rargs.push_back("--method");
                rargs.push_back(rm);
            }
            const std::string metrics_file = (out / "results_for_report.json").string();
            json::Value table = json::Value::object();
            for (const Row& r : rows)
                if (std::isfinite(r.miou)) table.set(r.label + " mIoU (best threshold " + fixed(r.threshold, 2) + ")", r.miou);
            if (const json::Value* c = results.find("clip"); c && c->find("zero_shot_top1"))
                table.set("small CLIP zero-shot top-1", c->at("zero_shot_top1"));
            io::write_file_atomic(metrics_file, json::dump(table) + "\n");
            rargs.push_back("--metrics");
            rargs.push_back("results=" + metrics_file);
            const int rc = cli::commands().at("report").run(rargs);
            WSDOL_CHECK(rc == 0, "demo: report failed");
        }
        timer.done("report", t);
    }
    const double total = since(demo_start);
    json::Value stages = json::Value::object();
    for (const auto& [name, s] : timer.stages) stages.set(name, s);
    results.set("stage_seconds", stages);
    results.set("total_seconds", total);
    results.set("threads", cpu::num_threads());
    io::write_file_atomic((out / "results.json").string(), json::dump(results) + "\n");

    // The table.
    std::printf("\n%-12s %10s %10s %10s %10s\n", "method", "mIoU", "threshold", "train s", "infer s");
    for (const Row& r : rows) {
        if (!std::isfinite(r.miou)) {
            std::printf("%-12s %10s   (%s)\n", r.label.c_str(), "-", r.note.c_str());
            continue;
        }
        std::printf("%-12s %10s %10s %10s %10s\n", r.label.c_str(), fixed(r.miou, 2).c_str(),
                    fixed(r.threshold, 2).c_str(), fixed(r.train_seconds, 1).c_str(), fixed(r.infer_seconds, 1).c_str());
    }
    if (const json::Value* c = results.find("clip"); c && c->find("zero_shot_top1"))
        std::printf("small CLIP zero-shot top-1 accuracy on val: %s%%\n", fixed(c->at("zero_shot_top1").as_double(), 1).c_str());
    // The expected ordering (the paper's claim): MMCST > MCTformer > CAM.
    std::map<std::string, double> by;
    for (const Row& r : rows) by[r.label] = r.miou;
    if (by.count("MMCST") && by.count("MCTformer") && by.count("CAM") && std::isfinite(by["MMCST"]) &&
        std::isfinite(by["MCTformer"]) && std::isfinite(by["CAM"])) {
        const bool ordered = by["MMCST"] > by["MCTformer"] && by["MCTformer"] > by["CAM"];
        std::printf("expected ordering MMCST > MCTformer > CAM: %s (%s > %s > %s)\n", ordered ? "holds" : "does NOT hold",
                    fixed(by["MMCST"], 2).c_str(), fixed(by["MCTformer"], 2).c_str(), fixed(by["CAM"], 2).c_str());
    }
    std::printf("total %.1f s; wrote %s and %s\n", total, (out / "report.html").string().c_str(),
                (out / "results.json").string().c_str());
    return 0;
}

}  // namespace

WSDOL_COMMAND(wsdol::cli::Command{
    "demo", "the whole pipeline on the synthetic benchmark: CLIP, CAM, MCTformer, MMCST, maps, mIoU, HTML report",
    "usage: wsdol demo --out DIR [--methods cam,mctformer,mmcst] [--images N] [--seed S] [--threads T] [--quick]\n"
    "                  [--quiet]\n\n"
    "Generates the synthetic benchmark (DIR/data), trains a small CLIP on its captions (DIR/clip; zero-shot\n"
    "accuracy on val), trains small CAM, MCTformer and MMCST models (DIR/runs/<method>/checkpoint.safetensors),\n"
    "writes their maps on the train split (DIR/maps/<method>/<id>.npy, .png), evaluates them (mIoU with the\n"
    "MCTformer background-threshold sweep, as `wsdol eval --task seg --sweep`), and writes DIR/report.html (inputs,\n"
    "ground truth, each method's maps) and DIR/results.json (per method: mIoU, best threshold, training time; the\n"
    "CLIP's zero-shot accuracy; the time of every stage). Prints each stage's time and the final table.\n"
    "CPU only; about 15 minutes on 2 cores. DIR must be new, empty or an earlier demo output.\n"
    "--quick: a seconds-long run on a tiny set (tests). --methods tinycam runs the two-layer CAM stand-in.",
    run_demo});
