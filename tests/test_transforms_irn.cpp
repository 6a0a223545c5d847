// test_transforms_irn.cpp — data::irn_train_view (IRNet / CLIMS training augmentation, jiwoon-ahn/irn a2ece003
// voc12/dataloader.py + misc/imutils.py): long-side resize, TorchvisionNormalize in double, flip, and the random
// crop whose padding is 0 in normalized space. Properties checked pixel by pixel against the definition.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/data/transforms_pipeline.h"
#include "error_matchers.h"

namespace wsdol {
namespace {

data::Image pattern(int64_t h, int64_t w) {
    data::Image im;
    im.height = h;
    im.width = w;
    im.channels = 3;
    im.pixels.resize(h * w * 3);
    for (int64_t i = 0; i < h * w * 3; ++i) im.pixels[i] = static_cast<uint8_t>((i * 37 + i / 7) % 251);
    return im;
}

float norm_value(uint8_t v, int c) {
    const double mean[3] = {0.485, 0.456, 0.406}, sd[3] = {0.229, 0.224, 0.225};
    return static_cast<float>((v / 255. - mean[c]) / sd[c]);
}

// Every output pixel: inside img_box the normalized (flipped) source pixel at the offset, else exactly 0.
void expect_placed(const data::Image& src, const data::IrnSample& s, int64_t C, const std::vector<float>& out,
                   int64_t img_top, int64_t img_left) {
    const auto [t, b, l, r] = s.img_box;
    int64_t bad = 0;
    for (int c = 0; c < 3; ++c)
        for (int64_t y = 0; y < C; ++y)
            for (int64_t x = 0; x < C; ++x) {
                const float v = out[(c * C + y) * C + x];
                if (y < t || y >= b || x < l || x >= r) {
                    bad += v != 0.0f;
                    continue;
                }
                const int64_t sy = img_top + y - t, sx0 = img_left + x - l;
                const int64_t sx = s.flipped ? src.width - 1 - sx0 : sx0;
                bad += v != norm_value(src.at(sy, sx, c), c);
            }
    EXPECT_EQ(bad, 0);
}

TEST(IrnTrainView, SmallerThanCropIsPaddedWithZeroInNormalizedSpace) {
    const data::Image src = pattern(20, 30);
    data::IrnTrainOptions o;
    o.crop = 48;
    o.resize_long_lo = o.resize_long_hi = 30;  // scale 1: no resize
    bool seen_flip = false, seen_plain = false;
    for (uint64_t i = 0; i < 12; ++i) {
        data::SampleRng rng(7, 0, i);
        std::vector<float> out(3 * 48 * 48, -5.0f);
        const data::IrnSample s = data::irn_train_view(src, rng, o, out.data());
        EXPECT_EQ(s.long_side, 30);
        EXPECT_EQ(s.img_box[1] - s.img_box[0], 20);
        EXPECT_EQ(s.img_box[3] - s.img_box[2], 30);
        expect_placed(src, s, 48, out, 0, 0);
        (s.flipped ? seen_flip : seen_plain) = true;
    }
    EXPECT_TRUE(seen_flip && seen_plain);
}

TEST(IrnTrainView, LargerThanCropIsAWindowOfTheResizedImage) {
    const data::Image src = pattern(40, 60);
    data::IrnTrainOptions o;
    o.crop = 16;
    o.resize_long_lo = o.resize_long_hi = 45;  // 40 x 60 -> 30 x 45 (PIL bicubic)
    const data::Image resized = data::resize(src, 30, 45, data::PilFilter::bicubic);
    for (uint64_t i = 0; i < 6; ++i) {
        data::SampleRng rng(3, 1, i);
        std::vector<float> out(3 * 16 * 16);
        const data::IrnSample s = data::irn_train_view(src, rng, o, out.data());
        EXPECT_EQ(s.img_box, (std::array<int64_t, 4>{0, 16, 0, 16}));
        // find the window: exactly one offset matches every pixel
        int matches = 0;
        for (int64_t top = 0; top <= 30 - 16; ++top)
            for (int64_t left = 0; left <= 45 - 16; ++left) {
                bool ok = true;
                for (int c = 0; c < 3 && ok; ++c)
                    for (int64_t y = 0; y < 16 && ok; ++y)
                        for (int64_t x = 0; x < 16 && ok; ++x) {
                            const int64_t sx = s.flipped ? 45 - 1 - (left + x) : left + x;
                            ok = out[(c * 16 + y) * 16 + x] == norm_value(resized.at(top + y, sx, c), c);
                        }
                matches += ok;
            }
        EXPECT_GE(matches, 1) << "sample " << i;
    }
}

// A label map follows the image's geometry: the same draws (the image view is unchanged by passing a label), PIL
// NEAREST resize to the image's new size, the same flip and window, 255 outside the image.
TEST(IrnTrainView, LabelMapFollowsTheGeometry) {
    const data::Image src = pattern(40, 60);
    data::Image label;
    label.height = 40;
    label.width = 60;
    label.channels = 1;
    label.pixels.resize(40 * 60);
    for (int64_t i = 0; i < 40 * 60; ++i) label.pixels[size_t(i)] = static_cast<uint8_t>(((i % 60) * 7 + (i / 60) * 13) % 251);
    for (const int64_t long_side : {60, 45, 90}) {  // no resize, smaller (padded), larger than the crop
        data::IrnTrainOptions o;
        o.crop = 48;
        o.resize_long_lo = o.resize_long_hi = long_side;
        const int64_t h = static_cast<int64_t>(std::nearbyint(40.0 * long_side / 60.0));
        const data::Image resized = long_side == 60 ? label : data::resize_nearest(label, h, long_side);
        for (uint64_t i = 0; i < 8; ++i) {
            data::SampleRng a(5, 0, i), b(5, 0, i);
            std::vector<float> x(3 * 48 * 48), y(3 * 48 * 48), lab(48 * 48, -1.0f);
            const data::IrnSample s = data::irn_train_view(src, a, o, x.data());
            const data::IrnSample t = data::irn_train_view(src, b, o, y.data(), &label, lab.data());
            EXPECT_EQ(x, y);
            EXPECT_EQ(s.img_box, t.img_box);
            // some source offset of the window reproduces every in-box label, and everything else is 255
            const auto [top, bottom, left, right] = t.img_box;
            int matches = 0;
            for (int64_t oy = 0; oy + (bottom - top) <= resized.height; ++oy)
                for (int64_t ox = 0; ox + (right - left) <= resized.width; ++ox) {
                    bool ok = true;
                    for (int64_t yy = 0; yy < 48 && ok; ++yy)
                        for (int64_t xx = 0; xx < 48 && ok; ++xx) {
                            const float v = lab[size_t(yy * 48 + xx)];
                            if (yy < top || yy >= bottom || xx < left || xx >= right) {
                                ok = v == 255.0f;
                                continue;
                            }
                            const int64_t sx0 = ox + xx - left;
                            const int64_t sx = t.flipped ? resized.width - 1 - sx0 : sx0;
                            ok = v == float(resized.at(oy + yy - top, sx, 0));
                        }
                    matches += ok;
                }
            EXPECT_GE(matches, 1) << "long side " << long_side << ", sample " << i;
        }
    }
    std::vector<float> out(3 * 48 * 48), lab(48 * 48);
    data::Image wrong = label;
    wrong.width = 59;
    data::SampleRng rng(1, 0, 0);
    data::IrnTrainOptions o;
    o.crop = 48;
    test::expect_error([&] { data::irn_train_view(src, rng, o, out.data(), &wrong, lab.data()); },
                       {"irn_train_view", "label map"});
}

TEST(IrnTrainView, LongSideRangeAndDeterminism) {
    const data::Image src = pattern(33, 21);  // portrait: the long side is the height
    data::IrnTrainOptions o;
    o.crop = 24;
    o.resize_long_lo = 10;
    o.resize_long_hi = 14;
    std::vector<int> seen(5, 0);
    for (uint64_t i = 0; i < 60; ++i) {
        data::SampleRng a(11, 2, i), b(11, 2, i);
        std::vector<float> x(3 * 24 * 24), y(3 * 24 * 24);
        const data::IrnSample s = data::irn_train_view(src, a, o, x.data());
        data::irn_train_view(src, b, o, y.data());
        EXPECT_EQ(x, y);
        ASSERT_GE(s.long_side, 10);
        ASSERT_LE(s.long_side, 14);
        ++seen[s.long_side - 10];
        EXPECT_EQ(s.img_box[1] - s.img_box[0], s.long_side);  // height = the long side
        EXPECT_EQ(s.img_box[3] - s.img_box[2], static_cast<int64_t>(std::nearbyint(21.0 * s.long_side / 33.0)));
    }
    for (int k = 0; k < 5; ++k) EXPECT_GT(seen[k], 0) << "long side " << 10 + k << " never drawn";
    data::SampleRng rng(1, 0, 0);
    std::vector<float> out(3);
    o.resize_long_hi = 5;
    test::expect_error([&] { data::irn_train_view(src, rng, o, out.data()); }, {"irn_train_view", "resize_long"});
}

}  // namespace
}  // namespace wsdol
