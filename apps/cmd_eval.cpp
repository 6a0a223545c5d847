// cmd_eval.cpp — `wsdol eval`: localisation / segmentation metrics from saved predictions.
//
//   --task seg   VOC-style label maps (PNG) or class activation maps (.npy) against segmentation masks: mIoU
//                (confusion matrix over the set, 255 ignored), fixed background threshold or MCTformer's sweep.
//   --task box   wsolevaluation score maps against GT boxes: MaxBoxAcc and MaxBoxAccV2 (--protocol wsol), or
//                fixed-threshold Top-1 / Top-5 / GT-known Loc in the TS-CAM or CDTR conventions.
//   --task mask  wsolevaluation score maps against OpenImages-style masks: PxAP and pIoU.
// The ground-truth layouts are in engine/eval/eval_data.h; the metric conventions in engine/eval/*.h and
// ../shared/docs/data-eval.md. Every error names the file (missing prediction for an id, wrong size, bad values).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>
#include <sstream>

#include "apps/cli.h"
#include "apps/progress.h"
#include "engine/data/datasets.h"
#include "engine/data/image_io.h"
#include "engine/data/npy.h"
#include "engine/eval/boxes.h"
#include "engine/eval/eval_data.h"
#include "engine/eval/home_background.h"
#include "engine/data/synth.h"
#include "engine/eval/loc_metrics.h"
#include "engine/eval/mask_gt.h"
#include "engine/eval/seg_metrics.h"
#include "engine/eval/wsol_metrics.h"
#include "engine/io/json.h"

namespace {

using namespace wsdol;
using namespace wsdol::eval;
namespace fs = std::filesystem;
using json::Value;

bool file_exists(const std::string& p) { return fs::is_regular_file(p); }

Value number(double v) { return std::isfinite(v) ? Value(v) : Value(); }

std::string fmt(double v, int digits = 3) {
    if (!std::isfinite(v)) return "nan";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

// A 2-D or 3-D float score array from a .npy file, kept in its own precision.
struct ScoreArray {
    Tensor t;  // f32 or f64, contiguous
    bool f32() const { return t.dtype() == DType::f32; }
    const float* fdata() const { return t.data<float>(); }
    const double* ddata() const { return t.data<double>(); }
};

ScoreArray load_scores(const std::string& path, int dims) {
    ScoreArray a{data::read_npy(path)};
    WSDOL_CHECK(a.t.dtype() == DType::f32 || a.t.dtype() == DType::f64, path, ": expected float32 or float64 scores, got ",
                dtype_name(a.t.dtype()));
    WSDOL_CHECK(a.t.dim() == dims, path, ": expected a ", dims, "-D array, got shape ", shape_str(a.t.shape()));
    a.t = a.t.contiguous();
    return a;
}

// A number option that must lie in [lo, hi] (NaN and infinities are refused): the error names the option.
double bounded(const cli::Args& a, const std::string& key, double fallback, double lo, double hi) {
    const double v = a.get_double(key, fallback);
    WSDOL_CHECK(std::isfinite(v) && v >= lo && v <= hi, "--", key, " must be a number in [", lo, ", ", hi,
                "], got '", a.get_or(key, ""), "'");
    return v;
}

std::string hxw(int64_t h, int64_t w) { return std::to_string(h) + "x" + std::to_string(w); }

// A progress line on stderr for the text report (none with --json, whose output is one JSON object).
struct MaybeProgress {
    std::unique_ptr<cli::Progress> bar;
    MaybeProgress(bool as_json, const std::string& label, size_t total) {
        if (!as_json) bar = std::make_unique<cli::Progress>(label, static_cast<int64_t>(total), "img");
    }
    void update(size_t done) {
        if (bar) bar->update(static_cast<int64_t>(done));
    }
};

// ---------------------------------------------------------------------------------------------------------------
// seg

int run_seg(const cli::Args& a, bool as_json) {
    const std::string data_dir = *a.get("data"), pred_dir = *a.get("pred");
    // Default: the classes listed in DIR/classes.txt ("k name" lines, as `wsdol synth` writes), else VOC's 21.
    const std::string class_file = data_dir + "/classes.txt";
    const int default_classes = file_exists(class_file) ? static_cast<int>(read_text_lines(class_file).size()) : 21;
    const int num_classes = static_cast<int>(a.get_int("classes", default_classes));
    WSDOL_CHECK(num_classes >= 2 && num_classes <= 255, "--classes must be in 2..255, got ", num_classes);
    const MiouRule rule = miou_rule_from_name(a.get_or("miou-rule", "toco"));

    // The split's ids (--split, default train as every command; --list FILE names any id file instead).
    WSDOL_CHECK(!(a.get("split") && a.get("list")), "eval: --split and --list both name the ids: give one");
    const std::string split = a.get_or("split", "train");
    std::string list = a.get_or("list", data_dir + "/ImageSets/Segmentation/" + split + ".txt");
    WSDOL_CHECK(file_exists(list), list, ": id list not found (",
                a.get("list") ? "--list" : "split '" + split + "'; --split NAME or --list FILE", ")");
    const auto ids = read_id_list(list);
    WSDOL_CHECK(!ids.empty(), list, ": no ids (an empty split; --split NAME or --list FILE)");

    std::string gt_name = a.get_or("gt-dir", "");
    if (gt_name.empty())
        gt_name = fs::is_directory(data_dir + "/SegmentationClassAug") ? "SegmentationClassAug" : "SegmentationClass";
    const std::string gt_dir = data_dir + "/" + gt_name;
    WSDOL_CHECK(fs::is_directory(gt_dir), gt_dir, ": ground-truth folder not found (see --gt-dir)");

    // Prediction kind: --pred-type, else the kind of the first id's file. `wsdol infer` writes both, maps (.npy)
    // and seeds (.png): --threshold or --sweep asks for the maps, else the seeds are scored.
    std::string pred_type = a.get_or("pred-type", "auto");
    WSDOL_CHECK(pred_type == "auto" || pred_type == "png" || pred_type == "npy", "--pred-type must be png, npy or auto");
    const bool sweep = a.flag("sweep");
    if (pred_type == "auto") {
        const bool npy = file_exists(pred_dir + "/" + ids[0] + ".npy"), png = file_exists(pred_dir + "/" + ids[0] + ".png");
        pred_type = npy && (!png || sweep || a.get("threshold")) ? "npy" : "png";
    }
    const bool cams = pred_type == "npy";
    WSDOL_CHECK(!(sweep && a.get("threshold")), "--sweep and --threshold exclude each other");
    WSDOL_CHECK(!cams || sweep || a.get("threshold"), "CAM predictions (.npy) need --threshold T or --sweep");
    WSDOL_CHECK(cams || (!sweep && !a.get("threshold")), "--threshold/--sweep apply to CAM predictions (.npy) only");
    // CAMs are compared after normalisation to [0, 1] (as infer writes them), so a threshold outside is a mistake.
    const double threshold = bounded(a, "threshold", 0.0, 0.0, 1.0);
    // Class names for the per-class lines: DIR/classes.txt, else VOC's when there are 21 classes, else numbers.
    std::vector<std::string> class_names = file_exists(class_file) ? data::read_class_names(class_file)
                                           : num_classes == 21    ? data::voc_class_names()
                                                                  : std::vector<std::string>{};
    if (class_names.size() != size_t(num_classes)) class_names.clear();  // --classes overrides the file

    std::map<std::string, std::vector<int>> labels;
    const auto labels_file = a.get("labels");
    if (labels_file) labels = read_image_labels(*labels_file, num_classes - 1);

    // The image's foreground classes: --labels FILE, else the classes present in the GT mask.
    auto image_classes = [&](const std::string& id, const data::Image& gt) {
        std::vector<int> classes;
        if (labels_file) {
            auto it = labels.find(id);
            WSDOL_CHECK(it != labels.end(), *labels_file, ": no image labels for id ", id);
            classes = it->second;
        } else {
            std::set<int> present;
            for (uint8_t v : gt.pixels)
                if (v != 0 && v < num_classes) present.insert(v);
            classes.assign(present.begin(), present.end());
        }
        return classes;
    };
    // --home-background: each image's scene background from DIR/captions.txt (synth), read before the metrics.
    const bool home = a.flag("home-background");
    std::map<std::string, int> scene_background;
    if (home) {
        const std::string captions = data_dir + "/captions.txt";
        WSDOL_CHECK(file_exists(captions), captions, ": --home-background needs the synthetic benchmark's captions "
                    "(`wsdol synth` writes them)");
        for (const std::string& line : read_text_lines(captions)) {
            const size_t tab = line.find('\t');
            WSDOL_CHECK(tab != std::string::npos, captions, ": expected '<id>\t<caption>', got '", line, "'");
            const int b = data::synth_caption_background(line.substr(tab + 1));
            WSDOL_CHECK(b >= 0, captions, ": the caption of ", line.substr(0, tab), " names no synth background");
            scene_background[line.substr(0, tab)] = b;
        }
        for (const std::string& id : ids)
            WSDOL_CHECK(scene_background.count(id), captions, ": no caption for id ", id);
        WSDOL_CHECK(num_classes - 1 <= data::kSynthMaxClasses, "--home-background: ", num_classes - 1,
                    " foreground classes; the synthetic benchmark has at most ", data::kSynthMaxClasses);
    }

    std::vector<double> thresholds = sweep ? mctformer_thresholds(static_cast<int>(a.get_int("sweep-start", 0)),
                                                                  static_cast<int>(a.get_int("sweep-end", 60)))
                                           : std::vector<double>{threshold};
    ThresholdSweep sweeper(num_classes, thresholds);
    ConfusionMatrix confusion(num_classes);

    MaybeProgress progress(as_json, "eval seg", ids.size());
    size_t done = 0;
    for (const std::string& id : ids) {
        progress.update(done++);
        const std::string gt_path = gt_dir + "/" + id + ".png";
        WSDOL_CHECK(file_exists(gt_path), gt_path, ": ground truth missing for id ", id);
        const data::Image gt = data::read_label_png(gt_path);
        const std::string pred_path = pred_dir + "/" + id + (cams ? ".npy" : ".png");
        WSDOL_CHECK(file_exists(pred_path), "missing prediction for id ", id, " (expected ", pred_path, ")");
        if (!cams) {
            const data::Image pred = data::read_label_png(pred_path);
            WSDOL_CHECK(pred.height == gt.height && pred.width == gt.width, pred_path, ": wrong size ",
                        hxw(pred.height, pred.width), " (HxW) vs ground truth ", hxw(gt.height, gt.width));
            try {
                confusion.add(gt.pixels.data(), pred.pixels.data(), gt.height * gt.width);
            } catch (const Error& e) {
                fail(str(pred_path, ": ", e.what()));
            }
            continue;
        }
        const ScoreArray cam = load_scores(pred_path, 3);
        WSDOL_CHECK(cam.t.size(0) == num_classes - 1, pred_path, ": expected ", num_classes - 1,
                    " foreground CAM channels (--classes ", num_classes, "), got shape ", shape_str(cam.t.shape()));
        WSDOL_CHECK(cam.t.size(1) == gt.height && cam.t.size(2) == gt.width, pred_path, ": wrong size ",
                    hxw(cam.t.size(1), cam.t.size(2)), " (HxW) vs ground truth ", hxw(gt.height, gt.width));
        const std::vector<int> classes = image_classes(id, gt);
        const int64_t n = cam.t.numel();
        if (cam.f32()) {
            for (int64_t i = 0; i < n; ++i) WSDOL_CHECK(!std::isnan(cam.fdata()[i]), pred_path, ": CAM contains NaN");
            sweeper.add(gt.pixels.data(), cam.fdata(), num_classes - 1, gt.height, gt.width, classes);
        } else {
            for (int64_t i = 0; i < n; ++i) WSDOL_CHECK(!std::isnan(cam.ddata()[i]), pred_path, ": CAM contains NaN");
            sweeper.add(gt.pixels.data(), cam.ddata(), num_classes - 1, gt.height, gt.width, classes);
        }
    }
    progress.update(done);

    Value out = Value::object();
    out.set("task", "seg");
    out.set("images", static_cast<int64_t>(ids.size()));
    out.set("classes", num_classes);
    out.set("gt_dir", gt_name);
    out.set("pred_type", pred_type);
    out.set("miou_rule", miou_rule_name(rule));
    size_t chosen = 0;
    if (cams) {
        out.set("labels_from", labels_file ? "file" : "gt");
        if (sweep) {
            const SweepResult r = mctformer_sweep(sweeper, rule);
            for (size_t j = 0; j < thresholds.size(); ++j)
                if (thresholds[j] == r.best_threshold) chosen = j;
            if (r.best_miou <= 0) chosen = 0;
            out.set("best_threshold", r.best_threshold);
            Value curve = Value::array();
            for (const auto& [t, m] : r.curve) {
                Value p = Value::array();
                p.push_back(t);
                p.push_back(number(m));
                curve.push_back(p);
            }
            out.set("curve", curve);
        } else {
            out.set("threshold", threshold);
        }
        confusion = sweeper.confusion(chosen);
    }
    const SegScores s = confusion.scores(rule);
    // Home backgrounds: a second pass labelling the predictions at the chosen threshold.
    HomeBackgroundMeter home_meter(home ? num_classes - 1 : 1);
    if (home) {
        for (const std::string& id : ids) {
            const data::Image gt = data::read_label_png(gt_dir + "/" + id + ".png");
            const std::string pred_path = pred_dir + "/" + id + (cams ? ".npy" : ".png");
            std::vector<uint8_t> pred(size_t(gt.height * gt.width));
            const std::vector<int> classes = image_classes(id, gt);
            if (cams) {
                const ScoreArray cam = load_scores(pred_path, 3);
                if (cam.f32())
                    cams_to_labels(cam.fdata(), num_classes - 1, gt.height, gt.width, classes, thresholds[chosen],
                                   pred.data());
                else
                    cams_to_labels(cam.ddata(), num_classes - 1, gt.height, gt.width, classes, thresholds[chosen],
                                   pred.data());
            } else {
                pred = data::read_label_png(pred_path).pixels;
            }
            home_meter.add(gt.pixels.data(), pred.data(), gt.height * gt.width, classes, scene_background.at(id));
        }
        Value hb = Value::array();
        for (size_t k = 0; k < home_meter.classes().size(); ++k) {
            const HomeBackgroundClass& c = home_meter.classes()[k];
            Value v = Value::object();
            v.set("class", int64_t(k + 1));
            if (!class_names.empty()) v.set("name", class_names[k + 1]);
            v.set("home_background", data::synth_background_names()[size_t(data::synth_home_background(int(k + 1)))]);
            v.set("home_images", c.home_images);
            v.set("home_pixels", c.home_pixels);
            v.set("home_marked", c.home_marked);
            v.set("home_fraction", number(c.home_fraction()));
            v.set("away_images", c.away_images);
            v.set("away_pixels", c.away_pixels);
            v.set("away_marked", c.away_marked);
            v.set("away_fraction", number(c.away_fraction()));
            hb.push_back(v);
        }
        out.set("home_background", hb);
    }
    out.set("mIoU", number(s.miou));
    Value per = Value::array();
    for (double v : s.iou) per.push_back(number(v));
    out.set("per_class_IoU", per);
    if (!class_names.empty()) {
        Value names = Value::array();
        for (const std::string& n : class_names) names.push_back(n);
        out.set("class_names", names);
    }
    out.set("pixel_accuracy", number(s.pixel_accuracy));
    out.set("mean_accuracy", number(s.mean_accuracy));
    out.set("pixels", s.pixels);
    if (as_json) {
        std::printf("%s\n", json::dump(out).c_str());
        return 0;
    }
    std::printf("seg: %zu images, %d classes, GT %s, predictions %s, mIoU rule %s\n", ids.size(), num_classes,
                gt_name.c_str(), pred_type.c_str(), miou_rule_name(rule));
    if (cams) std::printf("background threshold %s%s\n", fmt(thresholds[chosen], 2).c_str(), sweep ? " (best of sweep)" : "");
    std::printf("mIoU %s  pixel acc %s  mean acc %s\n", fmt(s.miou).c_str(), fmt(s.pixel_accuracy).c_str(),
                fmt(s.mean_accuracy).c_str());
    for (int c = 0; c < num_classes; ++c)
        if (s.has_gt[c] || std::isfinite(s.iou[c]))
            std::printf("  class %2d %-14s IoU %s\n", c, class_names.empty() ? "" : class_names[size_t(c)].c_str(),
                        fmt(s.iou[c]).c_str());
    if (home) {
        std::printf("GT-background pixels marked as the class, on its home background / on the others:\n");
        for (size_t k = 0; k < home_meter.classes().size(); ++k) {
            const HomeBackgroundClass& c = home_meter.classes()[k];
            std::printf("  class %2zu %-14s home %-7s %s (%lld images)  away %s (%lld images)\n", k + 1,
                        class_names.empty() ? "" : class_names[k + 1].c_str(),
                        data::synth_background_names()[size_t(data::synth_home_background(int(k + 1)))].c_str(),
                        fmt(c.home_fraction(), 4).c_str(), static_cast<long long>(c.home_images),
                        fmt(c.away_fraction(), 4).c_str(), static_cast<long long>(c.away_images));
        }
    }
    return 0;
}

// ---------------------------------------------------------------------------------------------------------------
// box / mask: score maps named like wsolevaluation's (PRED/<image_id>.npy, image_id keeping its extension);
// PRED/<image_id without extension>.npy is accepted too.

std::string score_map_path(const std::string& pred_dir, const std::string& id) {
    const std::string a = pred_dir + "/" + id + ".npy";
    if (file_exists(a)) return a;
    const std::string b = pred_dir + "/" + fs::path(id).replace_extension(".npy").string();
    if (file_exists(b)) return b;
    fail(str("missing prediction for id ", id, " (expected ", a, " or ", b, ")"));
}

ScoreArray load_score_map(const std::string& path, int64_t size) {
    ScoreArray m = load_scores(path, 2);
    WSDOL_CHECK(m.t.size(0) == size && m.t.size(1) == size, path, ": wrong size ", hxw(m.t.size(0), m.t.size(1)),
                " (HxW) vs ", hxw(size, size), " (--size)");
    if (m.f32()) {
        check_scoremap(m.fdata(), m.t.numel(), path);
    } else {
        check_scoremap(m.ddata(), m.t.numel(), path);
    }
    return m;
}

std::vector<int> parse_iou_list(const std::string& s) {
    std::vector<int> out;
    std::stringstream ss(s);
    std::string tok;
    while (std::getline(ss, tok, ',')) {
        try {
            out.push_back(std::stoi(tok));
        } catch (...) {
            fail(str("--iou expects comma-separated integers (percent), got '", s, "'"));
        }
    }
    WSDOL_CHECK(!out.empty(), "--iou is empty");
    return out;
}

int run_box(const cli::Args& a, bool as_json) {
    const std::string pred_dir = *a.get("pred");
    const WsolMetadata meta = read_wsol_metadata(*a.get("data"));
    WSDOL_CHECK(meta.has_boxes(), meta.dir, "/localization.txt: holds masks, not boxes (use --task mask)");
    WSDOL_CHECK(!meta.sizes.empty(), meta.dir, "/image_sizes.txt: missing (needed to scale the boxes)");
    const int64_t size = a.get_int("size", 224);
    WSDOL_CHECK(size > 0, "--size must be positive");
    const std::string protocol = a.get_or("protocol", "wsol");
    WSDOL_CHECK(protocol == "wsol" || protocol == "tscam" || protocol == "cdtr",
                "--protocol must be wsol, tscam or cdtr, got '", protocol, "'");

    auto size_of = [&](const std::string& id) {
        auto it = meta.sizes.find(id);
        WSDOL_CHECK(it != meta.sizes.end(), meta.dir, "/image_sizes.txt: no size for ", id);
        return it->second;
    };
    Value out = Value::object();
    out.set("task", "box");
    out.set("protocol", protocol);
    out.set("images", static_cast<int64_t>(meta.image_ids.size()));

    if (protocol == "wsol") {
        const auto thresholds = wsol_thresholds(bounded(a, "interval", 0.01, 1e-4, 1.0));
        const auto ious = parse_iou_list(a.get_or("iou", "30,50,70"));
        BoxAccumulator acc(thresholds, ious);
        MaybeProgress progress(as_json, "eval box", meta.image_ids.size());
        size_t done = 0;
        for (const std::string& id : meta.image_ids) {
            progress.update(done++);
            const auto [w, h] = size_of(id);
            std::vector<Box> gt;
            for (const Box& b : meta.boxes.at(id)) gt.push_back(wsol_resize_box(b, w, h, size, size));
            const std::string path = score_map_path(pred_dir, id);
            const ScoreArray m = load_score_map(path, size);
            const auto u8 = m.f32() ? heatmap_u8(m.fdata(), size * size) : heatmap_u8(m.ddata(), size * size);
            acc.add(u8.data(), size, size, gt);
        }
        progress.update(done);
        const BoxAccResult v1 = acc.compute(false), v2 = acc.compute(true);
        Value per = Value::object(), per_v1 = Value::object(), best = Value::object();
        for (size_t d = 0; d < ious.size(); ++d) {
            per.set(std::to_string(ious[d]), v2.max_box_acc[d]);
            per_v1.set(std::to_string(ious[d]), v1.max_box_acc[d]);
            best.set(std::to_string(ious[d]), thresholds[v2.best_threshold_index[d]]);
        }
        bool has50 = false;
        for (int d : ious) has50 |= d == 50;
        if (has50) out.set("MaxBoxAcc", v1.at(50));
        out.set("MaxBoxAccV2", v2.mean());
        out.set("MaxBoxAccV2_per_iou", per);
        out.set("best_threshold_per_iou", best);
        out.set("MaxBoxAcc_largest_contour_per_iou", per_v1);
        out.set("thresholds", static_cast<int64_t>(thresholds.size()));
        if (as_json) {
            std::printf("%s\n", json::dump(out).c_str());
            return 0;
        }
        std::printf("box (wsolevaluation): %zu images, %zu score-map thresholds\n", meta.image_ids.size(),
                    thresholds.size());
        if (has50) std::printf("MaxBoxAcc (largest contour, IoU 50)  %s\n", fmt(v1.at(50)).c_str());
        std::printf("MaxBoxAccV2 (all contours, mean over IoU");
        for (int d : ious) std::printf(" %d", d);
        std::printf(")  %s\n", fmt(v2.mean()).c_str());
        for (size_t d = 0; d < ious.size(); ++d)
            std::printf("  IoU %d: %s at tau %s\n", ious[d], fmt(v2.max_box_acc[d]).c_str(),
                        fmt(thresholds[v2.best_threshold_index[d]], 3).c_str());
        return 0;
    }

    // TS-CAM / CDTR: one fixed threshold, the largest contour's box.
    const LocProtocol p = protocol == "tscam" ? LocProtocol::tscam : LocProtocol::cdtr;
    const double theta = bounded(a, "theta", p == LocProtocol::tscam ? 0.1 : 0.2, 0.0, 1.0);
    std::map<std::string, std::vector<int64_t>> topk;
    const auto topk_file = a.get("topk");
    if (topk_file) {
        topk = read_topk(*topk_file);
        WSDOL_CHECK(!meta.class_labels.empty(), meta.dir, "/class_labels.txt: missing (needed with --topk)");
    }
    LocAccumulator acc(p);
    MaybeProgress progress(as_json, "eval box", meta.image_ids.size());
    size_t done = 0;
    for (const std::string& id : meta.image_ids) {
        progress.update(done++);
        const auto [w, h] = size_of(id);
        const auto& boxes = meta.boxes.at(id);
        const std::string path = score_map_path(pred_dir, id);
        const ScoreArray m = load_score_map(path, size);
        const auto u8 = m.f32() ? heatmap_u8(m.fdata(), size * size) : heatmap_u8(m.ddata(), size * size);
        const Box pb = largest_contour_box(u8.data(), size, size, theta);
        const BoxF pred{double(pb.x0), double(pb.y0), double(pb.x1), double(pb.y1)};
        double iou = 0;
        if (p == LocProtocol::tscam) {
            for (const Box& b : boxes) {  // best over the GT boxes, each scaled as TS-CAM's loaders do
                const Box g = tscam_resize_box(double(b.x0), double(b.y0), double(b.x1 - b.x0), double(b.y1 - b.y0), w,
                                               h, size);
                iou = std::max(iou, iou_tscam(pred, {double(g.x0), double(g.y0), double(g.x1), double(g.y1)}));
            }
        } else {  // CDTR keeps one box per image (the last listed)
            const Box& b = boxes.back();
            const double resize_min = size == 384 ? 448.0 : 256.0 * static_cast<double>(size) / 224.0;
            const BoxF g = cdtr_resize_box(double(b.x0), double(b.y0), double(b.x1 - b.x0), double(b.y1 - b.y0), w, h,
                                           resize_min, size);
            iou = iou_cdtr(pred, g);
        }
        int64_t gt_class = -1;
        std::vector<int64_t> classes;
        if (topk_file) {
            auto c = meta.class_labels.find(id);
            WSDOL_CHECK(c != meta.class_labels.end(), meta.dir, "/class_labels.txt: no class for ", id);
            gt_class = c->second;
            auto t = topk.find(id);
            WSDOL_CHECK(t != topk.end(), *topk_file, ": no predicted classes for ", id);
            classes = t->second;
        }
        acc.add(gt_class, classes, iou);
    }
    progress.update(done);
    const LocResult r = acc.compute();
    out.set("theta", theta);
    out.set("gt_known_loc", r.gt_known_loc);
    if (topk_file) {
        out.set("top1_loc", r.top1_loc);
        out.set("top5_loc", r.top5_loc);
        out.set("top1_cls", r.top1_cls);
        out.set("top5_cls", r.top5_cls);
    }
    if (as_json) {
        std::printf("%s\n", json::dump(out).c_str());
        return 0;
    }
    std::printf("box (%s convention): %zu images, theta %s\n", protocol.c_str(), meta.image_ids.size(),
                fmt(theta, 3).c_str());
    std::printf("GT-known Loc %s\n", fmt(r.gt_known_loc).c_str());
    if (topk_file)
        std::printf("Top-1 Loc %s  Top-5 Loc %s  Cls@1 %s  Cls@5 %s\n", fmt(r.top1_loc).c_str(),
                    fmt(r.top5_loc).c_str(), fmt(r.top1_cls).c_str(), fmt(r.top5_cls).c_str());
    return 0;
}

int run_mask(const cli::Args& a, bool as_json) {
    const std::string pred_dir = *a.get("pred");
    const WsolMetadata meta = read_wsol_metadata(*a.get("data"));
    WSDOL_CHECK(meta.has_masks(), meta.dir, "/localization.txt: holds boxes, not masks (use --task box)");
    const std::string mask_root = a.get_or("mask-root", meta.dir);
    const int64_t size = a.get_int("size", 224);
    WSDOL_CHECK(size > 0, "--size must be positive");
    const auto thresholds = wsol_thresholds(bounded(a, "interval", 0.01, 1e-4, 1.0));
    PxapAccumulator acc(thresholds);
    int64_t ignored = 0;
    MaybeProgress progress(as_json, "eval mask", meta.image_ids.size());
    size_t done = 0;
    for (const std::string& id : meta.image_ids) {
        progress.update(done++);
        std::vector<std::string> masks;
        for (const std::string& m : meta.mask_paths.at(id)) masks.push_back(mask_root + "/" + m);
        const std::string& ig = meta.ignore_paths.at(id);
        const MaskGt gt = wsol_mask_gt(masks, ig.empty() ? std::string() : mask_root + "/" + ig, size);
        ignored += gt.ignored;
        const ScoreArray m = load_score_map(score_map_path(pred_dir, id), size);
        if (m.f32()) {
            acc.add(m.fdata(), gt.labels.data(), size * size);
        } else {
            acc.add(m.ddata(), gt.labels.data(), size * size);
        }
    }
    progress.update(done);
    const PxapResult r = acc.compute();
    Value out = Value::object();
    out.set("task", "mask");
    out.set("images", static_cast<int64_t>(meta.image_ids.size()));
    out.set("PxAP", r.pxap);
    out.set("pIoU", r.piou);
    out.set("pIoU_threshold", r.piou_threshold);
    out.set("positives", r.positives);
    out.set("negatives", r.negatives);
    out.set("ignored", ignored);
    out.set("thresholds", static_cast<int64_t>(thresholds.size()));
    if (as_json) {
        std::printf("%s\n", json::dump(out).c_str());
        return 0;
    }
    std::printf("mask (wsolevaluation): %zu images, %zu score-map thresholds\n", meta.image_ids.size(),
                thresholds.size());
    std::printf("PxAP %s  pIoU %s (scores >= %s)\n", fmt(r.pxap).c_str(), fmt(r.piou).c_str(),
                fmt(r.piou_threshold, 3).c_str());
    std::printf("pixels: %lld positive, %lld negative, %lld ignored\n", static_cast<long long>(r.positives),
                static_cast<long long>(r.negatives), static_cast<long long>(ignored));
    return 0;
}

int run_eval(const std::vector<std::string>& args) {
    cli::Args a("eval", args,
                {"task", "data", "pred", "list", "split", "gt-dir", "classes", "threshold", "sweep-start", "sweep-end", "labels",
                 "miou-rule", "pred-type", "protocol", "interval", "iou", "theta", "size", "topk", "mask-root"},
                {"json", "sweep", "home-background"});
    WSDOL_CHECK(a.positional().empty(), "eval: unexpected argument '", a.positional().empty() ? "" : a.positional()[0],
                "'");
    const auto task = a.get("task");
    WSDOL_CHECK(task, "eval: --task seg|box|mask is required");
    WSDOL_CHECK(a.get("data"), "eval: --data DIR is required");
    WSDOL_CHECK(a.get("pred"), "eval: --pred DIR is required");
    WSDOL_CHECK(fs::is_directory(*a.get("data")), *a.get("data"), ": --data folder not found");
    WSDOL_CHECK(fs::is_directory(*a.get("pred")), *a.get("pred"), ": --pred folder not found");
    const bool as_json = a.flag("json");
    // Numeric options are checked before any file is read.
    if (a.get("threshold")) (void)bounded(a, "threshold", 0.0, 0.0, 1.0);
    if (a.get("theta")) (void)bounded(a, "theta", 0.0, 0.0, 1.0);
    if (a.get("interval")) (void)bounded(a, "interval", 0.01, 1e-4, 1.0);
    if (*task == "seg") return run_seg(a, as_json);
    if (*task == "box") return run_box(a, as_json);
    if (*task == "mask") return run_mask(a, as_json);
    fail(str("eval: unknown --task '", *task, "' (seg | box | mask)"));
}

}  // namespace

WSDOL_COMMAND(wsdol::cli::Command{
    "eval", "localization/segmentation metrics from saved maps (mIoU, MaxBoxAccV2, PxAP, Top-1 Loc ...)",
    "usage: wsdol eval --task seg --data DIR --pred DIR [--split NAME | --list FILE] [--threshold T | --sweep]\n"
    "                  [--sweep-start N] [--sweep-end N] [--labels FILE] [--classes C] [--gt-dir NAME]\n"
    "                  [--miou-rule toco|mctformer] [--pred-type png|npy|auto] [--json]\n"
    "       wsdol eval --task box --data DIR --pred DIR [--protocol wsol|tscam|cdtr] [--size S] [--interval X]\n"
    "                  [--iou 30,50,70] [--theta T] [--topk FILE] [--json]\n"
    "       wsdol eval --task mask --data DIR --pred DIR [--mask-root DIR] [--size S] [--interval X] [--json]\n"
    "\n"
    "--task seg: VOC-style segmentation. GT DIR/SegmentationClassAug/<id>.png (else DIR/SegmentationClass; or\n"
    "  --gt-dir NAME), ids of split --split NAME (default train, as infer and report:\n"
    "  DIR/ImageSets/Segmentation/NAME.txt) or from --list FILE. Predictions (as `wsdol infer` writes them):\n"
    "  PRED/<id>.png label maps (palette or grey, values 0..C-1), or PRED/<id>.npy CAMs of shape (C-1, H, W)\n"
    "  (channel k = class k+1) with --threshold T (background where the best image-class CAM <= T) or --sweep\n"
    "  (MCTformer: T = 0.00, 0.01, ... until the mIoU stops rising; --sweep-start 0 --sweep-end 60 in hundredths).\n"
    "  Image classes from --labels FILE ('id c1 c2 ...'), else the classes present in the GT mask.\n"
    "  --classes C (default: the number of lines of DIR/classes.txt when present, as `wsdol synth` writes, else 21),\n"
    "  --miou-rule toco (mean over classes with GT pixels) | mctformer (all classes, absent = 0),\n"
    "  --pred-type png|npy|auto (auto: the kind of the first id's file; when both exist, as infer writes them,\n"
    "  the .npy maps with --threshold or --sweep, else the .png seeds). Prints mIoU, per-class IoU, pixel and mean\n"
    "  accuracy (percent).\n"
    "  --home-background (synthetic benchmark: DIR/captions.txt names each scene's background): per class k, the\n"
    "  fraction of GT-background pixels labelled k in the images with k on its home background, (k-1) mod 6 of\n"
    "  water, rails, grass, sand, sky, bricks, and on the other backgrounds (at the threshold used for the mIoU).\n"
    "--task box: wsolevaluation metadata DIR (localization.txt id,x0,y0,x1,y1; image_sizes.txt; image_ids.txt;\n"
    "  class_labels.txt). Predictions PRED/<image_id>.npy: 2-D float score maps in [0,1] of --size x --size (224).\n"
    "  --protocol wsol (default): MaxBoxAcc (largest contour, IoU 50) and MaxBoxAccV2 (all contours, mean over\n"
    "  --iou 30,50,70), thresholds k * --interval (0.01). --protocol tscam|cdtr: fixed --theta (0.1 | 0.2) and the\n"
    "  largest contour; GT-known Loc, and with --topk FILE ('id c1 c2 c3 c4 c5', best first) Top-1/Top-5 Loc and\n"
    "  Cls@1/5. The score map must be the CAM of the GT class (tscam) or of the top-1 class (cdtr).\n"
    "--task mask: wsolevaluation OpenImages metadata DIR (localization.txt id,mask,ignore), masks under\n"
    "  --mask-root (default DIR). Score maps as for box. Prints PxAP and pIoU (percent).\n"
    "--json prints one JSON object (keys such as mIoU, per_class_IoU, best_threshold, MaxBoxAccV2, PxAP, pIoU,\n"
    "  top1_loc, gt_known_loc). Errors name the file (missing prediction for an id, wrong size) and exit 1.\n"
    "\n"
    "examples:\n"
    "  wsdol eval --task seg --data data --pred maps/tinycam --sweep\n"
    "  wsdol eval --task seg --data data --pred maps/tinycam --threshold 0.3 --json\n"
    "  wsdol eval --task seg --data data --pred data/SegmentationClass --split val",
    run_eval});
