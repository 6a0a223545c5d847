// test_preprocess.cpp — engine/data/preprocess.h against the reference pipelines themselves (open_clip / OpenAI
// CLIP, torchvision ResNet weights' transforms, the DeiT repo's eval transform, timm's create_transform), run by
// tests/reference/cli/gen_preprocess.py on real photo crops and synthetic images (PNG, so both sides decode the
// same pixels).
//
// Tolerance: none on the pixels. The resize reproduces Pillow's fixed-point arithmetic exactly and ToTensor /
// Normalize are the same two f32 operations ((v / 255 - mean) / std, each rounded to f32), so the sampled tensor
// entries must be bit-equal. The row/column sums cover every pixel; they are summed in f64 in different orders
// (numpy pairwise, here sequential), so they agree to ~1e-12 — one grey level anywhere would move a sum by
// 1 / 255 / std >= 0.017, hence the bound 1e-9.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "engine/data/preprocess.h"
#include "engine/data/transforms.h"
#include "engine/io/safetensors.h"
#include "tests/error_matchers.h"

namespace wsdol {
namespace {

const std::string kDir = std::string(WSDOL_SOURCE_DIR) + "/tests/reference/cli/";
const std::vector<std::string> kImages{"real_cub", "real_voc", "synth_exact", "synth_grey", "synth_tall", "synth_wide"};
constexpr int64_t kStride = 7, kOffset = 3;

Tensor named(const NamedTensors& ts, const std::string& name) {
    for (const auto& [n, t] : ts)
        if (n == name) return t;
    ADD_FAILURE() << "fixture has no '" << name << "'";
    return Tensor();
}

void check_against_reference(const std::string& preset) {
    const NamedTensors ref = io::load_safetensors(kDir + "preprocess_" + preset + ".safetensors");
    const data::PreprocessSpec spec = data::preprocess_spec(preset, 224);
    for (const std::string& img : kImages) {
        SCOPED_TRACE(preset + " / " + img);
        const Tensor ours = data::preprocess_file(kDir + "images/" + img + ".png", spec);
        ASSERT_EQ(ours.shape(), (Shape{3, 224, 224}));
        const float* o = ours.data<float>();

        const Tensor sample = named(ref, img + ".sample").contiguous();
        ASSERT_EQ(sample.shape(), (Shape{3, 32, 32}));
        const float* s = sample.data<float>();
        int64_t mismatches = 0;
        for (int64_t c = 0; c < 3; ++c)
            for (int64_t i = 0; i < 32; ++i)
                for (int64_t j = 0; j < 32; ++j) {
                    const float a = o[(c * 224 + kOffset + kStride * i) * 224 + kOffset + kStride * j];
                    const float b = s[(c * 32 + i) * 32 + j];
                    if (std::memcmp(&a, &b, sizeof a) != 0 && mismatches++ < 5)
                        ADD_FAILURE() << "c " << c << " row " << kOffset + kStride * i << " col "
                                      << kOffset + kStride * j << ": ours " << a << ", reference " << b;
                }
        EXPECT_EQ(mismatches, 0);

        const Tensor rows = named(ref, img + ".row_sums").contiguous(), cols = named(ref, img + ".col_sums").contiguous();
        ASSERT_EQ(rows.shape(), (Shape{3, 224}));
        ASSERT_EQ(cols.shape(), (Shape{3, 224}));
        double worst_row = 0, worst_col = 0;
        for (int64_t c = 0; c < 3; ++c)
            for (int64_t k = 0; k < 224; ++k) {
                double row = 0, col = 0;
                for (int64_t m = 0; m < 224; ++m) {
                    row += o[(c * 224 + k) * 224 + m];
                    col += o[(c * 224 + m) * 224 + k];
                }
                worst_row = std::max(worst_row, std::fabs(row - rows.data<double>()[c * 224 + k]));
                worst_col = std::max(worst_col, std::fabs(col - cols.data<double>()[c * 224 + k]));
            }
        EXPECT_LE(worst_row, 1e-9);
        EXPECT_LE(worst_col, 1e-9);
    }
}

TEST(Preprocess, ClipMatchesOpenClipAndOpenAI) { check_against_reference("clip"); }
TEST(Preprocess, ResNetV1MatchesTorchvision) { check_against_reference("resnet"); }
TEST(Preprocess, ResNetV2MatchesTorchvision) { check_against_reference("resnet-v2"); }
TEST(Preprocess, DeiTMatchesDeiTRepoEval) { check_against_reference("deit"); }
TEST(Preprocess, TimmDeiTMatchesTimmCreateTransform) { check_against_reference("timm-deit"); }
TEST(Preprocess, ViTMatchesTimmCreateTransform) { check_against_reference("vit"); }

TEST(Preprocess, PresetSizesFollowTheReferenceRules) {
    struct Case {
        const char* name;
        int64_t size, resize;
        data::PilFilter filter;
    };
    // 224 / 0.875 = 256; floor(224 / 0.9) = 248; 224 * 232 / 224 = 232; CLIP resizes straight to the input size.
    for (const Case& c : {Case{"clip", 224, 224, data::PilFilter::bicubic}, Case{"clip", 288, 288, data::PilFilter::bicubic},
                          Case{"resnet", 224, 256, data::PilFilter::bilinear},
                          Case{"resnet-v2", 224, 232, data::PilFilter::bilinear},
                          Case{"deit", 224, 256, data::PilFilter::bicubic}, Case{"deit", 384, 438, data::PilFilter::bicubic},
                          Case{"timm-deit", 224, 248, data::PilFilter::bicubic},
                          Case{"vit", 224, 248, data::PilFilter::bicubic}, Case{"vit", 384, 426, data::PilFilter::bicubic},
                          Case{"vit", 32, 35, data::PilFilter::bicubic}}) {
        const data::PreprocessSpec s = data::preprocess_spec(c.name, c.size);
        EXPECT_EQ(s.resize, c.resize) << c.name << " " << c.size;
        EXPECT_EQ(s.crop, c.size) << c.name;
        EXPECT_EQ(s.filter, c.filter) << c.name;
    }
    EXPECT_EQ(data::preprocess_spec("vit").mean, (std::array<float, 3>{0.5f, 0.5f, 0.5f}));
    EXPECT_EQ(data::preprocess_spec("clip").std, data::kClipStd);
    EXPECT_EQ(data::preprocess_spec("timm-deit").mean, data::kImageNetMean);
    EXPECT_EQ(data::preprocess_presets().size(), 6u);
    EXPECT_NE(data::preprocess_spec("deit").str().find("resize 256 (bicubic), center crop 224"), std::string::npos);
}

TEST(Preprocess, BatchEqualsSingleImages) {
    const data::PreprocessSpec spec = data::preprocess_spec("vit", 48);
    const std::vector<std::string> paths{kDir + "images/synth_tall.png", kDir + "images/synth_grey.png"};
    const Tensor batch = data::preprocess_files(paths, spec);
    ASSERT_EQ(batch.shape(), (Shape{2, 3, 48, 48}));
    for (size_t i = 0; i < paths.size(); ++i) {
        const Tensor one = data::preprocess_file(paths[i], spec);
        EXPECT_EQ(std::memcmp(one.data<float>(), batch.data<float>() + i * 3 * 48 * 48, 3 * 48 * 48 * sizeof(float)), 0);
    }
}

TEST(Preprocess, GreyAndRgbaConvertToRgbFirst) {
    data::Image grey;
    grey.height = 5;
    grey.width = 7;
    grey.channels = 1;
    for (int i = 0; i < 35; ++i) grey.pixels.push_back(static_cast<uint8_t>(i * 7));
    const data::PreprocessSpec spec = data::preprocess_spec("clip", 4);
    const Tensor from_grey = data::preprocess_image(grey, spec);
    const Tensor from_rgb = data::preprocess_image(data::convert_color(grey, data::ColorMode::rgb), spec);
    const Tensor from_rgba = data::preprocess_image(data::convert_color(grey, data::ColorMode::rgba), spec);
    EXPECT_EQ(std::memcmp(from_grey.data<float>(), from_rgb.data<float>(), 3 * 16 * sizeof(float)), 0);
    EXPECT_EQ(std::memcmp(from_rgba.data<float>(), from_rgb.data<float>(), 3 * 16 * sizeof(float)), 0);
}

TEST(Preprocess, Errors) {
    test::expect_error([] { data::preprocess_spec("imagenet"); }, "preprocess: unknown preset 'imagenet'",
                       {"clip, resnet, resnet-v2, deit, timm-deit, vit"});
    test::expect_error([] { data::preprocess_spec("clip", 0); }, "preprocess: image size", {"got 0"});
    test::expect_error([] { data::preprocess_file(kDir + "images/no_such.png", data::preprocess_spec("clip")); },
                       {"no_such.png"});
    test::expect_error([] { data::preprocess_image(data::Image{}, data::preprocess_spec("clip")); },
                       "preprocess: empty image", {});
}

}  // namespace
}  // namespace wsdol
