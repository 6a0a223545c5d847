// test_transforms.cpp — engine/data/transforms{,_color} against Pillow / torchvision on crops of real VOC images
// (fixture: tests/reference/transforms/gen_transforms.py, which stores each sampled parameter set with its
// output), plus the geometry formulas and the per-sample stream's properties.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <string>

#include "engine/data/transforms.h"
#include "engine/data/transforms_color.h"
#include "engine/io/safetensors.h"
#include "tests/error_matchers.h"
#include "tests/io_test_util.h"

namespace wsdol {
namespace {

using data::Image;

const std::string kFixture = std::string(WSDOL_SOURCE_DIR) + "/tests/reference/transforms/transforms.safetensors";

Image to_image(const Tensor& t) { return data::image_from_tensor(t); }

std::vector<double> params_of(const Tensor& t) {
    std::vector<double> v(t.numel());
    for (int64_t i = 0; i < t.numel(); ++i) v[i] = t.data<double>()[i];
    return v;
}

// Largest |a - b| over all values (sizes must match).
int worst_diff(const Image& a, const Image& b) {
    EXPECT_EQ(a.height, b.height);
    EXPECT_EQ(a.width, b.width);
    EXPECT_EQ(a.channels, b.channels);
    if (a.numel() != b.numel()) return 256;
    int worst = 0;
    for (int64_t i = 0; i < a.numel(); ++i) worst = std::max(worst, std::abs(int(a.pixels[i]) - int(b.pixels[i])));
    return worst;
}

const NamedTensors& fixture() { return test::fixture_tensors(kFixture); }
const Tensor& get(const std::string& key) { return test::fixture_tensor(kFixture, key); }

// Runs our version of <op> with the stored params.
Image ours(const std::string& op, const Image& in, const std::vector<double>& p) {
    if (op == "gray") return data::to_grayscale(in, int(p[0]));
    if (op == "solarize") return data::solarize(in, int(p[0]));
    if (op == "posterize") return data::posterize(in, int(p[0]));
    if (op == "invert") return data::invert(in);
    if (op == "equalize") return data::equalize(in);
    if (op == "autocontrast") return data::autocontrast(in);
    if (op == "brightness") return data::adjust_brightness(in, p[0]);
    if (op == "contrast") return data::adjust_contrast(in, p[0]);
    if (op == "saturation") return data::adjust_saturation(in, p[0]);
    if (op == "sharpness") return data::adjust_sharpness(in, p[0]);
    if (op == "hue") return data::adjust_hue(in, p[0]);
    if (op == "blur") return data::gaussian_blur(in, p[0]);
    if (op == "jitter") {
        data::ColorJitterParams j;
        for (int k = 0; k < 4; ++k) j.order[k] = int(p[k]);
        j.enabled = {true, true, true, true};
        j.brightness = p[4];
        j.contrast = p[5];
        j.saturation = p[6];
        j.hue = p[7];
        return data::color_jitter(in, j);
    }
    if (op == "rrc") {
        data::CropBox b{int64_t(p[0]), int64_t(p[1]), int64_t(p[2]), int64_t(p[3])};
        return data::resized_crop(in, b, int64_t(p[4]), p[5] == 1 ? data::PilFilter::bicubic
                                                                   : data::PilFilter::bilinear);
    }
    if (op == "toco") {
        const Image scaled = data::rescale(in, p[0], data::PilFilter::bilinear);
        const auto pc = data::pad_crop_params(scaled.height, scaled.width, int64_t(p[1]), int64_t(p[2]),
                                              int64_t(p[3]), int64_t(p[4]), int64_t(p[5]));
        for (int k = 0; k < 4; ++k) EXPECT_EQ(pc.img_box[k], int64_t(p[6 + k])) << "img_box[" << k << "]";
        return data::pad_crop(scaled, pc, 0);
    }
    throw Error("unknown op " + op);
}

// Every output of the fixture, exactly. Pillow's arithmetic is reproduced, so the bound is 0 for every op
// (the Gaussian blur included: BoxBlur.c's integer arithmetic is ported as is).
TEST(Transforms, MatchPillowAndTorchvisionOnRealImages) {
    std::map<std::string, int> checked;
    for (const auto& [name, expected] : fixture()) {
        // keys: case{k}.<op>.<i>
        const auto d1 = name.find('.');
        const auto d2 = name.find('.', d1 + 1);
        if (d2 == std::string::npos) continue;  // .input / .label
        if (name.find('.', d2 + 1) != std::string::npos) continue;  // .params / .label of an output
        const std::string c = name.substr(0, d1), op = name.substr(d1 + 1, d2 - d1 - 1);
        const Image in = to_image(get(c + ".input"));
        const Image got = ours(op, in, params_of(get(name + ".params")));
        EXPECT_EQ(worst_diff(got, to_image(expected)), 0) << name;
        ++checked[op];
    }
    // Every op of the generator is present (a renamed key must not silently skip a check).
    for (const char* op : {"gray", "solarize", "posterize", "invert", "equalize", "autocontrast", "brightness",
                           "contrast", "saturation", "sharpness", "hue", "blur", "jitter", "rrc", "toco"})
        EXPECT_GT(checked[op], 0) << op;
    EXPECT_EQ(checked["blur"], 12);
    EXPECT_EQ(checked["rrc"], 4);
    EXPECT_EQ(checked["toco"], 3);
}

// ToCo's label path: PIL NEAREST rescale, then the same pad/crop with 255 padding.
TEST(Transforms, TocoLabelRescaleAndPadMatch) {
    const Image label = to_image(get("case2.label"));
    for (int i = 0; i < 3; ++i) {
        const std::string key = "case2.toco." + std::to_string(i);
        const auto p = params_of(get(key + ".params"));
        const Image scaled = data::rescale_nearest(label, p[0]);
        const auto pc = data::pad_crop_params(scaled.height, scaled.width, int64_t(p[1]), int64_t(p[2]),
                                              int64_t(p[3]), int64_t(p[4]), int64_t(p[5]));
        EXPECT_EQ(worst_diff(data::pad_crop(scaled, pc, 255), to_image(get(key + ".label"))), 0) << key;
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Geometry formulas.

TEST(Transforms, RandomResizedCropFollowsTorchvisionRules) {
    for (uint64_t i = 0; i < 200; ++i) {
        data::SampleRng rng(7, 0, i);
        const auto b = data::random_resized_crop_params(375, 500, rng);
        ASSERT_GT(b.height, 0);
        ASSERT_GE(b.top, 0);
        ASSERT_GE(b.left, 0);
        ASSERT_LE(b.top + b.height, 375);
        ASSERT_LE(b.left + b.width, 500);
        // a successful attempt: area within scale (up to the rounding of w and h), ratio within (3/4, 4/3)
        const double area = double(b.height) * b.width / (375.0 * 500.0);
        EXPECT_LT(area, 1.0 + 0.01);
        EXPECT_GT(area, 0.08 * 0.85);
        const double r = double(b.width) / b.height;
        EXPECT_GT(r, 0.75 * 0.9);
        EXPECT_LT(r, 4.0 / 3.0 * 1.1);
    }
    // Fallback: a 10 x 1000 strip has no crop of area >= 0.9 with ratio <= 4/3, so the centre crop
    // h = H = 10, w = round(10 * 4/3) = 13, top = 0, left = (1000 - 13) // 2 = 493.
    data::SampleRng rng(1, 2, 3);
    const auto b = data::random_resized_crop_params(10, 1000, rng, {0.9, 1.0});
    EXPECT_EQ(b.height, 10);
    EXPECT_EQ(b.width, 13);
    EXPECT_EQ(b.top, 0);
    EXPECT_EQ(b.left, 493);
    // Tall: in_ratio < 3/4 -> w = W, h = round(W / (3/4)).
    const auto t = data::random_resized_crop_params(1000, 10, rng, {0.9, 1.0});
    EXPECT_EQ(t.width, 10);
    EXPECT_EQ(t.height, 13);
    EXPECT_EQ(t.top, (1000 - 13) / 2);
}

TEST(Transforms, RescaleAndPadCropBoxFormulas) {
    // int(r * W) truncates: 500 * 0.5999 = 299.95 -> 299.
    EXPECT_EQ(data::rescaled_size(375, 500, 0.5999), (std::array<int64_t, 2>{224, 299}));
    for (uint64_t i = 0; i < 100; ++i) {
        data::SampleRng rng(3, 1, i);
        const double r = rng.uniform(0.5, 2.0);
        const auto [h, w] = data::rescaled_size(375, 500, r);
        const auto p = data::random_pad_crop_params(h, w, 448, rng);
        const auto& box = p.img_box;
        // The box is the image's footprint in the crop: its size is min(crop, image) along each axis.
        EXPECT_EQ(box[1] - box[0], std::min<int64_t>(448, h));
        EXPECT_EQ(box[3] - box[2], std::min<int64_t>(448, w));
        EXPECT_GE(box[0], 0);
        EXPECT_LE(box[1], 448);
        // Pixels inside the box come from the image, outside it are the fill.
        Image img;
        img.height = h;
        img.width = w;
        img.channels = 1;
        img.pixels.assign(h * w, 7);
        const Image c = data::pad_crop(img, p, 255);
        for (int64_t y = 0; y < 448; y += 13)
            for (int64_t x = 0; x < 448; x += 11) {
                const bool inside = y >= box[0] && y < box[1] && x >= box[2] && x < box[3];
                ASSERT_EQ(c.at(y, x), inside ? 7 : 255) << y << "," << x;
            }
    }
}

// The windowed resize path equals resize -> flip -> pad/crop, for both filters and both of Pillow's pass orders.
TEST(Transforms, WindowedRescaleFlipPadCropEqualsFullPath) {
    const Image in = to_image(get("case2.input"));  // 90 x 120
    int checked = 0;
    for (uint64_t i = 0; i < 60; ++i) {
        data::SampleRng rng(11, 0, i);
        // ratios from 0.2 (vertical-first cases appear with the anisotropic ones below) to 2.5
        const double ratio = rng.uniform(0.2, 2.5);
        const bool flip = rng.bernoulli(0.5);
        const int64_t crop = 16 + rng.below(120);
        const auto filter = i % 2 ? data::PilFilter::bicubic : data::PilFilter::bilinear;
        const auto [h, w] = data::rescaled_size(in.height, in.width, ratio);
        if (h < 1 || w < 1) continue;
        const auto p = data::random_pad_crop_params(h, w, crop, rng);
        Image full = data::rescale(in, ratio, filter);
        if (flip) full = data::hflip(full);
        EXPECT_EQ(data::rescale_flip_pad_crop(in, ratio, flip, p, filter, 0).pixels, data::pad_crop(full, p, 0).pixels)
            << "ratio " << ratio << " crop " << crop;
        ++checked;
    }
    EXPECT_GT(checked, 50);
    // Vertical-first (height shrinks much more than width) and unchanged-axis windows of pil_resize_window.
    for (const auto& [oh, ow] : std::vector<std::pair<int64_t, int64_t>>{{20, 118}, {30, 120}, {90, 200}, {40, 60}}) {
        const auto full = data::pil_resize(in.pixels.data(), 90, 120, 3, oh, ow, data::PilFilter::bicubic);
        const int64_t top = oh / 3, left = ow / 4, hh = oh / 2, ww = ow / 2;
        const auto win = data::pil_resize_window(in.pixels.data(), 90, 120, 3, oh, ow, data::PilFilter::bicubic, top,
                                                 left, hh, ww);
        for (int64_t y = 0; y < hh; ++y)
            for (int64_t x = 0; x < ww * 3; ++x)
                ASSERT_EQ(win[y * ww * 3 + x], full[((top + y) * ow + left) * 3 + x]) << oh << "x" << ow;
    }
}

TEST(Transforms, ResizeShorterCenterCropResizeLongAndFlip) {
    Image img;
    img.height = 375;
    img.width = 500;
    img.channels = 3;
    img.pixels.resize(img.numel());
    for (int64_t i = 0; i < img.numel(); ++i) img.pixels[i] = uint8_t(i * 7 % 251);
    const Image s = data::resize_shorter(img, 256, data::PilFilter::bicubic);
    EXPECT_EQ(s.height, 256);
    EXPECT_EQ(s.width, 341);  // int(256 * 500 / 375) = 341
    const Image c = data::center_crop(s, 224, 224);
    EXPECT_EQ(c.at(0, 0, 1), s.at(16, 58, 1));  // top = round(32 / 2) = 16, left = round(117 / 2) = 58 (half-even)
    const Image big = data::center_crop(c, 230, 226);  // pads 3 on top/bottom, 1 left/right
    EXPECT_EQ(big.at(0, 0, 0), 0);
    EXPECT_EQ(big.at(3, 1, 2), c.at(0, 0, 2));
    const Image l = data::resize_long(img, 320, data::PilFilter::bicubic);
    EXPECT_EQ(l.width, 320);
    EXPECT_EQ(l.height, 240);
    const Image f = data::hflip(img);
    EXPECT_EQ(f.at(5, 0, 2), img.at(5, 499, 2));
    EXPECT_EQ(data::hflip(f).pixels, img.pixels);
    const Image n = data::resize_nearest(img, 100, 200);  // source = floor((x + 0.5) * scale) (exact here)
    EXPECT_EQ(n.at(10, 3, 0), img.at(int64_t((10 + 0.5) * 3.75), int64_t(3.5 * 2.5), 0));
}

TEST(Transforms, NormalizeMatchesTorchvisionF32) {
    Image img;
    img.height = 2;
    img.width = 3;
    img.channels = 3;
    for (int i = 0; i < 18; ++i) img.pixels.push_back(uint8_t(i * 14));
    const Tensor t = data::normalize(img, data::kImageNetMean, data::kImageNetStd);
    ASSERT_EQ(t.shape(), (Shape{3, 2, 3}));
    for (int c = 0; c < 3; ++c)
        for (int i = 0; i < 6; ++i) {
            const float x = float(img.pixels[i * 3 + c]) / 255.0f;
            EXPECT_EQ(t.data<float>()[c * 6 + i], (x - data::kImageNetMean[c]) / data::kImageNetStd[c]);
        }
}

// ---------------------------------------------------------------------------------------------------------------
// The per-sample stream.

TEST(SampleRng, DeterministicAndDistinctPerSample) {
    data::SampleRng a(5, 1, 42), b(5, 1, 42);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(a.next_u32(), b.next_u32());
    std::set<uint32_t> firsts;
    for (uint64_t e = 0; e < 3; ++e)
        for (uint64_t i = 0; i < 100; ++i) firsts.insert(data::SampleRng(5, e, i).next_u32());
    EXPECT_EQ(firsts.size(), 300u);
    EXPECT_NE(data::SampleRng(5, 0, 0).next_u32(), data::SampleRng(6, 0, 0).next_u32());
    // uniform in [0, 1) with a sane mean; below() in range; permutation is a permutation.
    data::SampleRng r(9, 0, 0);
    double sum = 0;
    for (int i = 0; i < 20000; ++i) {
        const double u = r.uniform();
        ASSERT_GE(u, 0.0);
        ASSERT_LT(u, 1.0);
        sum += u;
    }
    EXPECT_NEAR(sum / 20000, 0.5, 0.01);
    for (int i = 0; i < 1000; ++i) {
        const int64_t v = r.below(7);
        ASSERT_GE(v, 0);
        ASSERT_LT(v, 7);
    }
    auto p = r.permutation(10);
    std::sort(p.begin(), p.end());
    for (int i = 0; i < 10; ++i) EXPECT_EQ(p[i], i);
}

TEST(Transforms, HueTablesEqualPillowFormulaOnAllColours) { EXPECT_TRUE(data::hsv_tables_match_direct_conversion()); }

TEST(Transforms, BadInputsNameTheOp) {
    Image grey;
    grey.height = grey.width = 4;
    grey.channels = 2;
    grey.pixels.assign(32, 0);
    test::expect_error([&] { data::adjust_contrast(grey, 1.2); }, "adjust_contrast", {"2 channels"});
    test::expect_error([&] { data::adjust_hue(grey, 0.7); }, "adjust_hue", {"0.7"});
    test::expect_error([&] { data::resize(grey, 0, 3, data::PilFilter::bilinear); }, "resize", {"0x3"});
    test::expect_error([&] { data::normalize(grey, data::kClipMean, data::kClipStd); }, "normalize",
                       {"2 channels"});
}

}  // namespace
}  // namespace wsdol
