// test_cam_boxes.cpp — the TS-CAM / CDTR box extraction (engine/eval/cam_boxes.h) against OpenCV
// (tests/reference/cdtr/gen_boxes.py, opencv-python-headless 5.1.0): heat maps, boxes and both IoU conventions on
// 60 maps, plus the resize's own properties and the constant-map error.
#include <gtest/gtest.h>

#include <string>

#include "engine/eval/cam_boxes.h"
#include "tests/error_matchers.h"
#include "tests/parity_util.h"

namespace wsdol {
namespace {

TEST(CamBoxes, MatchOpenCvOnSixtyMaps) {
    const test::ParityFixture f(std::string(WSDOL_SOURCE_DIR) + "/tests/reference/cdtr/cam_boxes.safetensors");
    const int64_t n = static_cast<int64_t>(f.at("num_maps").item());
    int64_t u8_checked = 0, u8_diff = 0;
    for (int64_t i = 0; i < n; ++i) {
        const std::string k = std::to_string(i);
        const Tensor m = f.at("map" + k).contiguous();
        const float* p = static_cast<const float*>(m.data_ptr());
        const std::vector<uint8_t> cu = eval::cdtr_heatmap(p, 14, 14, 224), tu = eval::tscam_heatmap(p, 14, 14, 224);
        if (f.has("cdtr_u8" + k)) {
            for (const auto& [name, ours] : {std::pair{"cdtr_u8", &cu}, std::pair{"tscam_u8", &tu}}) {
                const std::vector<double> ref = f.at(name + k).to_vector();
                ASSERT_EQ(ref.size(), ours->size());
                for (size_t j = 0; j < ref.size(); ++j) {
                    ++u8_checked;
                    // OpenCV's IPP resize may round the last float bit otherwise (cam_boxes.h): a level at most
                    EXPECT_LE(std::abs(ref[j] - double((*ours)[j])), 1.0) << name << k << " pixel " << j;
                    u8_diff += ref[j] != double((*ours)[j]);
                }
            }
        }
        const eval::Box cb = eval::largest_contour_box(cu.data(), 224, 224, 0.2);
        const eval::Box tb = eval::largest_contour_box(tu.data(), 224, 224, 0.1);
        const std::vector<double> rc = f.at("cdtr_box" + k).to_vector(), rt = f.at("tscam_box" + k).to_vector();
        EXPECT_EQ(cb, (eval::Box{int64_t(rc[0]), int64_t(rc[1]), int64_t(rc[2]), int64_t(rc[3])})) << "map " << i;
        EXPECT_EQ(tb, (eval::Box{int64_t(rt[0]), int64_t(rt[1]), int64_t(rt[2]), int64_t(rt[3])})) << "map " << i;
        const std::vector<double> g = f.at("gt" + k).to_vector();
        const eval::BoxF gt{g[0], g[1], g[2], g[3]};
        EXPECT_NEAR(eval::iou_cdtr(eval::BoxF{double(cb.x0), double(cb.y0), double(cb.x1), double(cb.y1)}, gt),
                    f.at("cdtr_iou" + k).item(), 1e-12);
        EXPECT_NEAR(eval::iou_tscam(eval::BoxF{double(tb.x0), double(tb.y0), double(tb.x1), double(tb.y1)}, gt),
                    f.at("tscam_iou" + k).item(), 1e-12);
    }
    EXPECT_GT(u8_checked, 300000);
    EXPECT_LE(u8_diff, u8_checked / 10000) << "heat-map levels differing from OpenCV";
    std::printf("[cam_boxes] %lld of %lld heat-map pixels differ from OpenCV by one level; all 120 boxes equal\n",
                (long long)u8_diff, (long long)u8_checked);
}

TEST(CamBoxes, ResizeKeepsCornersAndConstants) {
    const std::vector<float> src{1, 2, 3, 4};  // 2 x 2
    const std::vector<float> out = eval::cv_resize_linear(src.data(), 2, 2, 4, 4);
    EXPECT_EQ(out[0], 1.0f);    // clamped edges: the corner pixels keep the corner values
    EXPECT_EQ(out[15], 4.0f);
    EXPECT_EQ(out[1], 1.25f);   // x = 1: source 0.25 between 1 and 2
    const std::vector<float> c(9, 0.5f);
    for (float v : eval::cv_resize_linear(c.data(), 3, 3, 7, 5)) EXPECT_EQ(v, 0.5f);
    test::expect_error([&] { eval::cdtr_heatmap(c.data(), 3, 3, 10); }, {"cdtr_heatmap", "constant"});
}

}  // namespace
}  // namespace wsdol
