// test_eval_wsol.cpp — MaxBoxAcc/MaxBoxAccV2, PxAP and pIoU: hand-computed cases, wsolevaluation's
// MaskEvaluator tests on the real OpenImages masks (../shared/data/real/openimages, oracle counts of its README),
// and the nearest-neighbour resize rule that those counts depend on.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/core/rng.h"
#include "engine/eval/mask_gt.h"
#include "engine/eval/wsol_metrics.h"
#include "engine/tensor/tensor.h"
#include "tests/error_matchers.h"
#include "tests/test_eval_util.h"

namespace wsdol::eval {
namespace {

using test::expect_error;

const std::vector<double> kUnimodal = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.4, 0.4, 0.4, 0.6,
                                       0.0, 0.4, 1.0, 0.8, 0.6, 0.0, 0.4, 0.4, 0.4, 0.6};
const std::vector<double> kMultimodal = {0.4, 0.0, 0.2, 0.2, 0.2, 0.4, 0.4, 0.0, 0.4, 0.0,
                                         0.0, 0.0, 0.0, 0.4, 0.0, 1.0, 0.6, 0.8, 0.2, 0.2};

TEST(EvalWsol, Thresholds) {
    EXPECT_EQ(wsol_thresholds(0.01).size(), 100u);
    EXPECT_EQ(wsol_thresholds(0.001).size(), 1000u);
    EXPECT_EQ(wsol_thresholds(0.3).size(), 4u);
    EXPECT_EQ(wsol_thresholds(0.07).size(), 15u);
    EXPECT_EQ(wsol_thresholds(0.01)[57], 57 * 0.01);  // k * interval, not repeated addition
    expect_error([] { wsol_thresholds(0.0); }, {"interval"});
}

// Hand-computed: per-tau IoUs of the two unit-test maps against chosen GT boxes (see the comments), 5 thresholds.
TEST(EvalWsol, MaxBoxAccHandComputed) {
    BoxAccumulator acc(wsol_thresholds(0.2), {30, 50, 70});
    const auto a = heatmap_u8(kUnimodal.data(), 20);
    const auto b = heatmap_u8(kMultimodal.data(), 20);
    // Image A, GT [1,1,4,3] (12 px): V1 boxes [1,1,4,3] [1,1,4,3] [2,1,4,3] [2,2,4,3] [2,2,3,3]
    // -> IoU 1, 1, 9/12, 6/12, 4/12.
    const std::vector<double> ious_a = acc.best_ious(a.data(), 4, 5, {{1, 1, 4, 3}}, false);
    EXPECT_EQ(ious_a, (std::vector<double>{1.0, 1.0, 0.75, 0.5, 4.0 / 12.0}));
    // Image B, GT [0,3,1,3] (2 px): boxes [0,0,4,3] [0,0,2,2] [0,3,3,3] [2,3,3,3] [0,3,1,3] -> 0.1, 0, 0.5, 0, 1.
    const std::vector<double> ious_b = acc.best_ious(b.data(), 4, 5, {{0, 3, 1, 3}}, false);
    EXPECT_EQ(ious_b, (std::vector<double>{0.1, 0.0, 0.5, 0.0, 1.0}));
    acc.add(a.data(), 4, 5, {{1, 1, 4, 3}});
    acc.add(b.data(), 4, 5, {{0, 3, 1, 3}});
    const BoxAccResult r = acc.compute(false);
    EXPECT_EQ(r.images, 2);
    EXPECT_EQ(r.box_acc[0], (std::vector<double>{50, 50, 100, 50, 100}));  // delta 30
    EXPECT_EQ(r.box_acc[1], (std::vector<double>{50, 50, 100, 50, 50}));  // delta 50 (0.5 >= 0.5 counts)
    EXPECT_EQ(r.box_acc[2], (std::vector<double>{50, 50, 50, 0, 50}));     // delta 70
    EXPECT_EQ(r.max_box_acc, (std::vector<double>{100, 100, 50}));
    EXPECT_EQ(r.best_threshold_index, (std::vector<int>{2, 2, 0}));  // best tau chosen per delta, first on ties
    EXPECT_EQ(r.at(50), 100.0);
    EXPECT_DOUBLE_EQ(r.mean(), 250.0 / 3.0);
    expect_error([&] { r.at(90); }, {"90"});
}

// Multi-contour (V2): a small blob matching the GT loses to a bigger one in V1 but counts in V2.
TEST(EvalWsol, MultiContourFindsTheSmallerBlob) {
    const int64_t h = 10, w = 12;
    std::vector<uint8_t> u8(h * w, 0);
    for (int y = 1; y < 7; ++y)
        for (int x = 1; x < 7; ++x) u8[y * w + x] = 200;  // big blob [1,1]-[6,6]
    for (int y = 7; y < 10; ++y)
        for (int x = 9; x < 12; ++x) u8[y * w + x] = 255;  // small blob [9,7]-[11,9], touching the corner
    const Box gt{9, 7, 11, 9};
    BoxAccumulator acc({0.0, 0.5, 0.9}, {50});
    // tau 0 / 0.5: both blobs; V1 keeps the big one ([1,1,7,7]: IoU 0), V2 also has [9,7,11,9] (clipped) -> 1.
    // tau 0.9: T = 229, only the small blob: both variants find it.
    EXPECT_EQ(acc.best_ious(u8.data(), h, w, {gt}, false), (std::vector<double>{0.0, 0.0, 1.0}));
    EXPECT_EQ(acc.best_ious(u8.data(), h, w, {gt}, true), (std::vector<double>{1.0, 1.0, 1.0}));
    acc.add(u8.data(), h, w, {gt});
    EXPECT_EQ(acc.compute(false).box_acc[0], (std::vector<double>{0, 0, 100}));
    EXPECT_EQ(acc.compute(true).box_acc[0], (std::vector<double>{100, 100, 100}));
    // Several GT boxes: the best match counts.
    BoxAccumulator two({0.0}, {50});
    EXPECT_EQ(two.best_ious(u8.data(), h, w, {{0, 0, 0, 0}, {1, 1, 7, 7}}, false), (std::vector<double>{1.0}));
    expect_error([&] { two.add(u8.data(), h, w, {}); }, {"without GT boxes"});
    expect_error([] { BoxAccumulator({0.0}).compute(true); }, {"no images"});
}

// Hand-computed PxAP / pIoU: positives {0.9, 0.5}, negatives {0.7, 0.1}, thresholds 0, .2, .4, .6, .8.
// Top-down bins: [2,3] [1,2) [.8,1) [.6,.8) [.4,.6) [.2,.4) [0,.2) -> TP 0 0 1 1 2 2 2, FP 0 0 0 1 1 1 2.
// AP = 1 * 0.5 + (2/3) * 0.5 = 5/6; IoU_j = TP / (TP + FP + FN): best 2 / 3 at "score >= 0.4".
TEST(EvalWsol, PxapHandComputed) {
    PxapAccumulator acc(wsol_thresholds(0.2));
    const std::vector<double> scores = {0.9, 0.5, 0.7, 0.1, 0.3};
    const std::vector<uint8_t> gt = {1, 1, 0, 0, 255};  // the last pixel is ignored
    acc.add(scores.data(), gt.data(), 5);
    const PxapResult r = acc.compute();
    EXPECT_EQ(r.positives, 2);
    EXPECT_EQ(r.negatives, 2);
    EXPECT_NEAR(r.pxap, 100.0 * 5.0 / 6.0, 1e-12);
    EXPECT_NEAR(r.piou, 100.0 * 2.0 / 3.0, 1e-12);
    EXPECT_EQ(r.piou_threshold, 0.4);
    EXPECT_EQ(r.recall, (std::vector<double>{0, 0, 0.5, 0.5, 1, 1, 1}));
    EXPECT_TRUE(std::isnan(r.precision[0]) && std::isnan(r.precision[1]));
}

TEST(EvalWsol, PxapBinEdges) {
    // A score equal to a threshold lands in the bin it starts; 1.0 lands in [1, 2).
    PxapAccumulator acc(wsol_thresholds(0.2));
    const std::vector<double> s = {0.2, 1.0, 0.0, 0.6000000000000001, 0.6};
    const std::vector<uint8_t> g = {1, 1, 1, 0, 0};
    acc.add(s.data(), g.data(), 5);
    EXPECT_EQ(acc.positive_histogram(), (std::vector<int64_t>{1, 1, 0, 0, 0, 1, 0}));
    EXPECT_EQ(acc.negative_histogram(), (std::vector<int64_t>{0, 0, 1, 1, 0, 0, 0}));
    const std::vector<float> sf = {0.5f};
    acc.add(sf.data(), g.data(), 1);  // float32 maps are widened to double
    EXPECT_EQ(acc.positive_histogram()[2], 1);
}

TEST(EvalWsol, PxapErrorsAndConstantMaps) {
    PxapAccumulator empty_gt(wsol_thresholds(0.01));
    const std::vector<double> s(4, 0.3);
    const std::vector<uint8_t> zeros(4, 0), ignored(4, 255);
    empty_gt.add(s.data(), zeros.data(), 4);
    expect_error([&] { empty_gt.compute(); }, {"no positive ground truth"});
    PxapAccumulator all_ignored(wsol_thresholds(0.01));
    all_ignored.add(s.data(), ignored.data(), 4);
    expect_error([&] { all_ignored.compute(); }, {"no positive ground truth"});
    const std::vector<double> bad = {0.3, -0.1, 0.2, 0.2};
    expect_error([&] { empty_gt.add(bad.data(), zeros.data(), 4); }, {"[0, 1]", "-0.1"});
    // Any constant map: PxAP = 100 * P / (P + N).
    for (double v : {0.0, 0.37, 0.5, 1.0}) {
        PxapAccumulator acc(wsol_thresholds(0.01));
        const std::vector<double> c(5, v);
        const std::vector<uint8_t> g = {1, 0, 0, 1, 1};
        acc.add(c.data(), g.data(), 5);
        EXPECT_NEAR(acc.compute().pxap, 60.0, 1e-12) << v;
        EXPECT_NEAR(acc.compute().piou, 60.0, 1e-12) << v;  // everything positive: TP 3, FP 2, FN 0
    }
}

TEST(EvalWsol, ResizeNearestOpenCVRule) {
    // 5 -> 3 columns: ifx = 1 / (3/5) = 1.6667: sources floor(0), floor(1.667), floor(3.333) = 0, 1, 3.
    const std::vector<uint8_t> row = {10, 11, 12, 13, 14};
    EXPECT_EQ(resize_nearest(row.data(), 1, 5, 1, 3), (std::vector<uint8_t>{10, 11, 13}));
    // Upscaling 2 -> 5: ifx = 0.4: 0, 0, 0, 1, 1.
    const std::vector<uint8_t> two = {1, 2};
    EXPECT_EQ(resize_nearest(two.data(), 1, 2, 1, 5), (std::vector<uint8_t>{1, 1, 1, 2, 2}));
    EXPECT_EQ(resize_nearest(two.data(), 2, 1, 5, 1), (std::vector<uint8_t>{1, 1, 1, 2, 2}));
}

struct OpenImagesCase {
    std::string id;
    std::vector<std::string> masks;
    std::string ignore;
    int64_t positives, negatives, ignored;
};

std::vector<OpenImagesCase> openimages_cases() {
    const std::string d = test::real_data_dir() + "/openimages/val/0bt_c3/";
    return {{"1cd9ac0169ec7df0", {d + "1cd9ac0169ec7df0_m0bt_c3_6932e993.png"}, d + "1cd9ac0169ec7df0_ignore.png",
             43031, 7145, 0},
            {"3a29f0b33894d4a6",
             {d + "3a29f0b33894d4a6_m0bt_c3_d2422806.png", d + "3a29f0b33894d4a6_m0bt_c3_3581e3ae.png"},
             d + "3a29f0b33894d4a6_ignore.png", 833, 49343, 0},
            {"3b3b9931325d65c9", {d + "3b3b9931325d65c9_m0bt_c3_d4e2e136.png"}, d + "3b3b9931325d65c9_ignore.png", 347,
             13910, 35919}};
}

// README oracle table: positive / negative / ignored pixels after the OpenCV nearest resize to 224.
TEST(EvalWsol, OpenImagesGtCounts) {
    WSDOL_REQUIRE_REAL_DATA();
    for (const auto& c : openimages_cases()) {
        SCOPED_TRACE(c.id);
        const MaskGt gt = wsol_mask_gt(c.masks, c.ignore);
        EXPECT_EQ(gt.positives, c.positives);
        EXPECT_EQ(gt.negatives, c.negatives);
        EXPECT_EQ(gt.ignored, c.ignored);
        EXPECT_EQ(gt.positives + gt.negatives + gt.ignored, 224 * 224);
    }
}

// wsolevaluation's MaskEvaluator tests: constant maps (0, 0.5, 1) give 100 P / (P + N) (README: 85.760, 1.660,
// 2.434; both real images accumulated: 43.710); perfect maps give 100 whatever the ignore pixels score.
TEST(EvalWsol, OpenImagesPxapOracles) {
    WSDOL_REQUIRE_REAL_DATA();
    const auto cases = openimages_cases();
    const double expected[3] = {85.760, 1.660, 2.434};
    for (size_t i = 0; i < cases.size(); ++i) {
        SCOPED_TRACE(cases[i].id);
        const MaskGt gt = wsol_mask_gt(cases[i].masks, cases[i].ignore);
        const double exact = 100.0 * gt.positives / static_cast<double>(gt.positives + gt.negatives);
        for (double v : {0.0, 0.5, 1.0}) {
            PxapAccumulator acc(wsol_thresholds(0.01));
            const std::vector<double> map(224 * 224, v);
            acc.add(map.data(), gt.labels.data(), 224 * 224);
            const PxapResult r = acc.compute();
            EXPECT_NEAR(r.pxap, exact, 1e-9);
            EXPECT_NEAR(r.pxap, expected[i], 5e-4);
        }
        for (double ignore_score : {0.0, 1.0}) {
            std::vector<double> map(224 * 224);
            for (size_t p = 0; p < map.size(); ++p)
                map[p] = gt.labels[p] == 1 ? 1.0 : gt.labels[p] == 255 ? ignore_score : 0.0;
            PxapAccumulator acc(wsol_thresholds(0.01));
            acc.add(map.data(), gt.labels.data(), 224 * 224);
            EXPECT_EQ(acc.compute().pxap, 100.0);
            EXPECT_EQ(acc.compute().piou, 100.0);
        }
    }
    PxapAccumulator both(wsol_thresholds(0.01));
    for (size_t i = 0; i < 2; ++i) {
        const MaskGt gt = wsol_mask_gt(cases[i].masks, cases[i].ignore);
        const std::vector<double> map(224 * 224, 0.5);
        both.add(map.data(), gt.labels.data(), 224 * 224);
    }
    EXPECT_NEAR(both.compute().pxap, 100.0 * 43864 / (43864 + 56488), 1e-9);
    EXPECT_NEAR(both.compute().pxap, 43.710, 5e-4);
}

// Synthetic fixtures: an all-zero mask has no positive GT (error); an all-one mask gives PxAP 100 for any map.
TEST(EvalWsol, OpenImagesSyntheticFixtures) {
    WSDOL_REQUIRE_REAL_DATA();
    const std::string d = test::real_data_dir() + "/openimages/val/0by6g/";
    const MaskGt zero = wsol_mask_gt({d + "490365f63135f3e0_m0by6g_4f9ded4f.png"}, d + "490365f63135f3e0_ignore.png");
    EXPECT_EQ(zero.positives, 0);
    PxapAccumulator acc0(wsol_thresholds(0.01));
    const std::vector<double> half(224 * 224, 0.5);
    acc0.add(half.data(), zero.labels.data(), 224 * 224);
    expect_error([&] { acc0.compute(); }, {"no positive ground truth"});

    const MaskGt one = wsol_mask_gt({d + "b4d953e7105da1d8_m0by6g_9f8621ff.png"}, d + "b4d953e7105da1d8_ignore.png");
    EXPECT_EQ(one.positives, 224 * 224);
    Generator gen(7);
    std::vector<double> random_map(224 * 224);
    const auto r = Tensor::rand({224 * 224}, DType::f64, &gen).to_vector();
    for (size_t i = 0; i < random_map.size(); ++i) random_map[i] = r[i];
    PxapAccumulator acc1(wsol_thresholds(0.01));
    acc1.add(random_map.data(), one.labels.data(), 224 * 224);
    EXPECT_NEAR(acc1.compute().pxap, 100.0, 1e-12);

    expect_error([&] { wsol_mask_gt({d + "nonexistent.png"}, ""); }, {"nonexistent.png"});
}

}  // namespace
}  // namespace wsdol::eval
