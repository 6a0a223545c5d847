// test_home_background.cpp — the home-background fraction of seeds (engine/eval/home_background.h): the meter on
// hand-counted pixels, the synth helpers it relies on (a class's home background, a caption's background) against
// rendered scenes, and `wsdol eval --home-background` on a synth folder against counts made here from the masks.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "engine/data/image_io.h"
#include "engine/data/png_write.h"
#include "engine/data/synth.h"
#include "engine/eval/home_background.h"
#include "engine/io/json.h"
#include "tests/cli_test_util.h"
#include "tests/error_matchers.h"
#include "tests/io_test_util.h"

namespace wsdol {
namespace {

TEST(HomeBackground, MeterCountsBackgroundPixelsMarkedAsTheClass) {
    eval::HomeBackgroundMeter m(3);
    // classes 1 (home: water = 0) and 2 (home: rails = 1) on water: class 1 is at home, class 2 away
    const uint8_t gt[8] = {0, 0, 0, 0, 1, 2, 255, 0};
    const uint8_t pred[8] = {1, 1, 0, 2, 1, 2, 1, 1};
    m.add(gt, pred, 8, {1, 2}, 0);
    const auto& c = m.classes();
    EXPECT_EQ(c[0].home_images, 1);
    EXPECT_EQ(c[0].home_pixels, 5);  // GT 0 at 0, 1, 2, 3, 7 (the 255 and object pixels do not count)
    EXPECT_EQ(c[0].home_marked, 3);  // pred 1 at 0, 1, 7
    EXPECT_EQ(c[0].away_images, 0);
    EXPECT_TRUE(std::isnan(c[0].away_fraction()));
    EXPECT_EQ(c[1].away_images, 1);
    EXPECT_EQ(c[1].away_pixels, 5);
    EXPECT_EQ(c[1].away_marked, 1);  // pred 2 at 3
    EXPECT_DOUBLE_EQ(c[1].away_fraction(), 0.2);
    EXPECT_TRUE(std::isnan(c[2].home_fraction()));
    // class 2 on rails: at home
    m.add(gt, pred, 8, {2}, 1);
    EXPECT_EQ(c[1].home_images, 1);
    EXPECT_DOUBLE_EQ(c[1].home_fraction(), 0.2);
    test::expect_error([&] { m.add(gt, pred, 8, {4}, 0); }, {"home background", "class 4"});
    test::expect_error([&] { m.add(gt, pred, 8, {1}, 6); }, {"home background", "background index 6"});
    test::expect_error([] { eval::HomeBackgroundMeter(11); }, {"home background", "11"});
}

TEST(HomeBackground, SynthHomeAndCaptionBackgroundsMatchRenderedScenes) {
    const auto names = data::synth_background_names();
    data::SynthConfig cfg;
    cfg.classes = 10;
    cfg.size = 32;
    cfg.max_objects = 1;
    cfg.home_probability = 1.0;  // every scene on its (only) object's home background
    for (int64_t i = 0; i < 40; ++i) {
        const data::SynthImage im = data::synth_image(cfg, i);
        ASSERT_EQ(im.labels.size(), 1u);
        EXPECT_EQ(names[size_t(data::synth_home_background(im.labels[0]))], im.background) << im.caption;
        EXPECT_EQ(names[size_t(data::synth_caption_background(im.caption))], im.background) << im.caption;
    }
    cfg.home_probability = 0.0;
    cfg.max_objects = 3;
    for (int64_t i = 0; i < 40; ++i) {
        const data::SynthImage im = data::synth_image(cfg, i);
        EXPECT_EQ(names[size_t(data::synth_caption_background(im.caption))], im.background) << im.caption;
    }
    EXPECT_EQ(data::synth_caption_background("a red star"), -1);
    EXPECT_EQ(data::synth_caption_background("a red star floating in the sky"), 4);
    test::expect_error([] { data::synth_home_background(0); }, {"class id 0"});
}

// The CLI over a synth folder: predictions = the GT with every background pixel given the image's lowest class.
// Expected counts come from the masks and captions directly.
TEST(HomeBackground, EvalCliCountsAgainstTheMasks) {
    test::ScratchDir dir;
    const std::string data_dir = dir.file("data"), pred_dir = dir.file("pred");
    auto r = test::run_wsdol("synth --quiet --out '" + data_dir + "' --images 24 --size 32 --classes 7 --seed 5");
    ASSERT_EQ(r.code, 0) << r.output;
    std::filesystem::create_directories(pred_dir);
    const auto names = data::synth_background_names();
    std::map<std::string, int> background;
    {
        std::ifstream in(data_dir + "/captions.txt");
        std::string line;
        while (std::getline(in, line)) {
            const std::string id = line.substr(0, line.find('\t'));
            for (size_t b = 0; b < names.size(); ++b)  // captions end with the background's name
                if (line.size() > names[b].size() &&
                    line.compare(line.size() - names[b].size(), names[b].size(), names[b]) == 0)
                    background[id] = int(b);
        }
    }
    const std::string list = data_dir + "/ImageSets/Segmentation/train.txt";
    std::ifstream ids_in(list);
    std::string id;
    std::vector<int64_t> home_pixels(7, 0), home_marked(7, 0), away_pixels(7, 0), away_marked(7, 0);
    int n = 0;
    while (std::getline(ids_in, id)) {
        ++n;
        data::Image gt = data::read_label_png(data_dir + "/SegmentationClass/" + id + ".png");
        std::vector<int> present(8, 0);
        for (uint8_t v : gt.pixels)
            if (v >= 1 && v <= 7) present[v] = 1;
        int lowest = 0;
        for (int k = 7; k >= 1; --k)
            if (present[k]) lowest = k;
        ASSERT_GT(lowest, 0) << id;
        int64_t bg = 0;
        data::Image pred = gt;
        for (uint8_t& v : pred.pixels) {
            if (v == 0) ++bg, v = uint8_t(lowest);
            if (v == 255) v = 0;
        }
        ASSERT_TRUE(background.count(id)) << id;
        for (int k = 1; k <= 7; ++k) {
            if (!present[k]) continue;
            const bool at_home = (k - 1) % 6 == background[id];
            (at_home ? home_pixels : away_pixels)[k - 1] += bg;
            if (k == lowest) (at_home ? home_marked : away_marked)[k - 1] += bg;
        }
        data::write_palette_png(pred_dir + "/" + id + ".png", pred);
    }
    ASSERT_GT(n, 10);
    r = test::run_wsdol("eval --task seg --json --home-background --data '" + data_dir + "' --pred '" + pred_dir +
                        "' --list '" + list + "'");
    ASSERT_EQ(r.code, 0) << r.output;
    const json::Value v = json::parse(r.output);
    const json::Value& hb = v.at("home_background");
    ASSERT_EQ(hb.items().size(), 7u);
    int checked_home = 0;
    for (int k = 1; k <= 7; ++k) {
        const json::Value& c = hb.items()[size_t(k - 1)];
        EXPECT_EQ(c.at("class").as_int64(), k);
        EXPECT_EQ(c.at("home_background").as_string(), names[size_t((k - 1) % 6)]);
        EXPECT_EQ(c.at("home_pixels").as_int64(), home_pixels[k - 1]) << k;
        EXPECT_EQ(c.at("home_marked").as_int64(), home_marked[k - 1]) << k;
        EXPECT_EQ(c.at("away_pixels").as_int64(), away_pixels[k - 1]) << k;
        EXPECT_EQ(c.at("away_marked").as_int64(), away_marked[k - 1]) << k;
        checked_home += home_pixels[k - 1] > 0;
    }
    EXPECT_GE(checked_home, 3);
    // a folder without captions is an error naming the file
    std::filesystem::remove(data_dir + "/captions.txt");
    r = test::run_wsdol("eval --task seg --home-background --data '" + data_dir + "' --pred '" + pred_dir +
                        "' --list '" + list + "'");
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.output.find("captions.txt"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace wsdol
