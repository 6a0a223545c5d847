// test_eval_loc.cpp — TS-CAM and CDTR Top-1 / Top-5 / GT-known Loc: the >= vs > conventions at IoU exactly 0.5,
// top-5 membership, and an end-to-end case from a CAM through largest_contour_box and each protocol's IoU.
#include <gtest/gtest.h>

#include "engine/eval/boxes.h"
#include "engine/eval/loc_metrics.h"
#include "tests/error_matchers.h"

namespace wsdol::eval {
namespace {

TEST(EvalLoc, ThresholdConventionsAtExactlyHalf) {
    LocAccumulator tscam(LocProtocol::tscam), cdtr(LocProtocol::cdtr);
    const std::vector<int64_t> top = {3, 1, 4, 1, 5};
    for (LocAccumulator* a : {&tscam, &cdtr}) {
        a->add(3, top, 0.5);   // top-1 correct, IoU exactly 0.5
        a->add(4, top, 0.75);  // GT third in the top 5
        a->add(9, top, 0.9);   // GT not in the top 5
        a->add(3, top, 0.2);   // right class, bad box
    }
    const LocResult t = tscam.compute(), c = cdtr.compute();
    EXPECT_EQ(t.images, 4);
    // TS-CAM: GT-known counts IoU >= 0.5 (images 1, 2, 3); Top-1 needs IoU > 0.5 (none: image 1 is exactly 0.5);
    // Top-5: images with GT in the top 5 and IoU > 0.5 (image 2).
    EXPECT_EQ(t.gt_known_loc, 75.0);
    EXPECT_EQ(t.top1_loc, 0.0);
    EXPECT_EQ(t.top5_loc, 25.0);
    // CDTR: >= 0.5 everywhere: Top-1 image 1; Top-5 images 1, 2.
    EXPECT_EQ(c.gt_known_loc, 75.0);
    EXPECT_EQ(c.top1_loc, 25.0);
    EXPECT_EQ(c.top5_loc, 50.0);
    for (const LocResult& r : {t, c}) {
        EXPECT_EQ(r.top1_cls, 50.0);
        EXPECT_EQ(r.top5_cls, 75.0);
    }
    test::expect_error([] { LocAccumulator(LocProtocol::cdtr).compute(); }, {"no images"});
}

TEST(EvalLoc, EndToEndFromCam) {
    // A 224 x 224 CAM with one block [40, 60] x [100, 150] at 1.0 and a weaker block elsewhere.
    const int64_t n = 224;
    std::vector<float> cam(n * n, 0.0f);
    for (int y = 100; y <= 150; ++y)
        for (int x = 40; x <= 60; ++x) cam[y * n + x] = 1.0f;
    for (int y = 10; y <= 20; ++y)
        for (int x = 150; x <= 200; ++x) cam[y * n + x] = 0.15f;
    const auto u8 = heatmap_u8(cam.data(), n * n);
    // theta 0.1: T = 25, both blocks; the larger polygon area wins: (60-40)(150-100) = 1000 vs (200-150)(20-10) = 500.
    const Box b = largest_contour_box(u8.data(), n, n, 0.1);
    EXPECT_EQ(b, (Box{40, 100, 61, 151}));  // [x, y, x + w, y + h], unclipped
    // theta 0.2: T = 51 > 38 (0.15 * 255 = 38.25): only the strong block.
    EXPECT_EQ(largest_contour_box(u8.data(), n, n, 0.2), b);
    const BoxF pred{static_cast<double>(b.x0), static_cast<double>(b.y0), static_cast<double>(b.x1),
                    static_cast<double>(b.y1)};
    // TS-CAM "+1" IoU against the same box: 1; CDTR (no +1) against the GT [40,100,61,151]: 1.
    EXPECT_EQ(iou_tscam(pred, pred), 1.0);
    EXPECT_EQ(iou_cdtr(pred, {40, 100, 61, 151}), 1.0);
}

}  // namespace
}  // namespace wsdol::eval
