// test_eval_cli.cpp — `wsdol eval` end to end: the binary (WSDOL_BINARY) on miniature datasets built in a temp
// folder from ../shared/data/real (ground truth read in place, predictions written by the test), plus synthetic
// CAM cases; success paths check the JSON numbers, failure paths the exit code and the file named in the message.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "engine/data/image_io.h"
#include "engine/data/npy.h"
#include "engine/data/png_write.h"
#include "engine/eval/boxes.h"
#include "engine/eval/mask_gt.h"
#include "engine/eval/seg_metrics.h"
#include "engine/io/json.h"
#include "tests/cli_test_util.h"
#include "tests/io_test_util.h"
#include "tests/test_eval_util.h"

namespace wsdol {
namespace {

namespace fs = std::filesystem;
using test::ScratchDir;

using RunResult = test::CliResult;

RunResult run_eval(const std::string& args) { return test::run_wsdol("eval " + args); }

json::Value run_json(const std::string& args) {
    const RunResult r = run_eval(args + " --json");
    EXPECT_EQ(r.code, 0) << r.output;
    if (r.code != 0) return json::Value::object();
    return json::parse(r.output);
}

void write_text(const std::string& path, const std::string& text) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << text;
}

std::string q(const std::string& s) { return "'" + s + "'"; }

// The path, after creating its parent folders.
std::string at(const std::string& path) {
    fs::create_directories(fs::path(path).parent_path());
    return path;
}

// ---------------------------------------------------------------------------------------------------------------
// seg on real VOC masks

const std::vector<std::string> kVocIds = {"2011_000003", "2007_000129", "2007_000175", "2008_000008"};

std::string voc_dir() { return test::real_data_dir() + "/voc"; }

data::Image voc_mask(const std::string& id) {
    return data::read_label_png(voc_dir() + "/SegmentationClassAug/" + id + ".png");
}

std::string write_id_list(const ScratchDir& dir, const std::vector<std::string>& ids) {
    std::string text;
    for (const auto& id : ids) text += id + "\n";
    write_text(dir.file("ids.txt"), text);
    return dir.file("ids.txt");
}

TEST(EvalCli, SegGtVsGtAndAllBackground) {
    WSDOL_REQUIRE_REAL_DATA();
    ScratchDir dir;
    const std::string list = write_id_list(dir, kVocIds);
    fs::create_directories(dir.file("gt_pred"));
    fs::create_directories(dir.file("bg_pred"));
    int64_t bg = 0, fg = 0;
    std::set<int> classes;
    for (const auto& id : kVocIds) {
        data::Image m = voc_mask(id);
        data::write_palette_png(dir.file("gt_pred/" + id + ".png"), m);
        for (uint8_t v : m.pixels) {
            bg += v == 0;
            if (v != 0 && v != 255) {
                ++fg;
                classes.insert(v);
            }
        }
        std::fill(m.pixels.begin(), m.pixels.end(), 0);
        data::write_png(dir.file("bg_pred/" + id + ".png"), m);  // a grey PNG is accepted as well
    }
    const std::string base = "--task seg --data " + q(voc_dir()) + " --list " + q(list);
    json::Value v = run_json(base + " --pred " + q(dir.file("gt_pred")));
    EXPECT_EQ(v.at("mIoU").as_double(), 100.0);
    EXPECT_EQ(v.at("images").as_int64(), 4);
    EXPECT_EQ(v.at("per_class_IoU").items()[15].as_double(), 100.0);  // person
    EXPECT_TRUE(v.at("per_class_IoU").items()[8].is_null());          // cat: absent
    v = run_json(base + " --pred " + q(dir.file("bg_pred")));
    const double iou_bg = 100.0 * static_cast<double>(bg) / static_cast<double>(bg + fg);
    EXPECT_DOUBLE_EQ(v.at("per_class_IoU").items()[0].as_double(), iou_bg);
    EXPECT_DOUBLE_EQ(v.at("mIoU").as_double(), iou_bg / static_cast<double>(1 + classes.size()));
    // MCTformer's averaging over all 21 classes.
    v = run_json(base + " --pred " + q(dir.file("gt_pred")) + " --miou-rule mctformer");
    EXPECT_NEAR(v.at("mIoU").as_double(), 100.0 * (1 + classes.size()) / 21.0, 1e-7);
    // The text report.
    const RunResult text = run_eval(base + " --pred " + q(dir.file("gt_pred")));
    EXPECT_EQ(text.code, 0);
    EXPECT_NE(text.output.find("mIoU 100.000"), std::string::npos) << text.output;
}

TEST(EvalCli, SegFailures) {
    WSDOL_REQUIRE_REAL_DATA();
    ScratchDir dir;
    const std::string list = write_id_list(dir, kVocIds);
    fs::create_directories(dir.file("pred"));
    for (size_t i = 0; i + 1 < kVocIds.size(); ++i)  // the last id has no prediction
        data::write_palette_png(dir.file("pred/" + kVocIds[i] + ".png"), voc_mask(kVocIds[i]));
    const std::string base = "--task seg --data " + q(voc_dir()) + " --list " + q(list) + " --pred " + q(dir.file("pred"));
    RunResult r = run_eval(base);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.output.find("missing prediction for id 2008_000008"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("2008_000008.png"), std::string::npos) << r.output;

    // Wrong size: a 10x12 map for 2008_000008 (GT 442x500).
    data::Image small;
    small.height = 10;
    small.width = 12;
    small.channels = 1;
    small.pixels.assign(120, 0);
    data::write_palette_png(dir.file("pred/2008_000008.png"), small);
    r = run_eval(base);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.output.find("2008_000008.png: wrong size 10x12 (HxW) vs ground truth 442x500"), std::string::npos)
        << r.output;

    // A label outside the classes.
    data::Image bad = voc_mask("2008_000008");
    bad.pixels[0] = 21;
    data::write_palette_png(dir.file("pred/2008_000008.png"), bad);
    r = run_eval(base);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.output.find("2008_000008.png: prediction value 21 outside [0, 21)"), std::string::npos) << r.output;

    // Usage errors.
    r = run_eval("--data " + q(voc_dir()) + " --pred " + q(dir.file("pred")));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.output.find("--task"), std::string::npos);
    r = run_eval("--task seg --data " + q(voc_dir()) + " --pred " + q(dir.file("nope")));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.output.find("nope: --pred folder not found"), std::string::npos) << r.output;
    r = run_eval(base + " --bogus 1");
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find("unknown option --bogus"), std::string::npos) << r.output;
    r = run_eval("--task seg --data " + q(voc_dir()) + " --pred " + q(dir.file("pred")) + " --list " +
                 q(dir.file("none.txt")));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.output.find("none.txt"), std::string::npos) << r.output;
}

// CAMs (.npy) on a real mask: GT-shaped CAMs are perfect at any threshold in [0, 1); the sweep stops at once.
TEST(EvalCli, SegCamsOnRealMask) {
    WSDOL_REQUIRE_REAL_DATA();
    ScratchDir dir;
    const std::string list = write_id_list(dir, {"2011_000003"});
    const data::Image m = voc_mask("2011_000003");
    fs::create_directories(dir.file("cams"));
    const int64_t hw = m.height * m.width;
    std::vector<float> cams(20 * hw, 0.0f);
    for (int64_t i = 0; i < hw; ++i)
        if (m.pixels[i] >= 1 && m.pixels[i] <= 20) cams[(m.pixels[i] - 1) * hw + i] = 0.9f;
    data::write_npy(dir.file("cams/2011_000003.npy"), Tensor::from_blob(cams.data(), {20, m.height, m.width}, DType::f32));
    const std::string base =
        "--task seg --data " + q(voc_dir()) + " --list " + q(list) + " --pred " + q(dir.file("cams"));
    json::Value v = run_json(base + " --threshold 0.5");
    EXPECT_EQ(v.at("mIoU").as_double(), 100.0);
    EXPECT_EQ(v.at("labels_from").as_string(), "gt");
    EXPECT_EQ(v.at("threshold").as_double(), 0.5);
    v = run_json(base + " --sweep");
    EXPECT_EQ(v.at("best_threshold").as_double(), 0.0);
    EXPECT_EQ(v.at("curve").size(), 2u);  // 100 at 0.00, 100 at 0.01 is not higher: stop
    EXPECT_EQ(v.at("mIoU").as_double(), 100.0);
    // Image labels from the real label file (cls_labels_all.txt lists 2011_000003 with 5 and 15).
    v = run_json(base + " --threshold 0.95 --labels " + q(voc_dir() + "/lists/cls_labels_all.txt"));
    EXPECT_EQ(v.at("labels_from").as_string(), "file");
    EXPECT_EQ(v.at("per_class_IoU").items()[15].as_double(), 0.0);  // 0.9 <= 0.95: all background
    // Errors: no threshold; CAM of the wrong size.
    RunResult r = run_eval(base);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.output.find("--threshold"), std::string::npos) << r.output;
    data::write_npy(dir.file("cams/2011_000003.npy"), Tensor::zeros({20, 4, 5}));
    r = run_eval(base + " --threshold 0.5");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.output.find("2011_000003.npy: wrong size 4x5 (HxW) vs ground truth 338x500"), std::string::npos)
        << r.output;
    data::write_npy(dir.file("cams/2011_000003.npy"), Tensor::zeros({3, 338, 500}));
    r = run_eval(base + " --threshold 0.5");
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.output.find("expected 20 foreground CAM channels"), std::string::npos) << r.output;
}

// Synthetic VOC-like set with graded CAMs: the CLI's sweep equals the library's thresholding at every step.
TEST(EvalCli, SegSweepMatchesLibrary) {
    ScratchDir dir;
    const int C = 4;
    const int64_t h = 6, w = 7, hw = h * w;
    std::vector<std::string> ids = {"a", "b"};
    write_id_list(dir, ids);
    std::vector<eval::ConfusionMatrix> direct;
    const auto thresholds = eval::mctformer_thresholds(0, 60);
    for (size_t j = 0; j < thresholds.size(); ++j) direct.emplace_back(C);
    Generator gen(3);
    for (const auto& id : ids) {
        data::Image gt;
        gt.height = h;
        gt.width = w;
        gt.channels = 1;
        const auto g = Tensor::randint(0, C, {hw}, DType::i64, &gen).to_vector();
        for (int64_t i = 0; i < hw; ++i) gt.pixels.push_back(i == 5 ? 255 : static_cast<uint8_t>(g[i]));
        data::write_palette_png(at(dir.file("data/SegmentationClass/" + id + ".png")), gt);
        // Background pixels: every CAM at (i % 20) / 100 + 0.005, so each 0.01 step of the sweep turns more of
        // them into background and the mIoU keeps rising for ~20 steps; foreground pixels: 0.5 on their class.
        std::vector<float> cams((C - 1) * hw, 0.0f);
        for (int64_t i = 0; i < hw; ++i)
            for (int c = 1; c < C; ++c)
                cams[(c - 1) * hw + i] = gt.pixels[i] == c ? 0.5f : static_cast<float>((i % 20) / 100.0 + 0.005);
        data::write_npy(at(dir.file("pred/" + id + ".npy")), Tensor::from_blob(cams.data(), {C - 1, h, w}, DType::f32));
        std::vector<int> classes;
        for (int c = 1; c < C; ++c)
            if (std::count(gt.pixels.begin(), gt.pixels.end(), c)) classes.push_back(c);
        std::vector<uint8_t> pred(hw);
        for (size_t j = 0; j < thresholds.size(); ++j) {
            eval::cams_to_labels(cams.data(), C - 1, h, w, classes, thresholds[j], pred.data());
            direct[j].add(gt.pixels.data(), pred.data(), hw);
        }
    }
    // The expected sweep, straight from the definition.
    double best = 0, best_t = 0;
    size_t steps = 0;
    for (size_t j = 0; j < thresholds.size(); ++j) {
        ++steps;
        const double m = direct[j].scores(eval::MiouRule::toco).miou;
        if (m > best) {
            best = m;
            best_t = thresholds[j];
        } else {
            break;
        }
    }
    const json::Value v = run_json("--task seg --classes 4 --data " + q(dir.file("data")) + " --list " +
                                   q(dir.file("ids.txt")) + " --pred " + q(dir.file("pred")) + " --sweep");
    EXPECT_EQ(v.at("gt_dir").as_string(), "SegmentationClass");
    EXPECT_EQ(v.at("best_threshold").as_double(), best_t);
    EXPECT_DOUBLE_EQ(v.at("mIoU").as_double(), best);
    EXPECT_EQ(v.at("curve").size(), steps);
    EXPECT_GT(steps, 3u);
}

// ---------------------------------------------------------------------------------------------------------------
// box on the real CUB boxes (wsolevaluation metadata built from cub/boxes.txt)

struct CubItem {
    std::string path;
    int64_t w, h, cls;
    eval::Box box, wsol224;
};

std::vector<CubItem> cub_items(size_t n) {
    std::vector<CubItem> out;
    for (const std::string& line : test::data_lines(test::real_data_dir() + "/cub/boxes.txt")) {
        const auto parts = test::split_on(line, '|');
        const auto head = test::split_ws(parts[0]), ints = test::split_ws(parts[1]), w224 = test::split_ws(parts[2]);
        out.push_back({"test/" + head[0], std::stoll(head[3]), std::stoll(head[4]), std::stoll(head[2]),
                       {std::stoll(ints[0]), std::stoll(ints[1]), std::stoll(ints[2]), std::stoll(ints[3])},
                       {std::stoll(w224[0]), std::stoll(w224[1]), std::stoll(w224[2]), std::stoll(w224[3])}});
        if (out.size() == n) break;
    }
    return out;
}

void write_cub_metadata(const std::string& dir, const std::vector<CubItem>& items) {
    std::string ids, loc, sizes, labels;
    for (const auto& it : items) {
        ids += it.path + "\n";
        loc += it.path + "," + std::to_string(it.box.x0) + "," + std::to_string(it.box.y0) + "," +
               std::to_string(it.box.x1) + "," + std::to_string(it.box.y1) + "\n";
        sizes += it.path + "," + std::to_string(it.w) + "," + std::to_string(it.h) + "\n";
        labels += it.path + "," + std::to_string(it.cls) + "\n";
    }
    write_text(dir + "/image_ids.txt", ids);
    write_text(dir + "/localization.txt", loc);
    write_text(dir + "/image_sizes.txt", sizes);
    write_text(dir + "/class_labels.txt", labels);
}

// A 224x224 score map: 1 inside the box (inclusive), 0 elsewhere; or all zeros.
void write_box_map(const std::string& path, const eval::Box& b, bool empty, DType dtype = DType::f64) {
    std::vector<double> m(224 * 224, 0.0);
    if (!empty)
        for (int64_t y = b.y0; y <= b.y1; ++y)
            for (int64_t x = b.x0; x <= b.x1; ++x) m[y * 224 + x] = 1.0;
    fs::create_directories(fs::path(path).parent_path());
    data::write_npy(path, Tensor::from_blob(m.data(), {224, 224}, DType::f64).to(dtype));
}

TEST(EvalCli, BoxWsolOnCubBoxes) {
    WSDOL_REQUIRE_REAL_DATA();
    ScratchDir dir;
    const auto items = cub_items(4);
    write_cub_metadata(dir.file("meta"), items);
    for (size_t i = 0; i < items.size(); ++i) {
        // wsolevaluation naming: PRED/<image_id>.npy with the .jpg kept; one image saved without it, one as float32.
        std::string p = dir.file("pred/" + items[i].path + ".npy");
        if (i == 1) p = dir.file("pred/" + fs::path(items[i].path).replace_extension(".npy").string());
        write_box_map(p, items[i].wsol224, /*empty=*/i == 3, i == 2 ? DType::f32 : DType::f64);
    }
    const std::string base = "--task box --data " + q(dir.file("meta")) + " --pred " + q(dir.file("pred"));
    const json::Value v = run_json(base);
    // Box maps give boxes [x0, y0, x1 + 1, y1 + 1] (boundingRect's x + w, clipped at 223): IoU > 0.9 for these
    // boxes; the empty map gives [0, 0, 0, 0]: 3 of 4 images correct at every IoU threshold.
    EXPECT_EQ(v.at("MaxBoxAcc").as_double(), 75.0);
    EXPECT_EQ(v.at("MaxBoxAccV2").as_double(), 75.0);
    EXPECT_EQ(v.at("MaxBoxAccV2_per_iou").at("70").as_double(), 75.0);
    EXPECT_EQ(v.at("images").as_int64(), 4);
    EXPECT_EQ(v.at("thresholds").as_int64(), 100);
    // A coarser interval: 5 thresholds.
    EXPECT_EQ(run_json(base + " --interval 0.2 --iou 50").at("thresholds").as_int64(), 5);

    // TS-CAM / CDTR conventions with top-k predictions: image 0 top-1 right, image 1 GT third, image 2 wrong.
    std::string topk;
    const std::vector<std::vector<int64_t>> preds = {{items[0].cls, 7, 8, 9, 10},
                                                     {100, 101, items[1].cls, 102, 103},
                                                     {150, 151, 152, 153, 154},
                                                     {items[3].cls, 1, 2, 3, 4}};
    for (size_t i = 0; i < items.size(); ++i) {
        topk += items[i].path;
        for (int64_t c : preds[i]) {
            topk += ' ';
            topk += std::to_string(c);
        }
        topk += "\n";
    }
    write_text(dir.file("topk.txt"), topk);
    for (const std::string protocol : {"tscam", "cdtr"}) {
        SCOPED_TRACE(protocol);
        const std::string args = base + " --protocol " + protocol + " --topk " + q(dir.file("topk.txt"));
        const json::Value t = run_json(args);
        EXPECT_EQ(t.at("top1_cls").as_double(), 50.0);
        EXPECT_EQ(t.at("top5_cls").as_double(), 75.0);
        // Images 0-2 have box maps; image 3's empty map gives [0, 0, 1, 1].
        EXPECT_EQ(t.at("gt_known_loc").as_double(), 75.0);
        EXPECT_EQ(t.at("top1_loc").as_double(), 25.0);
        EXPECT_EQ(t.at("top5_loc").as_double(), 50.0);
    }
}

TEST(EvalCli, BoxFailures) {
    WSDOL_REQUIRE_REAL_DATA();
    ScratchDir dir;
    const auto items = cub_items(2);
    write_cub_metadata(dir.file("meta"), items);
    write_box_map(dir.file("pred/" + items[0].path + ".npy"), items[0].wsol224, false);
    const std::string base = "--task box --data " + q(dir.file("meta")) + " --pred " + q(dir.file("pred"));
    RunResult r = run_eval(base);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.output.find("missing prediction for id " + items[1].path), std::string::npos) << r.output;
    const std::string p1 = at(dir.file("pred/" + items[1].path + ".npy"));
    data::write_npy(p1, Tensor::zeros({100, 120}, DType::f64));
    r = run_eval(base);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.output.find(".jpg.npy: wrong size 100x120 (HxW) vs 224x224"), std::string::npos) << r.output;
    data::write_npy(p1, Tensor::full({224, 224}, 1.5, DType::f64));
    r = run_eval(base);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.output.find("must be in [0, 1]"), std::string::npos) << r.output;
    data::write_npy(p1, Tensor::zeros({224, 224}, DType::i64));
    r = run_eval(base);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.output.find("expected float32 or float64"), std::string::npos) << r.output;
    r = run_eval("--task mask --data " + q(dir.file("meta")) + " --pred " + q(dir.file("pred")));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.output.find("holds boxes, not masks"), std::string::npos) << r.output;
}

// ---------------------------------------------------------------------------------------------------------------
// mask on the real OpenImages masks

TEST(EvalCli, MaskOnOpenImages) {
    WSDOL_REQUIRE_REAL_DATA();
    ScratchDir dir;
    const std::string oi = test::real_data_dir() + "/openimages";
    const std::vector<std::string> ids = {"val/0bt_c3/1cd9ac0169ec7df0.jpg", "val/0bt_c3/3a29f0b33894d4a6.jpg",
                                          "val/0bt_c3/3b3b9931325d65c9.jpg"};
    // Metadata: the real localization.txt, restricted by an image_ids.txt to the three real images.
    write_text(dir.file("meta/image_ids.txt"), ids[0] + "\n" + ids[1] + "\n" + ids[2] + "\n");
    fs::copy_file(oi + "/localization.txt", dir.file("meta/localization.txt"));
    const std::string base = "--task mask --data " + q(dir.file("meta")) + " --mask-root " + q(oi);
    // Constant maps: PxAP = 100 P / (P + N) with the README counts (43031 + 833 + 347 positives).
    for (const auto& id : ids)
        write_box_map(dir.file("const/" + id + ".npy"), {}, true, DType::f64);
    json::Value v = run_json(base + " --pred " + q(dir.file("const")));
    const double p = 43031 + 833 + 347, n = 7145 + 49343 + 13910;
    EXPECT_NEAR(v.at("PxAP").as_double(), 100.0 * p / (p + n), 1e-9);
    EXPECT_EQ(v.at("positives").as_int64(), 44211);
    EXPECT_EQ(v.at("negatives").as_int64(), 70398);
    EXPECT_EQ(v.at("ignored").as_int64(), 35919);
    // Perfect maps (from the GT the library builds): PxAP = pIoU = 100.
    for (const auto& id : ids) {
        std::vector<std::string> masks;
        std::string ignore;
        for (const std::string& line : test::data_lines(oi + "/localization.txt")) {
            const auto f = test::split_on(line, ',');
            if (f[0] != id) continue;
            masks.push_back(oi + "/" + f[1]);
            if (!f[2].empty()) ignore = oi + "/" + f[2];
        }
        const eval::MaskGt gt = eval::wsol_mask_gt(masks, ignore);
        std::vector<float> m(224 * 224);
        for (size_t i = 0; i < m.size(); ++i) m[i] = gt.labels[i] == 1 ? 1.0f : 0.0f;
        fs::create_directories(fs::path(dir.file("perfect/" + id)).parent_path());
        data::write_npy(dir.file("perfect/" + id + ".npy"), Tensor::from_blob(m.data(), {224, 224}, DType::f32));
    }
    v = run_json(base + " --pred " + q(dir.file("perfect")));
    EXPECT_EQ(v.at("PxAP").as_double(), 100.0);
    EXPECT_EQ(v.at("pIoU").as_double(), 100.0);
    // Missing mask root -> the mask file is named.
    const RunResult r = run_eval("--task mask --data " + q(dir.file("meta")) + " --pred " + q(dir.file("perfect")));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.output.find("1cd9ac0169ec7df0_m0bt_c3_6932e993.png"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace wsdol
