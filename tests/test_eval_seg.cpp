// test_eval_seg.cpp — WSSS mIoU: hand-computed confusion matrices and both averaging rules, the real VOC masks
// (GT vs GT = 100; GT vs all-background = the value implied by the exact histograms of voc/labels.txt), CAM ->
// label conversion (background wins ties, float32 comparison), the one-pass threshold sweep, MCTformer's stop rule.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "engine/core/rng.h"
#include "engine/data/image_io.h"
#include "engine/eval/seg_metrics.h"
#include "engine/tensor/tensor.h"
#include "tests/error_matchers.h"
#include "tests/test_eval_util.h"

namespace wsdol::eval {
namespace {

using test::expect_error;

TEST(EvalSeg, HandComputedConfusion) {
    // C = 3; the 255 pixel is skipped. M[0][0]=1 M[0][1]=1 M[1][1]=2 M[2][0]=1.
    const std::vector<uint8_t> gt = {0, 0, 1, 1, 2, 255};
    const std::vector<uint8_t> pred = {0, 1, 1, 1, 0, 2};
    ConfusionMatrix m(3);
    m.add(gt.data(), pred.data(), 6);
    EXPECT_EQ(m.at(0, 0), 1);
    EXPECT_EQ(m.at(0, 1), 1);
    EXPECT_EQ(m.at(1, 1), 2);
    EXPECT_EQ(m.at(2, 0), 1);
    const SegScores s = m.scores();
    // IoU0 = 1 / (2 + 2 - 1), IoU1 = 2 / (2 + 3 - 2), IoU2 = 0 / 1.
    EXPECT_NEAR(s.iou[0], 100.0 / 3.0, 1e-12);
    EXPECT_NEAR(s.iou[1], 200.0 / 3.0, 1e-12);
    EXPECT_EQ(s.iou[2], 0.0);
    EXPECT_NEAR(s.miou, 100.0 / 3.0, 1e-12);
    EXPECT_EQ(s.pixels, 5);
    EXPECT_EQ(s.pixel_accuracy, 60.0);
    EXPECT_EQ(s.mean_accuracy, 50.0);  // (1/2 + 2/2 + 0/1) / 3
    // MCTformer adds 1e-10 to each denominator: on counts of a few pixels that shifts the percent by ~1e-9.
    EXPECT_NEAR(m.scores(MiouRule::mctformer).miou, 100.0 / 3.0, 1e-7);

    // A fourth class without GT or predictions: ToCo drops it, MCTformer counts it as 0.
    ConfusionMatrix m4(4);
    m4.add(gt.data(), pred.data(), 6);
    EXPECT_NEAR(m4.scores(MiouRule::toco).miou, 100.0 / 3.0, 1e-12);
    EXPECT_NEAR(m4.scores(MiouRule::mctformer).miou, 25.0, 1e-7);
    EXPECT_TRUE(std::isnan(m4.scores().iou[3]));

    // A class predicted but absent from the GT: IoU 0, not in ToCo's mean (no GT pixel), in MCTformer's.
    const std::vector<uint8_t> g2 = {0, 0}, p2 = {0, 1};
    ConfusionMatrix m2(2);
    m2.add(g2.data(), p2.data(), 2);
    EXPECT_EQ(m2.scores().iou[1], 0.0);
    EXPECT_EQ(m2.scores(MiouRule::toco).miou, 50.0);
    EXPECT_NEAR(m2.scores(MiouRule::mctformer).miou, 25.0, 1e-7);

    const std::vector<uint8_t> bad = {0, 3, 0, 0, 0, 0};
    expect_error([&] { m.add(gt.data(), bad.data(), 6); }, {"prediction value 3 outside [0, 3)"});
    // A void GT pixel tolerates any prediction value (it is not counted).
    const std::vector<uint8_t> void_gt = {255}, any = {200};
    m.add(void_gt.data(), any.data(), 1);
    expect_error([] { miou_rule_from_name("devkit"); }, {"devkit"});
}

std::vector<std::pair<test::VocSample, data::Image>> voc_masks() {
    std::vector<std::pair<test::VocSample, data::Image>> out;
    for (const auto& s : test::voc_samples())
        out.emplace_back(s, data::read_label_png(test::real_data_dir() + "/voc/SegmentationClassAug/" + s.id + ".png"));
    return out;
}

TEST(EvalSeg, VocGtVsGtIs100) {
    WSDOL_REQUIRE_REAL_DATA();
    ConfusionMatrix m(21);
    int64_t valid = 0;
    std::set<int> present;
    for (const auto& [s, mask] : voc_masks()) {
        m.add(mask.pixels.data(), mask.pixels.data(), static_cast<int64_t>(mask.pixels.size()));
        for (const auto& [v, n] : s.pixel_counts)
            if (v != 255) {
                valid += n;
                present.insert(v);
            }
    }
    const SegScores sc = m.scores(MiouRule::toco);
    EXPECT_EQ(sc.miou, 100.0);
    EXPECT_EQ(sc.pixel_accuracy, 100.0);
    EXPECT_EQ(sc.pixels, valid);
    for (int c = 0; c < 21; ++c) {
        if (present.count(c)) {
            EXPECT_EQ(sc.iou[c], 100.0) << c;
        } else {
            EXPECT_TRUE(std::isnan(sc.iou[c])) << c;
        }
    }
    // 17 of the 21 classes occur in the 27 samples (no cat, cow, motorbike, pottedplant): MCTformer's plain mean
    // counts the other four as 0.
    EXPECT_EQ(present.size(), 17u);
    EXPECT_NEAR(m.scores(MiouRule::mctformer).miou, 100.0 * 17.0 / 21.0, 1e-7);
}

// All-background prediction: IoU_bg = bg / (bg + fg) over the set, every present foreground class 0, so the
// ToCo mIoU is IoU_bg / (1 + number of present foreground classes) — computed here from labels.txt alone.
TEST(EvalSeg, VocGtVsAllBackground) {
    WSDOL_REQUIRE_REAL_DATA();
    const auto masks = voc_masks();
    auto check = [](const std::vector<std::pair<test::VocSample, data::Image>>& subset) {
        ConfusionMatrix m(21);
        int64_t bg = 0, fg = 0;
        std::set<int> classes;
        for (const auto& [s, mask] : subset) {
            const std::vector<uint8_t> zeros(mask.pixels.size(), 0);
            m.add(mask.pixels.data(), zeros.data(), static_cast<int64_t>(zeros.size()));
            for (const auto& [v, n] : s.pixel_counts) {
                if (v == 0) bg += n;
                if (v != 0 && v != 255) {
                    fg += n;
                    classes.insert(v);
                }
            }
        }
        const SegScores sc = m.scores();
        const double iou_bg = 100.0 * static_cast<double>(bg) / static_cast<double>(bg + fg);
        EXPECT_DOUBLE_EQ(sc.iou[0], iou_bg);
        for (int c : classes) EXPECT_EQ(sc.iou[c], 0.0);
        EXPECT_DOUBLE_EQ(sc.miou, iou_bg / static_cast<double>(1 + classes.size()));
        EXPECT_DOUBLE_EQ(sc.pixel_accuracy, iou_bg);
    };
    check(masks);
    // One image alone: 2011_000003 has 122905 bg, 601 bottle and 29270 person pixels:
    // IoU_bg = 122905 / 152776, mIoU = IoU_bg / 3.
    for (const auto& p : masks)
        if (p.first.id == "2011_000003") {
            check({p});
            ConfusionMatrix m(21);
            const std::vector<uint8_t> zeros(p.second.pixels.size(), 0);
            m.add(p.second.pixels.data(), zeros.data(), static_cast<int64_t>(zeros.size()));
            EXPECT_DOUBLE_EQ(m.scores().miou, 100.0 * 122905.0 / 152776.0 / 3.0);
        }
}

TEST(EvalSeg, CamsToLabels) {
    // K = 3 foreground CAMs on 1 x 5 pixels; the image's classes are 1 and 3.
    const std::vector<float> cams = {
        0.9f, 0.2f, 0.5f, 0.1f, 0.3f,  // class 1
        1.0f, 1.0f, 1.0f, 1.0f, 1.0f,  // class 2 (not in the image: ignored)
        0.1f, 0.7f, 0.5f, 0.1f, 0.2f,  // class 3
    };
    std::vector<uint8_t> out(5);
    cams_to_labels(cams.data(), 3, 1, 5, {1, 3}, 0.3, out.data());
    // pixel 2: classes tie at 0.5 -> the lower class; pixel 4: max 0.3f vs float(0.3) -> background (ties).
    EXPECT_EQ(out, (std::vector<uint8_t>{1, 3, 1, 0, 0}));
    // No GT classes: everything background.
    cams_to_labels(cams.data(), 3, 1, 5, {}, 0.0, out.data());
    EXPECT_EQ(out, (std::vector<uint8_t>(5, 0)));
    // float32 comparison: 0.1f is above the double 0.1 but equal to float(0.1) -> background.
    const std::vector<float> f = {0.1f};
    const std::vector<double> d = {0.1};
    cams_to_labels(f.data(), 1, 1, 1, {1}, 0.1, out.data());
    EXPECT_EQ(out[0], 0);
    cams_to_labels(d.data(), 1, 1, 1, {1}, 0.1, out.data());
    EXPECT_EQ(out[0], 0);
    cams_to_labels(d.data(), 1, 1, 1, {1}, 0.0999, out.data());
    EXPECT_EQ(out[0], 1);
    expect_error([&] { cams_to_labels(f.data(), 1, 1, 1, {2}, 0.1, out.data()); }, {"class 2 outside 1..1"});
}

// The one-pass sweep equals thresholding and accumulating at every threshold (float32 and float64 CAMs).
TEST(EvalSeg, ThresholdSweepEqualsDirectEvaluation) {
    Generator gen(11);
    const int C = 6;
    const int64_t h = 7, w = 9, hw = h * w;
    const auto thresholds = mctformer_thresholds(0, 60);
    ThresholdSweep sweep32(C, thresholds), sweep64(C, thresholds);
    std::vector<ConfusionMatrix> direct32(thresholds.size(), ConfusionMatrix(C)), direct64 = direct32;
    for (int img = 0; img < 5; ++img) {
        const auto g = Tensor::randint(0, C, {hw}, DType::i64, &gen).to_vector();
        const auto v = Tensor::rand({(C - 1) * hw}, DType::f64, &gen).to_vector();
        std::vector<uint8_t> gt(hw);
        for (int64_t i = 0; i < hw; ++i) gt[i] = i % 13 == 0 ? 255 : static_cast<uint8_t>(g[i]);
        std::vector<double> cams64(v.begin(), v.end());
        for (size_t i = 0; i < cams64.size(); i += 7) cams64[i] = std::round(cams64[i] * 100) / 100;  // exact ties
        std::vector<float> cams32(cams64.begin(), cams64.end());
        std::vector<int> classes;
        for (int c = 1; c < C; ++c)
            if ((img + c) % 3 != 0) classes.push_back(c);
        sweep32.add(gt.data(), cams32.data(), C - 1, h, w, classes);
        sweep64.add(gt.data(), cams64.data(), C - 1, h, w, classes);
        std::vector<uint8_t> pred(hw);
        for (size_t j = 0; j < thresholds.size(); ++j) {
            cams_to_labels(cams32.data(), C - 1, h, w, classes, thresholds[j], pred.data());
            direct32[j].add(gt.data(), pred.data(), hw);
            cams_to_labels(cams64.data(), C - 1, h, w, classes, thresholds[j], pred.data());
            direct64[j].add(gt.data(), pred.data(), hw);
        }
    }
    for (size_t j = 0; j < thresholds.size(); ++j) {
        const ConfusionMatrix a = sweep32.confusion(j), b = sweep64.confusion(j);
        for (int g = 0; g < C; ++g)
            for (int p = 0; p < C; ++p) {
                ASSERT_EQ(a.at(g, p), direct32[j].at(g, p)) << j;
                ASSERT_EQ(b.at(g, p), direct64[j].at(g, p)) << j;
            }
    }
}

TEST(EvalSeg, MctformerSweepStopsAtFirstNonImprovement) {
    const auto t = mctformer_thresholds();
    ASSERT_EQ(t.size(), 60u);
    EXPECT_EQ(t[15], 0.15);
    EXPECT_EQ(t[59], 0.59);
    // One image, two classes, 1 x 4 pixels: GT 0 0 1 1, CAM 0.02 0.05 0.03 0.5.
    // t = 0.00: pred 1 1 1 1; t = 0.01: same; t = 0.02: 0 1 1 1; t = 0.03: 0 1 0 1; t = 0.04 same; t = 0.05: 0 0 0 1.
    const std::vector<uint8_t> gt = {0, 0, 1, 1};
    const std::vector<float> cam = {0.02f, 0.05f, 0.03f, 0.5f};
    ThresholdSweep s(2, t);
    s.add(gt.data(), cam.data(), 1, 1, 4, {1});
    const SweepResult r = mctformer_sweep(s, MiouRule::mctformer);
    // mIoU: t0 (0 + 50) / 2 = 25; t1 25 (not higher: stop). Best 0.00.
    ASSERT_EQ(r.curve.size(), 2u);
    EXPECT_NEAR(r.curve[0].second, 25.0, 1e-7);
    EXPECT_EQ(r.best_threshold, 0.0);
    EXPECT_NEAR(r.best_miou, 25.0, 1e-7);
    // Starting at 2: t = 0.02 (0.02f <= float(0.02): background): pred 0 1 1 1, IoU0 = 1/2, IoU1 = 2/3 -> 58.33;
    // t = 0.03: pred 0 1 0 1, IoU0 = IoU1 = 1/3 -> 33.33 -> stop.
    ThresholdSweep s2(2, mctformer_thresholds(2, 60));
    s2.add(gt.data(), cam.data(), 1, 1, 4, {1});
    const SweepResult r2 = mctformer_sweep(s2);
    ASSERT_EQ(r2.curve.size(), 2u);
    EXPECT_EQ(r2.best_threshold, 0.02);
    EXPECT_NEAR(r2.best_miou, 100.0 * (0.5 + 2.0 / 3.0) / 2, 1e-7);
    // A first mIoU of 0 stops at once and reports t = 0.0.
    const std::vector<uint8_t> all_fg = {1, 1, 1, 1};
    const std::vector<float> zero_cam(4, 0.0f);
    ThresholdSweep s3(2, mctformer_thresholds(5, 60));
    s3.add(all_fg.data(), zero_cam.data(), 1, 1, 4, {1});
    const SweepResult r3 = mctformer_sweep(s3);
    EXPECT_EQ(r3.curve.size(), 1u);
    EXPECT_EQ(r3.best_threshold, 0.0);
    EXPECT_EQ(r3.best_miou, 0.0);
}

}  // namespace
}  // namespace wsdol::eval
