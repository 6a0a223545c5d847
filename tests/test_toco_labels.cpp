// test_toco_labels.cpp — ToCo's label utilities and PAR (models/toco_labels.h, models/par.h) against the PyTorch
// restatement of rulixiang/ToCo e13514d9 (tests/reference/toco/gen_toco_labels.py, seed 0): cam_to_label in both
// modes, the roi mask, the multi-scale CAM merge, crop_from_roi with PyTorch's permutations, label_to_aff_mask,
// denormalize_img2, PAR and refine_cams_with_bkg_v2; bad-input errors.
#include <gtest/gtest.h>

#include "engine/ops/ops.h"
#include "models/par.h"
#include "models/toco_labels.h"
#include "tests/error_matchers.h"
#include "tests/parity_util.h"

namespace wsdol {
namespace {

using test::ParityFixture;

const ParityFixture& labels_fixture() {
    static const ParityFixture fx(std::string(WSDOL_SOURCE_DIR) + "/tests/reference/toco/toco_labels.safetensors");
    return fx;
}

// Integer maps must agree exactly.
void expect_same_labels(const std::string& key, const Tensor& actual) {
    const Tensor expected = labels_fixture().at(key);
    ASSERT_EQ(actual.shape(), expected.shape()) << key;
    const auto a = actual.to_vector(), b = expected.to_vector();
    int64_t diff = 0;
    for (size_t i = 0; i < a.size(); ++i) diff += a[i] != b[i];
    std::printf("[parity] toco_labels %-24s %lld of %zu differ\n", key.c_str(), static_cast<long long>(diff), a.size());
    EXPECT_EQ(diff, 0) << key;
}

TEST(TocoLabels, CamToLabelBothModesAndRoi) {
    const auto& fx = labels_fixture();
    const Tensor cams = fx.at("in.cams"), cls = fx.at("in.cls");
    const auto box = models::img_boxes_from_tensor(fx.at("in.box"));
    expect_same_labels("out.plain", models::cam_to_label_plain(cams, cls));
    Tensor valid;
    expect_same_labels("out.box_mid", models::cam_to_label_box(cams, cls, box, true, {}, &valid));
    fx.expect("out.valid", valid, test::kParityForwardTol);
    expect_same_labels("out.box_nomid", models::cam_to_label_box(cams, cls, box, false));
    expect_same_labels("out.roi", models::cam_to_roi_mask(cams, cls));
}

TEST(TocoLabels, MultiScaleMerge) {
    const auto& fx = labels_fixture();
    const Tensor out = models::multi_scale_cam_merge({fx.at("in.ms.0"), fx.at("in.ms.1"), fx.at("in.ms.2")}, 32, 32);
    fx.expect("out.ms", out, test::kParityForwardTol);
}

TEST(TocoLabels, CropFromRoiWithInjectedPermutation) {
    const auto& fx = labels_fixture();
    auto perm = [&](int64_t b, int64_t n) {
        const Tensor p = fx.at("in.perm." + std::to_string(b));
        EXPECT_EQ(p.numel(), n) << "candidate count of image " << b;
        return p.to_vector_as<int64_t>();
    };
    const models::RoiCrops rc = models::crop_from_roi(fx.at("in.view"), fx.at("in.crop_roi"), 3, 8, perm);
    ASSERT_EQ(rc.crops.size(), 3u);
    for (int k = 0; k < 3; ++k) fx.expect("out.crop." + std::to_string(k), rc.crops[k], test::kParityForwardTol);
    expect_same_labels("out.flags", rc.flags);
    // Both kinds of crop are present in the fixture (image 0 has negatives, image 1 only positives).
    const auto f = rc.flags.to_vector();
    EXPECT_EQ(f[2] + f[3] + f[4] < 3.0, true);
    EXPECT_EQ(f[7] + f[8] + f[9], 3.0);
}

TEST(TocoLabels, AffMask) {
    const auto& fx = labels_fixture();
    expect_same_labels("out.aff", models::label_to_aff_mask(fx.at("in.aff_label")));
}

TEST(TocoLabels, Par) {
    const auto& fx = labels_fixture();
    const models::Par par;
    fx.expect("out.par", par(fx.at("in.par_img"), fx.at("in.par_mask")), test::kParityForwardTol);
}

TEST(TocoLabels, DenormalizeAndRefineV2) {
    const auto& fx = labels_fixture();
    const Tensor den = models::denormalize_to_unit(fx.at("in.norm_img"));
    fx.expect("out.denorm", den, test::kParityForwardTol);
    const models::Par par;
    const Tensor refined = models::refine_cams_with_bkg_v2(par, den, fx.at("out.valid"), fx.at("in.cls"),
                                                           models::img_boxes_from_tensor(fx.at("in.box")));
    expect_same_labels("out.refined", refined);
}

TEST(TocoLabels, BadInputsNameTheProblem) {
    const Tensor cams = Tensor::zeros({2, 4, 8, 8});
    test::expect_error([&] { (void)models::cam_to_label_plain(cams, Tensor::zeros({2, 3})); }, {"cls_labels must be (B, C)"});
    test::expect_error([&] { (void)models::cam_to_label_box(cams, Tensor::zeros({2, 4}), {{0, 8, 0, 8}}, true); }, {"1 img_box entries for 2 images"});
    test::expect_error([&] { (void)models::crop_from_roi(Tensor::zeros({1, 3, 8, 8}), Tensor::zeros({1, 8, 8}), 2, 8,
                                           [](int64_t, int64_t n) { return std::vector<int64_t>(n); }); }, {"too few positions"});
    test::expect_error([&] { (void)models::Par()(Tensor::zeros({1, 3, 4, 4}), Tensor::zeros({2, 3, 4, 4})); }, {"same B"});
}

}  // namespace
}  // namespace wsdol
