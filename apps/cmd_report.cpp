// cmd_report.cpp — `wsdol report`: a visual report of localization results.
//
//   report mode   one self-contained HTML page (inline CSS, images as base64 PNG data URIs, no scripts, no external
//                 resources): per image the input, the ground truth over it and, per method, its localization map as
//                 a heat-map overlay and its thresholded mask; above them the metric tables (mIoU per method
//                 computed here, plus tables from `wsdol eval --json` files). Page format and prediction rules in
//                 engine/eval/report.h, colours and blending in engine/data/overlay.h.
//   --overlay     one PNG: a score map as a heat-map overlay on one image, optionally with the GT mask's outline.
// Metrics run over every id of the list; rows are drawn for the first --max-images ids. A progress bar (rate, ETA)
// runs on stderr while images are read and drawn.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>

#include "apps/cli.h"
#include "apps/progress.h"
#include "engine/core/error.h"
#include "engine/data/image_io.h"
#include "engine/data/npy.h"
#include "engine/data/overlay.h"
#include "engine/data/pil_resize.h"
#include "engine/data/png_write.h"
#include "engine/eval/eval_data.h"
#include "engine/eval/report.h"
#include "engine/eval/seg_metrics.h"
#include "engine/io/atomic_file.h"
#include "engine/io/json.h"
#include "engine/io/output_dir.h"

namespace {

using namespace wsdol;
namespace fs = std::filesystem;

bool file_exists(const std::string& p) { return fs::is_regular_file(p); }

std::string fmt(double v, int digits = 1) {
    if (!std::isfinite(v)) return "–";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

// Pulls every "--NAME VALUE" / "--NAME=VALUE" out of args (options that may repeat); the rest is returned.
std::vector<std::string> take_repeated(std::vector<std::string>& args, const std::string& name) {
    std::vector<std::string> values, rest;
    const std::string flag = "--" + name, prefix = flag + "=";
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == flag) {
            WSDOL_CHECK(i + 1 < args.size(), "report: option ", flag, " needs a value");
            values.push_back(args[++i]);
        } else if (args[i].rfind(prefix, 0) == 0) {
            values.push_back(args[i].substr(prefix.size()));
        } else {
            rest.push_back(args[i]);
        }
    }
    args = rest;
    return values;
}

// White outline of the non-background regions of `labels` (pixels whose 4-neighbour has another label).
void draw_outline(data::Image& rgb, const data::Image& labels) {
    const int64_t h = labels.height, w = labels.width;
    for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x) {
            const uint8_t l = labels.pixels[size_t(y * w + x)];
            if (l == 0) continue;
            const bool edge = x == 0 || y == 0 || x == w - 1 || y == h - 1 || labels.pixels[size_t(y * w + x - 1)] != l ||
                              labels.pixels[size_t(y * w + x + 1)] != l || labels.pixels[size_t((y - 1) * w + x)] != l ||
                              labels.pixels[size_t((y + 1) * w + x)] != l;
            if (edge)
                for (int k = 0; k < 3; ++k) rgb.at(y, x, k) = 255;
        }
}

// heat: (mh, mw) -> (h, w) with Pillow bilinear (score maps are often smaller than the image).
std::vector<uint8_t> resize_heat(const std::vector<uint8_t>& heat, int64_t mh, int64_t mw, int64_t h, int64_t w) {
    if (mh == h && mw == w) return heat;
    return data::pil_resize(heat.data(), mh, mw, 1, h, w, data::PilFilter::bilinear);
}

// ---------------------------------------------------------------------------------------------------------------
// --overlay: one image, one map.

int run_overlay(const cli::Args& a) {
    const auto image_path = a.get("image"), map_path = a.get("map"), out = a.get("out");
    WSDOL_CHECK(image_path && map_path && out, "report --overlay needs --image IMG --map MAP.npy --out OUT.png");
    const double alpha = a.get_double("alpha", 0.5);
    WSDOL_CHECK(std::isfinite(alpha) && alpha >= 0 && alpha <= 1, "--alpha must be in [0, 1], got '",
                a.get_or("alpha", ""), "'");
    const data::Image image = data::read_image(*image_path, data::ColorMode::rgb);
    Tensor t = data::read_npy(*map_path);
    WSDOL_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::f64, *map_path,
                ": expected float32 or float64 scores, got ", dtype_name(t.dtype()));
    t = t.to(DType::f64).contiguous();
    WSDOL_CHECK(t.dim() == 2 || t.dim() == 3, *map_path, ": expected an (H, W) or (K, H, W) array, got shape ",
                shape_str(t.shape()));
    const int64_t mh = t.size(t.dim() - 2), mw = t.size(t.dim() - 1), hw = mh * mw;
    WSDOL_CHECK(hw > 0, *map_path, ": empty map, shape ", shape_str(t.shape()));
    std::optional<data::Image> mask;
    if (const auto mask_path = a.get("mask")) {
        mask = data::read_label_png(*mask_path);
        WSDOL_CHECK(mask->height == image.height && mask->width == image.width, *mask_path, ": mask is ", mask->height,
                    "x", mask->width, " (HxW), image ", *image_path, " is ", image.height, "x", image.width);
    }
    std::vector<uint8_t> heat;
    if (t.dim() == 2) {
        heat = data::normalize_map(t.data<double>(), hw, *map_path);
    } else {
        // Channel K-1 for --class K; else the mask's classes (when given) as in the report; else the max over all.
        const int64_t k = t.size(0), cls = a.get_int("class", 0);
        WSDOL_CHECK(cls >= 0 && cls <= k, "--class must be in 1..", k, " for ", *map_path, " (0 = max over classes), got ",
                    cls);
        std::vector<int> classes;
        if (cls > 0) classes = {int(cls)};
        else if (mask)
            for (int c : eval::gt_classes(*mask, int(k) + 1)) classes.push_back(c);
        heat = eval::heat_from_cams(t.data<double>(), k, mh, mw, classes, *map_path);
    }
    // The options and inputs are valid: now the output (engine/io/output_dir.h). Never an input (the image, the
    // map, the mask, also through links); an existing file is replaced only with --force.
    const io::OutputFile output(*out, "report", a.flag("force") ? io::Reuse::force : io::Reuse::refuse,
                                {{"--image", *image_path}, {"--map", *map_path}, {"--mask", a.get_or("mask", "")}});
    heat = resize_heat(heat, mh, mw, image.height, image.width);
    data::Image rgb = data::heat_overlay(image, heat, alpha);
    if (mask) draw_outline(rgb, *mask);
    output.write(data::encode_png(rgb));
    std::printf("wrote %s (%lldx%lld)\n", out->c_str(), (long long)rgb.width, (long long)rgb.height);
    return 0;
}

// ---------------------------------------------------------------------------------------------------------------
// report mode

struct Method {
    eval::MethodSpec spec;
    eval::ConfusionMatrix confusion;
    int64_t with_scores = 0;  // images whose prediction was a score map
};

std::string image_path_for(const std::string& data_dir, const std::string& id) {
    for (const char* ext : {".jpg", ".jpeg", ".png", ".JPEG"}) {
        const std::string p = data_dir + "/JPEGImages/" + id + ext;
        if (file_exists(p)) return p;
    }
    fail(str("input image missing for id ", id, " (expected ", data_dir, "/JPEGImages/", id, ".jpg)"));
}

int run_report(const cli::Args& a, const std::vector<std::string>& method_args,
               const std::vector<std::string>& metric_args) {
    const auto data_arg = a.get("data"), out = a.get("out");
    WSDOL_CHECK(data_arg && out, "report needs --data DIR, at least one --method NAME=PRED_DIR and --out FILE.html");
    WSDOL_CHECK(!method_args.empty() || !metric_args.empty(), "report needs at least one --method NAME=PRED_DIR");
    const std::string data_dir = *data_arg;

    // Classes: DIR/classes.txt ("k name" lines), else --classes (default 21, VOC).
    std::vector<std::string> names;
    const std::string class_file = data_dir + "/classes.txt";
    if (file_exists(class_file))
        for (const auto& line : eval::read_text_lines(class_file)) {
            const size_t sp = line.find(' ');
            names.push_back(sp == std::string::npos ? line : line.substr(sp + 1));
        }
    const int num_classes = int(a.get_int("classes", names.empty() ? 21 : int64_t(names.size())));
    WSDOL_CHECK(num_classes >= 2 && num_classes <= 255, "--classes must be in 2..255, got ", num_classes);
    names.resize(size_t(num_classes));
    for (int c = 0; c < num_classes; ++c)
        if (names[size_t(c)].empty()) names[size_t(c)] = c == 0 ? "background" : "class " + std::to_string(c);

    // The split's ids (--split, default train as every command; --list FILE names any id file instead).
    WSDOL_CHECK(!(a.get("split") && a.get("list")), "--split and --list both name the ids: give one");
    const std::string split = a.get_or("split", "train");
    const std::string list = a.get_or("list", data_dir + "/ImageSets/Segmentation/" + split + ".txt");
    WSDOL_CHECK(file_exists(list), list, ": id list not found (",
                a.get("list") ? "--list" : "split '" + split + "'; --split NAME or --list FILE", ")");
    const auto ids = eval::read_id_list(list);
    WSDOL_CHECK(!ids.empty(), list, ": no ids");
    std::string gt_name = a.get_or("gt-dir", "");
    if (gt_name.empty())
        gt_name = fs::is_directory(data_dir + "/SegmentationClassAug") ? "SegmentationClassAug" : "SegmentationClass";
    const std::string gt_dir = data_dir + "/" + gt_name;
    WSDOL_CHECK(fs::is_directory(gt_dir), gt_dir, ": ground-truth folder not found (see --gt-dir)");

    const double threshold = a.get_double("threshold", 0.5);
    WSDOL_CHECK(std::isfinite(threshold) && threshold >= 0 && threshold <= 1, "--threshold must be in [0, 1], got '",
                a.get_or("threshold", ""), "'");
    const double alpha = a.get_double("alpha", 0.5);
    WSDOL_CHECK(std::isfinite(alpha) && alpha >= 0 && alpha <= 1, "--alpha must be in [0, 1], got '",
                a.get_or("alpha", ""), "'");
    const int64_t max_images = a.get_int("max-images", 24);
    WSDOL_CHECK(max_images >= 0, "--max-images must be >= 0, got ", max_images);
    const int64_t thumb = a.get_int("thumb", 160);
    WSDOL_CHECK(thumb >= 16 && thumb <= 2048, "--thumb must be in 16..2048, got ", thumb);

    std::vector<Method> methods;
    for (const auto& arg : method_args) {
        Method m{eval::parse_method_spec(arg), eval::ConfusionMatrix(num_classes)};
        for (const auto& other : methods)
            WSDOL_CHECK(other.spec.name != m.spec.name, "--method name '", m.spec.name, "' given twice");
        WSDOL_CHECK(fs::is_directory(m.spec.dir), "--method ", m.spec.name, ": prediction folder ", m.spec.dir,
                    " not found");
        methods.push_back(std::move(m));
    }
    // JSON metric files are read before the long loop so that a bad file fails at once.
    std::vector<eval::ReportTable> file_tables;
    std::vector<std::pair<std::string, std::string>> inputs = {{"--data", data_dir}, {"--list", list}};
    for (const auto& m : methods) inputs.push_back({"--method " + m.spec.name, m.spec.dir});
    for (const auto& arg : metric_args) {
        const size_t eq = arg.find('=');
        const std::string path = eq == std::string::npos ? arg : arg.substr(eq + 1);
        inputs.push_back({"--metrics", path});
        const std::string name = eq == std::string::npos ? fs::path(arg).stem().string() : arg.substr(0, eq);
        WSDOL_CHECK(file_exists(path), "--metrics: ", path, " not found");
        json::Value v;
        try {
            v = json::parse(data::read_file_bytes(path));
        } catch (const Error& e) {
            fail(str("--metrics: ", path, ": ", e.what()));
        }
        file_tables.push_back(eval::table_from_json(v, name + " (" + fs::path(path).filename().string() + ")"));
    }
    // Every option and input is valid: now the output (engine/io/output_dir.h): never inside the dataset, a
    // prediction folder or onto a metrics file; an existing file is replaced only with --force.
    const io::OutputFile output(*out, "report", a.flag("force") ? io::Reuse::force : io::Reuse::refuse, inputs);

    eval::ReportPage page;
    page.title = a.get_or("title", "wsdol report: " + fs::path(data_dir).filename().string());
    for (const auto& m : methods) page.methods.push_back(m.spec.name);
    for (int c = 0; c < num_classes; ++c) page.legend.emplace_back(c, names[size_t(c)]);

    const bool quiet = a.flag("quiet");
    cli::Progress progress("report", int64_t(ids.size()), "img");
    for (size_t i = 0; i < ids.size(); ++i) {
        const std::string& id = ids[i];
        const std::string gt_path = gt_dir + "/" + id + ".png";
        WSDOL_CHECK(file_exists(gt_path), gt_path, ": ground truth missing for id ", id);
        const data::Image gt = data::read_label_png(gt_path);
        std::vector<eval::MethodView> views;
        for (auto& m : methods) {
            try {
                views.push_back(eval::load_method_view(m.spec.dir, id, gt, num_classes, threshold));
            } catch (const Error& e) {
                fail(str("method ", m.spec.name, ": ", e.what()));
            }
            m.confusion.add(gt.pixels.data(), views.back().mask.pixels.data(), gt.height * gt.width);
            m.with_scores += views.back().has_scores;
        }
        if (int64_t(i) < max_images) {
            const std::string image_path = image_path_for(data_dir, id);
            const data::Image image = data::read_image(image_path, data::ColorMode::rgb);
            WSDOL_CHECK(image.height == gt.height && image.width == gt.width, image_path, ": image is ", image.height,
                        "x", image.width, " (HxW), ground truth ", gt_path, " is ", gt.height, "x", gt.width);
            eval::ReportRow row;
            row.id = id;
            for (int c : eval::gt_classes(gt, num_classes)) row.note += (row.note.empty() ? "" : ", ") + names[size_t(c)];
            auto cell = [&](const std::string& kind, const data::Image& full, std::string caption) {
                // Reduced to the thumbnail size, never enlarged (the browser scales small pictures up for display).
                const bool shrink = std::max(full.height, full.width) > thumb;
                return eval::ReportCell{kind, eval::encode_png_compact(shrink ? data::thumbnail(full, thumb) : full),
                                        thumb, std::move(caption)};
            };
            row.cells.push_back(cell("input", image, std::to_string(image.width) + "x" + std::to_string(image.height)));
            row.cells.push_back(cell("gt", data::label_overlay(image, gt), ""));
            for (size_t k = 0; k < methods.size(); ++k) {
                const eval::MethodView& v = views[k];
                eval::ConfusionMatrix single(num_classes);
                single.add(gt.pixels.data(), v.mask.pixels.data(), gt.height * gt.width);
                if (v.has_scores) {
                    data::Image heat = data::heat_overlay(image, v.heat, alpha);
                    draw_outline(heat, gt);
                    row.cells.push_back(cell("map", heat, ""));
                } else {
                    row.cells.push_back({"map", "", 0, "label map (no scores)"});
                }
                data::Image mask = data::label_overlay(image, v.mask);
                if (v.has_box) data::draw_box(mask, v.box[0], v.box[1], v.box[2], v.box[3], {255, 255, 0}, 2);
                row.cells.push_back(cell("mask", mask, "mIoU " + fmt(single.scores().miou)));
            }
            page.rows.push_back(std::move(row));
        }
        if (!quiet) progress.update(int64_t(i + 1));
    }

    // Methods whose shown predictions are all label maps get no map column (their cells would only say so).
    for (size_t k = methods.size(); k-- > 0;) {
        const size_t map_cell = 2 + 2 * k;
        bool any_scores = false;
        for (const auto& row : page.rows) any_scores |= !row.cells[map_cell].png.empty();
        page.mask_only.insert(page.mask_only.begin(), !any_scores);
        if (any_scores) continue;
        for (auto& row : page.rows) {
            row.cells.erase(row.cells.begin() + std::ptrdiff_t(map_cell));
            row.cells[map_cell].kind = "mask mask-only";
        }
    }

    // Computed metrics: one row per method, mIoU over the classes with GT pixels (the ToCo rule of wsdol eval).
    if (!methods.empty()) {
        eval::ReportTable t;
        t.title = "Segmentation at background threshold " + fmt(threshold, 2) + " (" + std::to_string(ids.size()) +
                  " images, " + gt_name + ")";
        t.header = {"method", "mIoU", "pixel acc", "mean acc"};
        for (int c = 0; c < num_classes; ++c) t.header.push_back(names[size_t(c)]);
        for (const auto& m : methods) {
            const eval::SegScores s = m.confusion.scores();
            std::vector<std::string> row = {m.spec.name, fmt(s.miou), fmt(s.pixel_accuracy), fmt(s.mean_accuracy)};
            for (int c = 0; c < num_classes; ++c) row.push_back(fmt(s.iou[size_t(c)]));
            t.rows.push_back(std::move(row));
        }
        page.tables.push_back(std::move(t));
    }
    for (auto& t : file_tables) page.tables.push_back(std::move(t));

    page.summary.push_back("data " + data_dir + ", list " + list + ": " + std::to_string(ids.size()) + " images, " +
                           std::to_string(page.rows.size()) + " shown");
    for (const auto& m : methods)
        page.summary.push_back("method " + m.spec.name + ": " + m.spec.dir + " (" +
                               (m.with_scores ? "score maps, masks at threshold " + fmt(threshold, 2) : "label maps") +
                               ")");
    page.summary.push_back("ground truth and masks: class colours over the image (VOC palette); map: heat map over "
                           "the image, white outline = ground truth; yellow box = largest region of a 2-D map's mask");
    const std::string html = eval::render_html(page);
    output.write(html);
    std::printf("wrote %s (%zu images shown, %zu in the metrics, %.1f KiB)\n", out->c_str(), page.rows.size(),
                ids.size(), html.size() / 1024.0);
    return 0;
}

int run(const std::vector<std::string>& argv) {
    std::vector<std::string> args = argv;
    const auto method_args = take_repeated(args, "method");
    const auto metric_args = take_repeated(args, "metrics");
    cli::Args a("report", args,
                {"data", "out", "list", "split", "max-images", "threshold", "title", "classes", "gt-dir", "thumb",
                 "alpha", "image", "map", "mask", "class"},
                {"overlay", "quiet", "force"});
    WSDOL_CHECK(a.positional().empty(), "report: unexpected argument '", a.positional().front(), "'");
    if (a.flag("overlay")) {
        WSDOL_CHECK(method_args.empty() && metric_args.empty(), "report --overlay takes --image/--map, not --method");
        return run_overlay(a);
    }
    return run_report(a, method_args, metric_args);
}

}  // namespace

WSDOL_COMMAND(wsdol::cli::Command{
    "report", "visual HTML report (inputs, GT, heat-map overlays, masks, metric tables) or a PNG overlay",
    "usage: wsdol report --data DIR --method NAME=PRED_DIR [--method NAME2=PRED_DIR2 ...] --out report.html\n"
    "                    [--split NAME | --list FILE] [--max-images N] [--threshold T] [--metrics [NAME=]FILE.json ...]\n"
    "                    [--title T] [--thumb PX] [--alpha A] [--classes C] [--gt-dir NAME] [--force] [--quiet]\n"
    "       wsdol report --overlay --image IMG --map MAP.npy [--class K] [--mask GT.png] [--alpha A] --out OUT.png\n"
    "                    [--force]\n"
    "\n"
    "Report: one self-contained HTML file (inline CSS, pictures as base64 PNG data URIs, no scripts or external\n"
    "files). DIR has the VOC layout: JPEGImages/<id>.jpg, SegmentationClassAug/ or SegmentationClass/<id>.png\n"
    "(or --gt-dir NAME), ids of split --split (default train, as infer and eval:\n"
    "DIR/ImageSets/Segmentation/NAME.txt) or from --list FILE, class names from DIR/classes.txt ('k name' lines;\n"
    "else --classes, default 21). Per method, PRED_DIR/<id>.npy or <id>.png:\n"
    "  (C-1,H,W) float CAMs   map = each GT class's map min-max normalised, max over the GT classes\n"
    "                         (no GT class: the max over all channels, normalised once);\n"
    "                         mask = argmax class where its CAM > T, else background (wsdol eval's rule)\n"
    "  (H,W) float score map  map = the min-max normalised map; mask = score > T labelled with the image's\n"
    "                         lowest GT class, and the box of its largest region drawn in yellow\n"
    "  label PNG              mask only (a method with nothing but label maps gets no map column)\n"
    "Thresholds apply to the stored scores (not the normalised display), default T = 0.5: a fixed, documented\n"
    "value rather than a per-method sweep, so that the masks shown are the masks counted. To report the best\n"
    "threshold of a sweep, save `wsdol eval --sweep --json` to a file, pass it with --metrics and --threshold <its\n"
    "best_threshold> (examples below).\n"
    "Each row: id and GT classes, input, ground truth (palette colours over the image), then per method the\n"
    "heat-map overlay (jet colours, alpha A = 0.5, GT outline in white) and the mask (palette colours, per-image\n"
    "mIoU under it). Thumbnails: longer side PX = 160 (Pillow bilinear; smaller pictures are embedded as they are\n"
    "and scaled by the browser). The metric table (mIoU, pixel and mean accuracy, per-class IoU, ToCo mIoU rule as\n"
    "wsdol eval) covers every id of the list; rows are drawn for the first --max-images ids (default 24). --metrics\n"
    "adds a table per JSON file (e.g. `wsdol eval --json` output), named NAME or the file's stem. A progress bar\n"
    "(rate, ETA) runs on stderr unless --quiet.\n"
    "\n"
    "Overlay: IMG with MAP as a heat-map overlay, written as an RGB PNG of IMG's size. MAP (H,W) or (K,H,W),\n"
    "min-max normalised, resized to IMG (bilinear) if smaller. For (K,H,W): channel K-1 with --class K; else, with\n"
    "--mask, each of the mask's classes normalised and the max taken (as in the report); else the max of the raw\n"
    "scores over channels, normalised once. --mask also draws the GT regions' outline in white.\n"
    "\n"
    "The output file is never an input nor inside the dataset or a prediction folder; an existing file is replaced\n"
    "only with --force.\n"
    "\n"
    "examples:\n"
    "  wsdol report --data data --method tinycam=maps/tinycam --out report.html\n"
    "  wsdol eval --task seg --data data --pred maps/tinycam --sweep --json > sweep.json\n"
    "  wsdol report --data data --method tinycam=maps/tinycam --metrics sweep.json --threshold 0.3 --out report.html --force\n"
    "  wsdol report --overlay --image data/JPEGImages/synth_000000.jpg --map maps/tinycam/synth_000000.npy --out overlay.png",
    run});
