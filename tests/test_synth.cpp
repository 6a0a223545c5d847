// test_synth.cpp — the synthetic benchmark's scenes: determinism, masks that agree with labels and captions,
// the background co-occurrence trap, and bad configurations.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "engine/data/synth.h"
#include "tests/error_matchers.h"

namespace wsdol {
namespace {

TEST(Synth, SameSeedSameBytesOtherSeedOtherImages) {
    data::SynthConfig config;
    config.seed = 7;
    for (int64_t i : {0, 1, 17}) {
        const data::SynthImage a = data::synth_image(config, i), b = data::synth_image(config, i);
        EXPECT_EQ(a.rgb, b.rgb);
        EXPECT_EQ(a.mask, b.mask);
        EXPECT_EQ(a.caption, b.caption);
    }
    data::SynthConfig other = config;
    other.seed = 8;
    EXPECT_NE(data::synth_image(config, 3).rgb, data::synth_image(other, 3).rgb);
    EXPECT_NE(data::synth_image(config, 3).rgb, data::synth_image(config, 4).rgb);
}

TEST(Synth, MasksLabelsAndCaptionsAgree) {
    for (auto difficulty : {data::SynthDifficulty::easy, data::SynthDifficulty::medium, data::SynthDifficulty::hard}) {
        data::SynthConfig config;
        config.classes = 10;
        config.size = 96;
        config.difficulty = difficulty;
        const auto names = data::synth_class_names(config.classes);
        for (int64_t i = 0; i < 60; ++i) {
            const data::SynthImage image = data::synth_image(config, i);
            ASSERT_EQ(image.rgb.size(), size_t(96 * 96 * 3));
            ASSERT_FALSE(image.labels.empty()) << image.id;
            std::map<int, int64_t> pixels;
            for (uint8_t v : image.mask) ++pixels[v];
            std::set<int> in_mask;
            for (auto [v, n] : pixels) {
                ASSERT_TRUE(v == 0 || v == 255 || (v >= 1 && v <= config.classes)) << image.id << " value " << v;
                if (v != 0 && v != 255) in_mask.insert(v);
            }
            EXPECT_EQ(in_mask, std::set<int>(image.labels.begin(), image.labels.end())) << image.id;
            for (int label : image.labels) {
                EXPECT_GE(pixels[label], data::kMinVisiblePixels) << image.id;
                EXPECT_NE(image.caption.find(names[label - 1]), std::string::npos) << image.caption;
            }
            EXPECT_NE(image.caption.find(image.background == "sky" ? "in the sky" : image.background),
                      std::string::npos)
                << image.caption;
        }
    }
}

// The trap: the first object's home background appears far more often than the uniform 1/6.
TEST(Synth, ClassesCoOccurWithTheirHomeBackgrounds) {
    data::SynthConfig config;
    config.classes = 6;
    config.difficulty = data::SynthDifficulty::hard;
    config.size = 32;
    const auto backgrounds = data::synth_background_names();
    int home = 0, total = 0;
    for (int64_t i = 0; i < 400; ++i) {
        const data::SynthImage image = data::synth_image(config, i);
        if (image.labels.size() != 1) continue;  // one class: its home background is known
        ++total;
        home += image.background == backgrounds[(image.labels[0] - 1) % backgrounds.size()];
    }
    ASSERT_GT(total, 50);
    EXPECT_GT(double(home) / total, 0.75) << home << " of " << total;
}

// The overrides behind the demo's pretraining set: one object per scene, backgrounds independent of the class.
TEST(Synth, OverridesGiveObjectCentricScenesOnIndependentBackgrounds) {
    data::SynthConfig config;
    config.classes = 6;
    config.difficulty = data::SynthDifficulty::hard;  // its own home probability is 0.9
    config.size = 32;
    config.max_objects = 1;
    config.home_probability = 0;
    const auto backgrounds = data::synth_background_names();
    int home = 0;
    const int n = 600;
    for (int64_t i = 0; i < n; ++i) {
        const data::SynthImage image = data::synth_image(config, i);
        ASSERT_EQ(image.labels.size(), 1u) << image.id << ": " << image.caption;
        home += image.background == backgrounds[(image.labels[0] - 1) % backgrounds.size()];
    }
    // Uniform over the 6 backgrounds: 100 of 600 expected; 4 standard deviations (9.1 each) either side.
    EXPECT_GT(home, 100 - 37) << home << " of " << n;
    EXPECT_LT(home, 100 + 37) << home << " of " << n;
}

TEST(Synth, BadConfigurationsAreNamed) {
    data::SynthConfig config;
    config.classes = 11;
    test::expect_error([&] { data::synth_image(config, 0); }, "synth:", {"--classes", "11"});
    config.classes = 3;
    config.size = 4;
    test::expect_error([&] { data::synth_image(config, 0); }, "synth:", {"--size", "4"});
    test::expect_error([] { data::parse_synth_difficulty("brutal"); }, "synth:", {"brutal"});
    config.size = 32;
    config.home_probability = 1.5;
    test::expect_error([&] { data::synth_image(config, 0); }, "synth:", {"--home-probability", "1.5"});
    config.home_probability = -1;
    config.max_objects = 4;
    test::expect_error([&] { data::synth_image(config, 0); }, "synth:", {"--max-objects", "4"});
}

}  // namespace
}  // namespace wsdol
