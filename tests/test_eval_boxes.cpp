// test_eval_boxes.cpp — IoU conventions, GT box scaling (wsolevaluation / TS-CAM / CDTR), heat-map boxes:
// the unit vectors of wsolevaluation's evaluation_test.py (restated in ../shared/docs/data-eval.md §3.2), hand-
// computed cases, and the 224-pixel box oracles of ../shared/data/real/cub/boxes.txt.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/eval/boxes.h"
#include "engine/eval/wsol_metrics.h"
#include "tests/error_matchers.h"
#include "tests/test_eval_util.h"

namespace wsdol::eval {
namespace {

using test::expect_error;

TEST(EvalBoxes, WsolIoUCases) {
    // evaluation_test.py: realistic value, identical / disjoint boxes, degenerate zero boxes.
    EXPECT_NEAR(iou_wsol({1, 2, 5, 6}, {3, 1, 4, 5}), 8.0 / 27.0, 1e-15);
    EXPECT_EQ(iou_wsol({1, 1, 3, 3}, {1, 1, 3, 3}), 1.0);
    EXPECT_EQ(iou_wsol({1, 1, 3, 3}, {4, 4, 5, 5}), 0.0);
    EXPECT_EQ(iou_wsol({4, 4, 5, 5}, {4, 4, 5, 5}), 1.0);
    EXPECT_EQ(iou_wsol({0, 0, 0, 0}, {0, 0, 0, 0}), 1.0);  // each box is one pixel
    // Hand-computed: [0,0,9,9] (100 px) vs [5,5,14,14] (100 px), intersection 5x5 = 25 -> 25/175.
    EXPECT_EQ(iou_wsol({0, 0, 9, 9}, {5, 5, 14, 14}), 25.0 / 175.0);
    // A degenerate denominator gives 0 (wsolevaluation sets those IoUs to 0).
    EXPECT_EQ(iou_wsol({5, 5, 3, 3}, {5, 5, 3, 3}), 0.0);
}

TEST(EvalBoxes, TscamAndCdtrIoU) {
    // TS-CAM: the "+1" rule in floats (same numbers as wsol on integer boxes).
    EXPECT_NEAR(iou_tscam({1, 2, 5, 6}, {3, 1, 4, 5}), 8.0 / 27.0, 1e-15);
    // CDTR: no +1. [0,0,10,10] vs [5,5,15,15]: 25 / (100 + 100 - 25).
    EXPECT_EQ(iou_cdtr({0, 0, 10, 10}, {5, 5, 15, 15}), 25.0 / 175.0);
    EXPECT_EQ(iou_cdtr({0, 0, 10, 10}, {10, 0, 20, 10}), 0.0);  // touching edges do not overlap
    EXPECT_EQ(iou_cdtr({0.5, 0, 2.5, 1}, {0.5, 0, 2.5, 1}), 1.0);
    // The same pixel boxes differ between conventions: [0,0,1,1] vs [1,1,2,2] overlap by one pixel with +1.
    EXPECT_EQ(iou_tscam({0, 0, 1, 1}, {1, 1, 2, 2}), 1.0 / 7.0);
    EXPECT_EQ(iou_cdtr({0, 0, 1, 1}, {1, 1, 2, 2}), 0.0);
}

TEST(EvalBoxes, WsolResizeBox) {
    // evaluation_test.py: (1,2,4,3) from a 10x20 (W x H) image to 35x10 -> (3,1,14,1); degenerate box kept.
    EXPECT_EQ(wsol_resize_box({1, 2, 4, 3}, 10, 20, 35, 10), (Box{3, 1, 14, 1}));
    EXPECT_EQ(wsol_resize_box({1, 2, 1, 2}, 3, 3, 3, 3), (Box{1, 2, 1, 2}));
    // A box with x1 < x0 (or negative) must be rejected.
    expect_error([] { wsol_resize_box({1, 1, 0, 0}, 10, 10, 5, 5); }, {"x0y0x1y1"});
    expect_error([] { wsol_resize_box({-1, 0, 2, 2}, 10, 10, 5, 5); }, {"x0y0x1y1"});
}

// wsol224, tscam224 and cdtr224 columns of cub/boxes.txt, and the metadata integer box int(x), int(x + w).
TEST(EvalBoxes, CubBoxOracles) {
    WSDOL_REQUIRE_REAL_DATA();
    int checked = 0;
    for (const std::string& line : test::data_lines(test::real_data_dir() + "/cub/boxes.txt")) {
        const auto parts = test::split_on(line, '|');
        ASSERT_EQ(parts.size(), 5u) << line;
        const auto head = test::split_ws(parts[0]);
        const auto ints = test::split_ws(parts[1]), wsol = test::split_ws(parts[2]);
        const auto tscam = test::split_ws(parts[3]), cdtr = test::split_ws(parts[4]);
        SCOPED_TRACE(head[0]);
        const int64_t W = std::stoll(head[3]), H = std::stoll(head[4]);
        const double x = std::stod(head[7]), y = std::stod(head[8]), w = std::stod(head[9]), h = std::stod(head[10]);
        const Box meta{static_cast<int64_t>(x), static_cast<int64_t>(y), static_cast<int64_t>(x + w),
                       static_cast<int64_t>(y + h)};
        EXPECT_EQ(meta, (Box{std::stoll(ints[0]), std::stoll(ints[1]), std::stoll(ints[2]), std::stoll(ints[3])}));
        EXPECT_EQ(wsol_resize_box(meta, W, H, 224, 224),
                  (Box{std::stoll(wsol[0]), std::stoll(wsol[1]), std::stoll(wsol[2]), std::stoll(wsol[3])}));
        EXPECT_EQ(tscam_resize_box(x, y, w, h, W, H, 224),
                  (Box{std::stoll(tscam[0]), std::stoll(tscam[1]), std::stoll(tscam[2]), std::stoll(tscam[3])}));
        const BoxF c = cdtr_resize_box(x, y, w, h, W, H);
        // cdtr224 is printed with 3 decimals.
        EXPECT_NEAR(c.x0, std::stod(cdtr[0]), 5e-4);
        EXPECT_NEAR(c.y0, std::stod(cdtr[1]), 5e-4);
        EXPECT_NEAR(c.x1, std::stod(cdtr[2]), 5e-4);
        EXPECT_NEAR(c.y1, std::stod(cdtr[3]), 5e-4);
        ++checked;
    }
    EXPECT_EQ(checked, 24);
}

// ILSVRC boxes.txt: original-coordinate boxes inside the original image; their wsol 224 scaling stays in range.
TEST(EvalBoxes, IlsvrcBoxesScaleInsideTheMap) {
    WSDOL_REQUIRE_REAL_DATA();
    int checked = 0;
    for (const std::string& line : test::data_lines(test::real_data_dir() + "/ilsvrc/boxes.txt")) {
        const auto w = test::split_ws(line);
        ASSERT_EQ(w.size(), 11u);
        const int64_t W = std::stoll(w[3]), H = std::stoll(w[4]);
        const Box b{std::stoll(w[7]), std::stoll(w[8]), std::stoll(w[9]), std::stoll(w[10])};
        EXPECT_LT(b.x1, W);
        EXPECT_LT(b.y1, H);
        const Box r = wsol_resize_box(b, W, H, 224, 224);
        EXPECT_TRUE(r.x0 >= 0 && r.x0 <= r.x1 && r.x1 <= 223 && r.y0 >= 0 && r.y0 <= r.y1 && r.y1 <= 223) << r;
        ++checked;
    }
    EXPECT_EQ(checked, 30);
    // The first test box of wsolevaluation's metadata (evaluation_test.py _BOX_VERIFICATION ILSVRC test).
    EXPECT_EQ(wsol_resize_box({111, 108, 441, 193}, 500, 375, 224, 224), (Box{49, 64, 197, 115}));
}

// The score maps of evaluation_test.py, thresholds arange(0, 1, 0.2), largest contour: the expected boxes.
std::vector<Box> wsol_v1_boxes(const std::vector<double>& map, int64_t h, int64_t w) {
    const auto u8 = heatmap_u8(map.data(), h * w);
    uint8_t mx = 0;
    for (uint8_t v : u8) mx = std::max(mx, v);
    std::vector<Box> out;
    for (double tau : wsol_thresholds(0.2)) {
        const auto contours = threshold_contours(u8.data(), h, w, heatmap_threshold(tau, mx));
        const auto boxes = wsol_boxes(contours, h, w, false);
        EXPECT_EQ(boxes.size(), 1u);
        out.push_back(boxes[0]);
    }
    return out;
}

TEST(EvalBoxes, WsolUnitVectors) {
    EXPECT_EQ(wsol_thresholds(0.2), (std::vector<double>{0.0, 0.2, 0.4, 0.6000000000000001, 0.8}));
    const std::vector<double> unimodal = {0.0, 0.0, 0.0, 0.0, 0.0,  //
                                          0.0, 0.4, 0.4, 0.4, 0.6,  //
                                          0.0, 0.4, 1.0, 0.8, 0.6,  //
                                          0.0, 0.4, 0.4, 0.4, 0.6};
    EXPECT_EQ(wsol_v1_boxes(unimodal, 4, 5),
              (std::vector<Box>{{1, 1, 4, 3}, {1, 1, 4, 3}, {2, 1, 4, 3}, {2, 2, 4, 3}, {2, 2, 3, 3}}));
    const std::vector<double> multimodal = {0.4, 0.0, 0.2, 0.2, 0.2,  //
                                            0.4, 0.4, 0.0, 0.4, 0.0,  //
                                            0.0, 0.0, 0.0, 0.4, 0.0,  //
                                            1.0, 0.6, 0.8, 0.2, 0.2};
    EXPECT_EQ(wsol_v1_boxes(multimodal, 4, 5),
              (std::vector<Box>{{0, 0, 4, 3}, {0, 0, 2, 2}, {0, 3, 3, 3}, {2, 3, 3, 3}, {0, 3, 1, 3}}));
    const std::vector<double> zeros(9, 0.0);
    EXPECT_EQ(wsol_v1_boxes(zeros, 3, 3), (std::vector<Box>(5, Box{0, 0, 0, 0})));
    std::vector<double> nan_map(9, std::nan(""));
    expect_error([&] { heatmap_u8(nan_map.data(), 9); }, {"NaN"});
    std::vector<double> big = {0.5, 1.5};
    expect_error([&] { heatmap_u8(big.data(), 2); }, {"[0, 1]", "1.5"});
}

TEST(EvalBoxes, HeatmapTruncation) {
    // (score * 255) truncated: 0.3 * 255 = 76.5 -> 76; 1.0 -> 255; float32 maps multiply in float.
    const std::vector<double> d = {0.0, 0.3, 0.999, 1.0};
    EXPECT_EQ(heatmap_u8(d.data(), 4), (std::vector<uint8_t>{0, 76, 254, 255}));
    const std::vector<float> f = {0.0f, 0.5f, 0.1f, 1.0f};
    EXPECT_EQ(heatmap_u8(f.data(), 4), (std::vector<uint8_t>{0, 127, 25, 255}));
    // T = int(tau * max) in double: 0.6000000000000001 * 255 = 153.00000000000003 -> 153; 0.5 * 255 -> 127.
    EXPECT_EQ(heatmap_threshold(0.6000000000000001, 255), 153);
    EXPECT_EQ(heatmap_threshold(0.5, 255), 127);
    EXPECT_EQ(heatmap_threshold(0.7, 10), 7);
    EXPECT_EQ(heatmap_threshold(0.29, 100), 28);  // 0.29 * 100 = 28.999999999999996 in double -> 28
}

TEST(EvalBoxes, LargestContourBoxTscamConvention) {
    // Unclipped [x, y, x+w, y+h]; [0, 0, 1, 1] when nothing is above the threshold.
    std::vector<uint8_t> u8(6 * 8, 0);
    for (int y = 2; y < 6; ++y)
        for (int x = 5; x < 8; ++x) u8[y * 8 + x] = 200;  // touches the right and bottom edges
    u8[0] = 100;                                          // a single pixel: area 0, loses to the block
    EXPECT_EQ(largest_contour_box(u8.data(), 6, 8, 0.2), (Box{5, 2, 8, 6}));
    EXPECT_EQ(largest_contour_box(u8.data(), 6, 8, 1.0), (Box{0, 0, 1, 1}));  // T = 200: nothing is > 200
    const std::vector<uint8_t> zeros(12, 0);
    EXPECT_EQ(largest_contour_box(zeros.data(), 3, 4, 0.1), (Box{0, 0, 1, 1}));
    // The wsol convention clips the same box to W-1 / H-1.
    const auto contours = threshold_contours(u8.data(), 6, 8, 40);
    EXPECT_EQ(wsol_boxes(contours, 6, 8, false)[0], (Box{5, 2, 7, 5}));
    EXPECT_EQ(wsol_boxes(contours, 6, 8, true).size(), 2u);  // V2: both contours
}

}  // namespace
}  // namespace wsdol::eval
