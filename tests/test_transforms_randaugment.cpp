// test_transforms_randaugment.cpp — timm RandAugment ops and Pillow's affine transform against timm/Pillow
// outputs on a crop of a real VOC image (fixture: tests/reference/transforms/gen_randaugment.py, which stores the
// magnitude, sign and interpolation of every output), plus the composition's sampling rules.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "engine/data/transforms_randaugment.h"
#include "engine/io/safetensors.h"
#include "tests/error_matchers.h"
#include "tests/io_test_util.h"

namespace wsdol {
namespace {

using data::Image;

const std::string kFixture =
    std::string(WSDOL_SOURCE_DIR) + "/tests/reference/transforms/randaugment.safetensors";

const NamedTensors& fixture() { return test::fixture_tensors(kFixture); }
const Tensor& get(const std::string& key) { return test::fixture_tensor(kFixture, key); }

// Every op output exactly (Pillow's integer/double arithmetic is reproduced, affine sampling included), and
// timm's level argument for the stored magnitude and sign.
TEST(RandAugment, OpsMatchTimmOnRealImage) {
    const Image in = data::image_from_tensor(get("input"));
    const data::RandAugmentOptions options;  // fill (124, 116, 104), translate_pct 0.45, as the generator
    std::map<int, int> per_op;
    for (const auto& [name, expected] : fixture()) {
        if (name.rfind("op", 0) != 0 || name.find(".params") != std::string::npos) continue;
        const Tensor& pt = get(name + ".params");
        const double* p = pt.data<double>();
        const auto op = static_cast<data::RandAugmentOp>(int(p[0]));
        const bool negate = p[2] != 0;
        const auto filter = p[3] != 0 ? data::AffineFilter::bicubic : data::AffineFilter::bilinear;
        EXPECT_DOUBLE_EQ(data::rand_augment_op_arg(op, p[1], negate, options), p[4]) << name;
        const Image got = data::apply_rand_augment_op(in, op, p[1], negate, filter, options);
        const Image want = data::image_from_tensor(expected);
        ASSERT_EQ(got.pixels.size(), want.pixels.size()) << name;
        int worst = 0, differ = 0;
        for (size_t i = 0; i < got.pixels.size(); ++i) {
            const int d = std::abs(int(got.pixels[i]) - int(want.pixels[i]));
            worst = std::max(worst, d);
            differ += d != 0;
        }
        EXPECT_EQ(worst, 0) << name << " (" << data::rand_augment_op_name(op) << ", m " << p[1] << ", negate "
                            << negate << ", filter " << p[3] << "): " << differ << " values differ";
        ++per_op[int(p[0])];
    }
    EXPECT_EQ(per_op.size(), size_t(data::kRandAugmentOps));
}

TEST(RandAugment, RotateMatrixMatchesPillowFormula) {
    for (int i = 0; i < 4; ++i) {
        const Tensor& t = get("rotate_matrix." + std::to_string(i));
        const double* v = t.data<double>();
        const auto m = data::rotate_matrix(v[0], int64_t(v[1]), int64_t(v[2]));
        for (int k = 0; k < 6; ++k) EXPECT_EQ(m[k], v[3 + k]) << "angle " << v[0] << " entry " << k;
    }
}

// Composition: 2 ops with replacement, each applied with p 0.5, magnitudes N(9, 0.5) clipped to [0, 10].
TEST(RandAugment, CompositionIsDeterministicPerStreamAndChangesImages) {
    const Image in = data::image_from_tensor(get("input"));
    int changed = 0;
    for (uint64_t i = 0; i < 40; ++i) {
        data::SampleRng a(3, 0, i), b(3, 0, i);
        const Image x = data::rand_augment(in, a), y = data::rand_augment(in, b);
        EXPECT_EQ(x.pixels, y.pixels);
        changed += x.pixels != in.pixels;
    }
    // P(no op applied) = 0.25 (plus rare no-op draws), so about 30 of 40 change.
    EXPECT_GT(changed, 20);
    EXPECT_LT(changed, 40);
    // Magnitude clipping: an arg at magnitude 12 equals the one at 10 only after the caller clips; the level
    // functions themselves follow timm's formulas.
    const data::RandAugmentOptions o;
    EXPECT_DOUBLE_EQ(data::rand_augment_op_arg(data::RandAugmentOp::rotate, 10, true, o), -30.0);
    EXPECT_DOUBLE_EQ(data::rand_augment_op_arg(data::RandAugmentOp::posterize_increasing, 9, false, o), 1.0);
    EXPECT_DOUBLE_EQ(data::rand_augment_op_arg(data::RandAugmentOp::solarize_increasing, 9, false, o), 26.0);
    EXPECT_DOUBLE_EQ(data::rand_augment_op_arg(data::RandAugmentOp::contrast_increasing, 10, true, o), 0.1);
}

TEST(RandAugment, BadInputIsAnError) {
    Image grey;
    grey.height = grey.width = 4;
    grey.channels = 1;
    grey.pixels.assign(16, 0);
    data::SampleRng rng(0, 0, 0);
    test::expect_error([&] { data::rand_augment(grey, rng); }, "rand_augment", {"1 channels"});
}

}  // namespace
}  // namespace wsdol
